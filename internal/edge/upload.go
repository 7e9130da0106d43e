package edge

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// DefaultMaxUpload is the file size cap of upload routes when none is
// configured (RAMPART_ATTACHMENT_MAX_BYTES).
const DefaultMaxUpload = 10 << 20

// uploadEnvelope is what the multipart framing around the file may add
// (boundaries, part headers): the body may be that much larger than the
// file, no more.
const uploadEnvelope = 16 << 10

// UploadField is the name of the one part of an upload body.
const UploadField = "file"

// File is the file of an upload request, read whole within the cap. Name
// is the client's name for it, untrusted (the use case sanitises it);
// the client's Content-Type for the part is not kept at all: the type is
// sniffed from Content.
type File struct {
	Name    string
	Content []byte
}

// UploadHandler serves an upload route: the claims, and the file.
type UploadHandler func(w http.ResponseWriter, r *http.Request, c rampart.Claims, f File) error

// Upload mounts an authenticated route whose body is multipart/form-data
// with exactly one part, named "file", under the upload rate-limit tier
// (per organization and user). The body is read only after the caller is
// authenticated and within budget, and never beyond the cap: a larger
// Content-Length is refused before reading, a body that grows past it is
// cut off (http.MaxBytesReader), both 413 problem+json. Nothing spills to
// disk: the file is read into memory, at most the cap.
func (rt *Router) Upload(pattern string, h UploadHandler) {
	rt.authedRoute(pattern, KindUpload, nil, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
		f, err := rt.readUpload(w, r)
		if err != nil {
			return err
		}
		return h(w, r, c, f)
	})
	rt.spec.uploadBody(pattern, rt.maxUpload)
}

// MaxUpload is the file size cap of upload routes, in bytes.
func (rt *Router) MaxUpload() int64 { return rt.maxUpload }

func (rt *Router) readUpload(w http.ResponseWriter, r *http.Request) (File, error) {
	const op = "edge.upload"
	tooLarge := rampart.Errorf(op, rampart.KindTooLarge, "file: larger than the limit of %d bytes", rt.maxUpload)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return File{}, rampart.Errorf(op, rampart.KindUnsupportedMedia, "the body must be multipart/form-data with one part named %q", UploadField)
	}
	limit := rt.maxUpload + uploadEnvelope
	if r.ContentLength > limit {
		return File{}, tooLarge
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, limit), params["boundary"])
	var f *File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return File{}, uploadReadError(op, err, tooLarge)
		}
		if name := part.FormName(); name != UploadField {
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			return File{}, rampart.FieldError(op, strconv.Quote(name), "unexpected part: the body has one part, named %q", UploadField)
		}
		if f != nil {
			return File{}, rampart.FieldError(op, UploadField, "one file per request")
		}
		data, err := io.ReadAll(io.LimitReader(part, rt.maxUpload+1))
		if err != nil {
			return File{}, uploadReadError(op, err, tooLarge)
		}
		if int64(len(data)) > rt.maxUpload {
			return File{}, tooLarge
		}
		f = &File{Name: part.FileName(), Content: data}
	}
	if f == nil {
		return File{}, rampart.FieldError(op, UploadField, "is required: send the file as the multipart part named %q", UploadField)
	}
	return *f, nil
}

func uploadReadError(op string, err, tooLarge error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	return rampart.FieldError(op, UploadField, "the multipart body is malformed")
}

// uploadBody documents an upload route's body in /openapi.json.
func (sp *spec) uploadBody(pattern string, maxBytes int64) {
	method, path, _ := strings.Cut(pattern, " ")
	sp.mu.Lock()
	defer sp.mu.Unlock()
	item := sp.doc.Paths[path]
	if item == nil || method != http.MethodPost || item.Post == nil {
		panic("edge: an upload route must be a POST: " + pattern) // programming error at start-up
	}
	item.Post.RequestBody = &huma.RequestBody{Required: true,
		Description: "One part named `file` (multipart/form-data), at most " + strconv.FormatInt(maxBytes, 10) + " bytes. " +
			"Its type is sniffed from its bytes; the part's Content-Type and the file name's extension are not trusted.",
		Content: map[string]*huma.MediaType{"multipart/form-data": {
			Schema: &huma.Schema{Type: "object", Required: []string{UploadField}, AdditionalProperties: false,
				Properties: map[string]*huma.Schema{UploadField: {Type: "string", Format: "binary",
					Description: "the file; its filename parameter is the suggested name (sanitised)"}}},
			Encoding: map[string]*huma.Encoding{UploadField: {ContentType: "application/pdf, image/png, image/jpeg, text/csv, text/plain"}},
		}}}
	sp.json = nil
}
