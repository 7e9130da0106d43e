package edge

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestUploadRoutes: an upload route is authenticated (401 without a
// credential, the body never read, no budget spent), registered as
// KindUpload, documented with a multipart body; Document refuses a route
// that is not registered.
func TestUploadRoutes(t *testing.T) {
	t.Parallel()
	rt, st := newTestRouter(t)
	ran := false
	rt.Upload("POST /api/test/upload", func(http.ResponseWriter, *http.Request, rampart.Claims, File) error { ran = true; return nil })
	w := serve(rt, "POST", "/api/test/upload", strings.Repeat("x", 1000), "Content-Type", "multipart/form-data; boundary=b")
	problemOf(t, w, 401)
	if ran || w.Header().Get("RateLimit-Limit") != "" || st.count() != 0 {
		t.Errorf("an upload without a credential ran (%v), spent a budget (%q) or was audited (%d)", ran, w.Header().Get("RateLimit-Limit"), st.count())
	}
	var kind Kind
	for _, r := range rt.Routes() {
		if r.Pattern == "POST /api/test/upload" {
			kind = r.Kind
		}
	}
	if kind != KindUpload || !(Route{Kind: kind}).Authenticated() {
		t.Errorf("upload route kind %v", kind)
	}
	if rt.MaxUpload() != DefaultMaxUpload {
		t.Errorf("default cap %d", rt.MaxUpload())
	}
	doc := serve(rt, "GET", "/openapi.json", "").Body.String()
	if !strings.Contains(doc, `"multipart/form-data"`) || !strings.Contains(doc, `"format":"binary"`) {
		t.Errorf("/openapi.json does not document the upload body")
	}
	defer func() {
		if recover() == nil {
			t.Error("Document of an unregistered route did not panic")
		}
	}()
	rt.Document("GET /api/nowhere", Doc{Summary: "x"})
}
