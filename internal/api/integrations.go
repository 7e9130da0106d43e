package api

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/integration"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// integrationAPI is the organization's connections to accounting
// providers (OAuth 2.0, internal/integration): admins only, and no answer
// ever carries a token.
type integrationAPI struct{ *Server }

func (s integrationAPI) register(r *edge.Router) {
	r.Authed("GET /api/integrations", s.list)
	edge.AuthedJSON(r, "POST /api/integrations/{provider}/connect", s.connect)
	// The provider sends the browser back here: a top-level navigation
	// from another site, which the authenticated routes refuse when it
	// carries the session cookie (Sec-Fetch-Site: cross-site). The route
	// is public and resolves the session itself; the state, bound to that
	// session and single use, is what proves the request was expected
	// (RFC 6749 §10.12).
	r.Public("GET /api/integrations/{provider}/callback", edge.PerVisitor, s.callback)
	r.Authed("POST /api/integrations/{id}/refresh", s.refresh)
	r.Authed("DELETE /api/integrations/{id}", s.disconnect)
}

func (s integrationAPI) list(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	o, err := integration.List(r.Context(), s.store, s.integrations, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, o)
}

// connectRequest starts connecting a provider.
type connectRequest struct {
	Scopes []string `json:"scopes,omitempty" required:"false" maxItems:"50" uniqueItems:"true" doc:"ask for these of the provider's configured scopes only (default: all of them)" example:"[\"accounting.transactions\",\"offline_access\"]"`
}

func (s integrationAPI) connect(w http.ResponseWriter, r *http.Request, c rampart.Claims, req connectRequest) error {
	a, err := integration.Connect(r.Context(), s.store, s.integrations, c, r.PathValue("provider"), req.Scopes)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, a)
}

func (s integrationAPI) callback(w http.ResponseWriter, r *http.Request) error {
	// The URL carries the code and the state: no page it leads to may
	// learn it, and nothing may keep the answer.
	w.Header().Set("Referrer-Policy", "no-referrer")
	edge.NoStore(w)
	c := s.edge.SignedInUser(w, r)
	if c == nil {
		return rampart.Errorf("api.integrationCallback", rampart.KindUnauthenticated, "not signed in")
	}
	q := r.URL.Query()
	i, err := integration.Complete(r.Context(), s.store, s.integrations, *c, r.PathValue("provider"), integration.Callback{
		Code: q.Get("code"), State: q.Get("state"), Error: q.Get("error"), ErrorDescription: q.Get("error_description")})
	if err != nil {
		return err
	}
	return edge.Respond(w, *c, http.StatusOK, i)
}

func (s integrationAPI) refresh(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	i, err := integration.Refresh(r.Context(), s.store, s.integrations, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, i)
}

func (s integrationAPI) disconnect(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	var force bool
	switch r.URL.Query().Get("force") {
	case "", "false":
	case "true":
		force = true
	default:
		return edge.FieldError("force", "must be true or false")
	}
	outcome, err := integration.Disconnect(r.Context(), s.store, s.integrations, c, id, force)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"id": id, "disconnected": true, "revocation": outcome})
}
