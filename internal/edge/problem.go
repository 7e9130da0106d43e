package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code and Feature are set for a feature that a platform operator
	// turned off (status 403): Code is "feature_disabled" and Feature the
	// flag, e.g. "ai".
	Code    string `json:"code,omitempty"`
	Feature string `json:"feature,omitempty"`
}

// problemBase prefixes every stable problem type.
const problemBase = "https://rampart.dev/problems/"

// kindStatus is the one table from error kind to HTTP status and problem type.
var kindStatus = map[rampart.Kind]struct {
	status int
	slug   string
	title  string
}{
	rampart.KindInvalid:          {http.StatusBadRequest, "invalid", "Invalid request"},
	rampart.KindNotFound:         {http.StatusNotFound, "not-found", "Not found"},
	rampart.KindForbidden:        {http.StatusForbidden, "forbidden", "Forbidden"},
	rampart.KindUnauthenticated:  {http.StatusUnauthorized, "unauthenticated", "Not signed in"},
	rampart.KindConflict:         {http.StatusConflict, "conflict", "Conflict"},
	rampart.KindUnavailable:      {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	rampart.KindInternal:         {http.StatusInternalServerError, "internal", "Internal error"},
	rampart.KindTooLarge:         {http.StatusRequestEntityTooLarge, "too-large", "Request body too large"},
	rampart.KindUnsupportedMedia: {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type"},
	rampart.KindLocked:           {http.StatusLocked, "locked", "Switched off"},
	rampart.KindQuotaExceeded:    {http.StatusTooManyRequests, "quota-exceeded", "Quota exceeded"},
	rampart.KindPaymentRequired:  {http.StatusPaymentRequired, "payment-required", "Payment required"},
	rampart.KindRefused:          {http.StatusUnprocessableEntity, "refused", "Refused"},
	rampart.KindFeatureDisabled:  {http.StatusForbidden, "feature-disabled", "Feature disabled"},
}

// writeError answers err as problem+json; internal detail goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	kind := rampart.ErrorKind(err)
	ks := kindStatus[kind]
	if kind == rampart.KindInternal || kind == rampart.KindUnavailable {
		log.ErrorContext(r.Context(), "request failed", "err", err, "path", r.URL.Path)
		if kind == rampart.KindInternal {
			observe.CaptureError(r.Context(), r.Pattern, err)
		}
	} else {
		log.DebugContext(r.Context(), "request refused", "kind", kind.String(), "err", err, "path", r.URL.Path)
	}
	p := Problem{Type: problemBase + ks.slug, Title: ks.title, Status: ks.status,
		Detail: rampart.ErrorMessage(err), Instance: r.URL.Path}
	var off *rampart.FeatureOff
	if kind == rampart.KindFeatureDisabled && errors.As(err, &off) {
		p.Code, p.Feature = kind.String(), string(off.Feature)
	}
	writeProblem(w, p)
}

// writeProblem answers p as problem+json (never cached).
func writeProblem(w http.ResponseWriter, p Problem) {
	writeEncoded(w, "application/problem+json", p.Status, p)
}

// WriteJSON answers v as JSON (never cached). Authenticated handlers use
// Respond, which applies the output filter first.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeEncoded(w, "application/json", status, v)
}

// encodeBuffers are reused by writeEncoded; one grown past
// maxPooledBuffer (a very large answer) is left to the collector.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 1 << 20

// writeEncoded encodes v whole before answering, then writes it with its
// Content-Length in one write: no chunked encoding, one system call for
// the body instead of one per 2 kB chunk plus the terminating chunk (the
// largest single cost of GET /api/proposals in the CPU profile of
// BenchmarkProposalListVsPgbench), and a value that fails to encode is a
// 500 problem, not a 200 with half a body. It writes without escaping
// <, > and & as \u003c…: the answers are application/json with nosniff,
// never parsed as HTML, and the escaping made sanitised bodies about 1.8
// times larger on the wire.
func writeEncoded(w http.ResponseWriter, contentType string, status int, v any) {
	buf := encodeBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			encodeBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		contentType, status = "application/problem+json", http.StatusInternalServerError
		_ = json.NewEncoder(buf).Encode(Problem{Type: problemBase + "internal", Title: "Internal error", Status: status,
			Detail: "An internal error occurred."})
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// KindStatus is the HTTP status of an error kind (the one table above),
// for answers written outside the Router (the operator console).
func KindStatus(k rampart.Kind) int {
	if ks, ok := kindStatus[k]; ok {
		return ks.status
	}
	return http.StatusInternalServerError
}
