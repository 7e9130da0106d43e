package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/attachment"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// attachmentAPI is the files attached to proposals (riders, floor plans,
// quotes): upload on the upload tier, list, download, delete
// (docs/attachments.md).
type attachmentAPI struct{ *Server }

func (s attachmentAPI) register(r *edge.Router) {
	r.Upload("POST /api/proposals/{id}/attachments", s.upload)
	r.Authed("GET /api/proposals/{id}/attachments", s.list)
	r.Authed("GET /api/attachments/{id}", s.download)
	r.Authed("DELETE /api/attachments/{id}", s.delete)
	documentAttachments(r)
}

func (s attachmentAPI) upload(w http.ResponseWriter, r *http.Request, c rampart.Claims, f edge.File) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	a, err := attachment.Upload(r.Context(), s.store, c, id, attachment.Input{Name: f.Name, Content: f.Content})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/attachments/"+a.ID.String())
	return edge.Respond(w, c, http.StatusCreated, a)
}

func (s attachmentAPI) list(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := attachment.List(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"attachments": out})
}

// downloadCSP is the download's Content-Security-Policy: nothing loads,
// and were the file rendered anyway it runs sandboxed (no script, no
// same-origin access, no forms).
const downloadCSP = "default-src 'none'; sandbox"

// download answers the stored bytes as a download: the sniffed type
// (never a client's), Content-Disposition: attachment with the sanitised
// name, nosniff, the sandboxing CSP, the digest.
func (s attachmentAPI) download(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	a, err := attachment.Download(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	h := w.Header()
	ct := a.ContentType
	if strings.HasPrefix(ct, "text/") {
		ct += "; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", contentDisposition(a.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", downloadCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Download-Options", "noopen")
	h.Set("Content-Length", strconv.FormatInt(int64(len(a.Content)), 10))
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(a.SHA256)+":")
	h.Set("ETag", `"`+a.SHA256Hex+`"`)
	h.Set("Last-Modified", a.CreatedAt.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.Content)
	}
	return nil
}

func (s attachmentAPI) delete(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := attachment.Delete(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// contentDisposition is "attachment" with the name twice: an ASCII
// fallback (filename=, every other character an underscore) for old
// clients and the exact name (filename*=UTF-8”…, RFC 8187) for the rest.
func contentDisposition(name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0 {
			enc.WriteByte(b)
		} else {
			enc.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(b)|0x100, 16)[1:]))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
}

// documentAttachments gives the attachment routes their summaries and
// example answers in /openapi.json.
func documentAttachments(r *edge.Router) {
	venue := "HALL-A"
	example := rampart.Attachment{OrganizationID: uuid.MustParse("6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b"),
		ID: uuid.MustParse("8e2f6a1c-5b3d-4c7e-9f0a-2b4c6d8e0f1a"), ProposalID: uuid.MustParse("0b7e4a52-9c1d-4f3e-b2a6-5d8c7e9f1a2b"),
		VenueCode: &venue, Filename: "stage-rider.pdf", ContentType: "application/pdf", SizeBytes: 48213,
		SHA256Hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", UploadedBy: uuid.MustParse("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"),
		CreatedAt: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)}
	r.Document("POST /api/proposals/{id}/attachments", edge.Doc{
		Summary: "Attach a file to a proposal",
		Description: "multipart/form-data with one part named `file`; Location names the download. Rate-limited on the upload tier " +
			"(20/min per member by default). Allowed, by the bytes (never the client's Content-Type or extension): PDF without active " +
			"content (JavaScript, launch actions, embedded files), PNG and JPEG that are well-formed with nothing appended and no markup " +
			"in their metadata, CSV (a name ending .csv, and it must parse), plain UTF-8 text. The name is sanitised and its extension " +
			"made to match the type. Editors of the proposal only (venue managers: their venues). " +
			"Problems: 400 `file: is required…` (or a part other than `file`); 403 for readers; 404 for another organization's or " +
			"venue's proposal; 413 `file: larger than the limit of N bytes`; 415 `file: the content is an HTML document …, which is not " +
			"an allowed type` (or the rule a PDF, PNG, JPEG or text broke); 429 on the upload tier.",
		Status: http.StatusCreated, Example: example})
	r.Document("GET /api/proposals/{id}/attachments", edge.Doc{
		Summary:     "List a proposal's attachments (metadata only)",
		Description: "Whoever may read the proposal; oldest first. 404 for another organization's or venue's proposal.",
		Example:     map[string][]rampart.Attachment{"attachments": {example}}})
	r.Document("GET /api/attachments/{id}", edge.Doc{
		Summary: "Download an attachment",
		Description: "The stored bytes with the sniffed type (application/pdf, image/png, image/jpeg, text/csv or text/plain; " +
			"charset=utf-8), as a download: Content-Disposition: attachment; filename=\"stage-rider.pdf\"; filename*=UTF-8''stage-rider.pdf, " +
			"X-Content-Type-Options: nosniff, Content-Security-Policy: " + downloadCSP + ", Repr-Digest: sha-256=:…:. " +
			"Whoever may read the proposal; audited (attachment.downloaded). 404 for another organization's or venue's attachment."})
	r.Document("DELETE /api/attachments/{id}", edge.Doc{
		Summary:     "Delete an attachment",
		Description: "Editors of the proposal only (403 for readers, 404 for another organization's or venue's attachment); audited.",
		Status:      http.StatusNoContent})
}
