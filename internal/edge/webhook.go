package edge

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// WebhookHandler serves a signed delivery from another service: it gets
// the raw body (its signature covers the exact bytes), read within the
// route's cap.
type WebhookHandler func(w http.ResponseWriter, r *http.Request, body []byte) error

// Webhook mounts a public POST route for signed server-to-server
// deliveries (a payment provider's events). No session is read and the
// cross-origin check does not apply (there is no cookie to ride on; the
// handler must verify the body's signature before acting on it). The body
// is read raw, at most maxBody bytes (413 beyond), and the route draws on
// the webhook tier per client address. bodyDoc describes the body in
// /openapi.json.
func (rt *Router) Webhook(pattern string, maxBody int64, bodyDoc string, h WebhookHandler) {
	method, path, _ := strings.Cut(pattern, " ")
	if method != http.MethodPost {
		panic("edge: a webhook route must be a POST: " + pattern) // programming error at start-up
	}
	rt.cop.AddInsecureBypassPattern(pattern)
	rt.publicRoute(pattern, WebhookDeliveries, nil, func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return rampart.Errorf("edge.webhook", rampart.KindTooLarge, "the body is larger than %d bytes", maxBody)
			}
			return rampart.Errorf("edge.webhook", rampart.KindInvalid, "could not read the body")
		}
		return h(w, r, body)
	})
	rt.spec.mu.Lock()
	defer rt.spec.mu.Unlock()
	if item := rt.spec.doc.Paths[path]; item != nil && item.Post != nil {
		item.Post.RequestBody = &huma.RequestBody{Required: true,
			Description: bodyDoc + " At most " + strconv.FormatInt(maxBody, 10) + " bytes.",
			Content:     map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Type: "object"}}}}
	}
	rt.spec.json = nil
}
