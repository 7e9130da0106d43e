package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/rampart-dev/rampart/internal/edge"
)

// The console's static assets are embedded and served under a name that
// carries their content hash (/static/console.3f2a….css), so a page can
// let browsers keep them for a year: a changed file is a new URL. A name
// that is not the current hash of a file is a 404, never a stale file.

//go:embed static
var staticFS embed.FS

// asset is one embedded file at its hashed URL.
type asset struct {
	url, contentType string
	body             []byte
}

// assetFiles are the files pages link to; their hashed URLs are built at
// start-up.
var assetFiles = []string{"console.css", "console.js", "htmx-2.0.11.min.js", "htmx-LICENSE.txt"}

var (
	assets      = map[string]asset{} // by file name
	assetsByURL = map[string]asset{} // by hashed URL
)

func init() {
	for _, name := range assetFiles {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic("console: missing static asset " + name) // programming error at build time
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		u := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := mime.TypeByExtension(ext)
		if ext == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		a := asset{url: u, contentType: ct, body: b}
		assets[name], assetsByURL[u] = a, a
	}
}

// assetURL is the hashed URL of an embedded file (templates: {{asset "console.js"}}).
func assetURL(name string) string { return assets[name].url }

// static serves an embedded file by its hashed URL, with the chain's
// security headers (nosniff among them), its exact type and a year of
// immutable caching.
func (s *site) static(w http.ResponseWriter, r *http.Request) error {
	a, ok := assetsByURL[r.URL.Path]
	if !ok {
		edge.NotFound(w, r)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
	return nil
}
