package edge

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Kind is how a route is reached: without sign-in, with it, or as an agent.
type Kind int

const (
	// KindPublic routes need no sign-in (Public, PublicJSON).
	KindPublic Kind = iota
	// KindAuthenticated routes get the live claims of a session or token
	// (Authed, AuthedJSON).
	KindAuthenticated
	// KindAgent routes are authenticated routes behind the agent checks,
	// under the agent tier (Agent).
	KindAgent
	// KindUpload routes are authenticated routes whose body is one file,
	// read within the upload size cap, under the upload tier (Upload).
	KindUpload
	// KindChat routes are authenticated routes that ask a model a
	// question, under the chat tier (ChatJSON).
	KindChat
)

// Route is one registered pattern and its kind.
type Route struct {
	Pattern string
	Kind    Kind
}

// Authenticated reports whether the route needs a signed-in principal
// (authenticated and agent routes).
func (r Route) Authenticated() bool { return r.Kind != KindPublic }

// Routes lists every registered route, in the order of registration.
func (rt *Router) Routes() []Route { return append([]Route(nil), rt.routes...) }

// PublicHandler serves a route that needs no sign-in.
type PublicHandler func(w http.ResponseWriter, r *http.Request) error

// AuthedHandler serves a route that needs a signed-in principal; it gets
// the live claims, already resolved from the session or token.
type AuthedHandler func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error

// Budget is the rate-limit budget a public route draws on (see
// ratelimit.go). It is given where the route is registered, by the
// resource that owns it.
type Budget int

const (
	// PerVisitor is tier api, counted per session when the request
	// carries a validly signed session cookie (and was not caused by
	// another site), otherwise per client address: pages, opening a
	// link, signing out, the OpenAPI document.
	PerVisitor Budget = iota
	// SignIn is tier auth per client address: the requests that send
	// mail (sign-in and sign-up links, the console's sign-in form).
	SignIn
	// LinkConfirm is tier auth per client address, apart from SignIn:
	// redeeming a link, so that an office signing in (one request and one
	// confirmation per person) is not refused at the confirmation.
	LinkConfirm
	// Unlimited is for the health probes (readiness answers from a
	// one-second cache).
	Unlimited
	// WebhookDeliveries is tier webhook per client address: signed
	// deliveries from a payment provider (Webhook).
	WebhookDeliveries
)

// tier is the rate-limit tier of a public route's budget ("" = none).
func (b Budget) tier() string {
	switch b {
	case SignIn, LinkConfirm:
		return "auth"
	case Unlimited:
		return ""
	case WebhookDeliveries:
		return "webhook"
	}
	return "api"
}

// Public mounts a route without a body that needs no sign-in.
func (rt *Router) Public(pattern string, b Budget, h PublicHandler) {
	rt.publicRoute(pattern, b, nil, h)
}

func (rt *Router) publicRoute(pattern string, b Budget, body any, h PublicHandler) {
	rt.routes = append(rt.routes, Route{pattern, KindPublic})
	rt.spec.describe(pattern, false, body)
	rt.mux.HandleFunc(pattern, rt.limitedPublic(b, h))
}

// Authed mounts an authenticated route without a body (tier api).
func (rt *Router) Authed(pattern string, h AuthedHandler) {
	rt.authedRoute(pattern, KindAuthenticated, nil, h)
}

// PublicJSON mounts a public route whose JSON body is a T: the body is
// decoded and validated against T's schema (the one /openapi.json
// publishes for the route) before h runs. The route and its request type
// are registered together, in one place.
func PublicJSON[T any](rt *Router, pattern string, b Budget, h func(w http.ResponseWriter, r *http.Request, req T) error) {
	var zero T
	rt.publicRoute(pattern, b, zero, func(w http.ResponseWriter, r *http.Request) error {
		var req T
		if err := rt.decode(w, r, &req); err != nil {
			return err
		}
		return h(w, r, req)
	})
}

// AuthedJSON is PublicJSON for an authenticated route (tier api).
func AuthedJSON[T any](rt *Router, pattern string, h func(w http.ResponseWriter, r *http.Request, c rampart.Claims, req T) error) {
	authedJSON(rt, pattern, KindAuthenticated, h)
}

// authedJSON mounts an authenticated route of kind k whose JSON body is a
// T, decoded and validated before h runs (AuthedJSON, ChatJSON).
func authedJSON[T any](rt *Router, pattern string, k Kind, h func(w http.ResponseWriter, r *http.Request, c rampart.Claims, req T) error) {
	var zero T
	rt.authedRoute(pattern, k, zero, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
		var req T
		if err := rt.decode(w, r, &req); err != nil {
			return err
		}
		return h(w, r, c, req)
	})
}

// ChatJSON is AuthedJSON for a route that asks a model a question (the
// proposal chat): it draws on the chat tier (15 a minute per principal by
// default) instead of the api tier.
func ChatJSON[T any](rt *Router, pattern string, h func(w http.ResponseWriter, r *http.Request, c rampart.Claims, req T) error) {
	authedJSON(rt, pattern, KindChat, h)
}

// AgentJSON is Router.Agent (agent.go) for a route whose JSON body is a T: after the agent
// checks pass, the body is decoded and validated against T's schema (the
// one /openapi.json publishes) before h runs.
func AgentJSON[T any](rt *Router, pattern string, t access.AgentType, venue VenueOf, h func(w http.ResponseWriter, r *http.Request, call AgentCall, req T) error) {
	var zero T
	rt.agentRoute(pattern, t, venue, zero, func(w http.ResponseWriter, r *http.Request, call AgentCall) error {
		var req T
		if err := rt.decode(w, r, &req); err != nil {
			return err
		}
		return h(w, r, call, req)
	})
}

// authedRoute mounts an authenticated route under the rate-limit tier of
// its kind (api, agent, upload or chat), keyed by the principal. Failed authentications
// draw on auth-tier budgets of the client address and of the credential
// (authenticate), so credential guessing and audit-log flooding stop
// without refusing valid credentials. body is the route's request type for
// /openapi.json (nil: none).
func (rt *Router) authedRoute(pattern string, k Kind, body any, h AuthedHandler) {
	rt.routes = append(rt.routes, Route{pattern, k})
	rt.spec.describe(pattern, true, body)
	if f, ok := k.Feature(); ok {
		rt.spec.gated(pattern, f)
	}
	rt.mux.HandleFunc(pattern, rt.authedHandler(k, h))
}

// authedHandler is the chain of an authenticated route of kind k: the
// cross-site refusal, authentication, the rate limits, then h.
func (rt *Router) authedHandler(k Kind, h AuthedHandler) http.HandlerFunc {
	tier, kind := "api", observe.RouteKindAuthenticated
	switch k {
	case KindAgent:
		tier, kind = "agent", observe.RouteKindAgent
	case KindUpload:
		tier = "upload"
	case KindChat:
		tier = "chat"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		observe.SetRouteKind(r.Context(), kind)
		if crossSiteWithCookie(r) {
			// Fetch metadata: another site made the browser send the
			// session cookie (a SameSite=Lax cookie rides on top-level
			// GET navigations). No authenticated route is meant to be
			// reached that way; refusing here spends nobody's budget, so
			// such requests cannot exhaust the victim's.
			writeProblem(w, Problem{Type: problemBase + "cross-origin", Title: "Cross-site request refused", Status: http.StatusForbidden,
				Detail: "signed-in requests must come from this site", Instance: r.URL.Path})
			return
		}
		rc, ok := rt.authenticate(w, r)
		if !ok {
			return
		}
		c := rc.Claims
		observe.SetPrincipal(r.Context(), c.OrganizationID.String(), c.UserID.String())
		// The organization's own budget first (all its members and tokens
		// share it, so it does not grow with their number), then the
		// principal's, whose RateLimit headers the answer carries.
		if org := rt.tiers.OrgTier(tier); org != "" && !rt.limit(w, r, org, "org:"+c.OrganizationID.String(), c.OrganizationID) {
			return
		}
		if !rt.limit(w, r, tier, "user:"+c.OrganizationID.String()+":"+c.UserID.String(), c.OrganizationID) {
			return
		}
		// The organization's feature flags, before the handler and so
		// before any side effect: the one gate of every agent and chat
		// route, API and console alike (features.go).
		if err := requireFeature(k, rc.Features); err != nil {
			writeError(w, r, rt.log, err)
			return
		}
		r = r.WithContext(rampart.WithClaims(r.Context(), c))
		if err := h(w, r, c); err != nil {
			writeError(w, r, rt.log, err)
		}
	}
}

// crossSiteWithCookie reports whether the browser says another site caused
// the request (Sec-Fetch-Site: cross-site) and the credential is the
// session cookie, which the browser attached by itself; an API token is
// sent deliberately and is not affected.
func crossSiteWithCookie(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") != "cross-site" || r.Header.Get("Authorization") != "" {
		return false
	}
	_, err := r.Cookie(auth.SessionCookieName)
	return err == nil
}
