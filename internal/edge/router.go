package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/store"
)

// Store is what the edge asks of the store: credentials resolved to live
// claims, and the platform audit events of refused requests.
type Store interface {
	ResolveSession(ctx context.Context, sessionID uuid.UUID) (store.ResolvedClaims, error)
	ResolveToken(ctx context.Context, tokenID, orgID uuid.UUID) (store.ResolvedClaims, error)
	RecordPlatformEvent(ctx context.Context, ev audit.Event) error
}

// Options configure the edge.
type Options struct {
	Store  Store
	Sealer *auth.Sealer
	Tokens *auth.Tokens
	Logger *slog.Logger
	// Version is the API version /openapi.json states.
	Version string
	// Metrics, when set, counts requests and rate-limit refusals; with
	// MetricsToken also set, GET /metrics serves them on this listener
	// (bearer token required).
	Metrics      *observe.Metrics
	MetricsToken string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Limiter and Tiers rate-limit requests (default: in-process, DefaultTiers).
	Limiter ratelimit.Limiter
	Tiers   ratelimit.Tiers
	// MaxUpload caps the file of an upload route, in bytes (0:
	// DefaultMaxUpload).
	MaxUpload int64
	// Refusals, when set, is told of every refusal of an authenticated
	// request (its organization and tier), so the organization's admins
	// can see them (internal/refusal). Unauthenticated refusals are not
	// given to it.
	Refusals RefusalRecorder
}

// RefusalRecorder counts the rate-limit refusals of an organization. It is
// called on the request path of every such 429, so it must be cheap,
// concurrency safe and never touch the database (refusal.Counter).
type RefusalRecorder interface {
	Refused(org uuid.UUID, tier string)
}

// Router is the edge: the middleware chain every request goes through and
// the routes mounted on it. A route not registered on it is not reachable:
// unknown paths get 404 and wrong methods 405, as problem+json. Routes are
// registered by kind — public, authenticated or agent — and each kind has
// its own handler type, so an authenticated handler cannot be mounted
// without authentication.
type Router struct {
	store   Store
	sealer  *auth.Sealer
	tokens  *auth.Tokens
	log     *slog.Logger
	mux     *http.ServeMux
	limiter ratelimit.Limiter
	tiers   ratelimit.Tiers
	trusted []netip.Prefix
	spec    *spec
	metrics *observe.Metrics
	// refusals counts refusals per organization (nil: not counted).
	refusals RefusalRecorder
	// cop is the cross-origin protection; webhook routes bypass it (a
	// signed server-to-server delivery carries no cookie to protect).
	cop   *http.CrossOriginProtection
	chain http.Handler

	// routes lists every registered pattern with its kind, so tests can
	// walk them (e.g. every write route must write its audit event).
	routes []Route

	// maxUpload caps the file of an upload route (upload.go).
	maxUpload int64

	// forwardWarning logs once that X-Forwarded-For arrives while no
	// proxy is trusted (warnUntrustedForwarding).
	forwardWarning sync.Once
}

// New builds the edge with its own routes (GET /openapi.json, and GET
// /metrics when Metrics and MetricsToken are set); the resources register
// theirs on it.
func New(opts Options) *Router {
	rt := &Router{store: opts.Store, sealer: opts.Sealer, tokens: opts.Tokens, log: opts.Logger, mux: http.NewServeMux(),
		limiter: opts.Limiter, tiers: opts.Tiers, trusted: opts.TrustedProxies, metrics: opts.Metrics, refusals: opts.Refusals}
	if rt.log == nil {
		rt.log = slog.New(slog.DiscardHandler)
	}
	if rt.limiter == nil {
		rt.limiter = ratelimit.NewLocal(nil)
	}
	if rt.tiers == nil {
		rt.tiers = ratelimit.DefaultTiers()
	}
	if rt.maxUpload = opts.MaxUpload; rt.maxUpload <= 0 {
		rt.maxUpload = DefaultMaxUpload
	}
	rt.spec = newSpec(opts.Version)
	rt.Public("GET /openapi.json", PerVisitor, rt.spec.serve)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(rt.csrfDenied))
	rt.cop = cop
	chain := cop.Handler(observe.RoutePattern(http.HandlerFunc(rt.route)))
	if rt.metrics != nil {
		chain = rt.metrics.Middleware(chain)
		if opts.MetricsToken != "" {
			rt.routes = append(rt.routes, Route{"GET /metrics", KindPublic})
			rt.mux.Handle("GET /metrics", rt.metrics.Handler(opts.MetricsToken))
		}
	}
	rt.chain = observe.RequestLog(rt.log, chain, func(r *http.Request) (string, string, string) {
		rid, _ := r.Context().Value(requestIDKey{}).(string)
		return rid, "", ""
	})
	return rt
}

// ServeHTTP runs the middleware chain: request id → cross-origin check
// for state-changing requests → routing. Every /api and /auth response is
// Cache-Control: no-store: they carry personal data, tokens and links, and
// no shared or browser cache may keep them.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = observe.Track(r) // the route's kind reaches a panic recovered below
	rid := newRequestID()
	w.Header().Set("X-Request-Id", rid)
	r = securityHeaders(w, r)
	if p := r.URL.Path; p == "/api" || strings.HasPrefix(p, "/api/") || p == "/auth" || strings.HasPrefix(p, "/auth/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid))
	r = r.WithContext(context.WithValue(r.Context(), clientIPKey{}, clientAddr(r, rt.trusted)))
	rt.warnUntrustedForwarding(r)
	r = r.WithContext(store.WithClient(r.Context(), ClientInfo(r)))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err := fmt.Errorf("panic: %v", p)
			rt.log.ErrorContext(r.Context(), "handler panicked", "err", err, "stack", string(debug.Stack()))
			observe.CaptureError(r.Context(), r.Pattern, err)
			writeProblem(w, Problem{Type: problemBase + "internal", Title: "Internal error", Status: http.StatusInternalServerError,
				Detail: "An internal error occurred.", Instance: r.URL.Path})
		}
	}()
	rt.chain.ServeHTTP(w, r)
}

func (rt *Router) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		// Probe whether another method would match to tell 405 from 404.
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, Problem{Type: problemBase + "method-not-allowed", Title: "Method not allowed",
				Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path, Instance: r.URL.Path})
			return
		}
		NotFound(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r) // sets the path values
}

// NotFound is the answer for a path that does not exist (or must look so).
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, Problem{Type: problemBase + "not-found", Title: "Not found", Status: http.StatusNotFound,
		Detail: "no such route", Instance: r.URL.Path})
}

func (rt *Router) csrfDenied(w http.ResponseWriter, r *http.Request) {
	// Every refusal is answered; refusals are audited within a budget of
	// their own per address (no flooding), which nothing else draws on: a
	// page that makes its visitors post cross-site cannot spend a budget
	// their sessions need.
	if rt.spend(r, "csrf:"+clientKey(r)) {
		ev := ClientInfo(r).Event(auditCSRF(r))
		if err := rt.store.RecordPlatformEvent(r.Context(), ev); err != nil {
			rt.log.ErrorContext(r.Context(), "audit csrf rejection", "err", err)
		}
	}
	writeProblem(w, Problem{Type: problemBase + "cross-origin", Title: "Cross-origin request refused", Status: http.StatusForbidden,
		Detail: "state-changing requests must come from this site", Instance: r.URL.Path})
}

type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }
