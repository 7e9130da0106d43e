package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/rampart-dev/rampart/internal/llm"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/store"
)

// Options configure the API.
type Options struct {
	Store   *store.Store
	Sealer  *auth.Sealer
	Tokens  *auth.Tokens
	Mailer  mail.Sender
	Logger  *slog.Logger
	Version string
	// BaseURL is the external origin used in links (e.g. http://127.0.0.1:8080).
	BaseURL string
	// Demo serves the demo mailbox on /demo: the outbox's mail, to a
	// loopback peer holding DemoKey (at least 32 characters; the mailbox
	// stays off without it).
	Demo    bool
	DemoKey string
	// Signup is who may create an organization: SignupOperator (the
	// default), SignupInvite or SignupOpen.
	Signup string
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
	// AI requests and queues generation jobs; Watcher holds the kill-switch
	// state. Without them the AI endpoints answer 503.
	AI      *jobs.Queue
	Watcher *killswitch.Watcher
	// StreamPoll is how often the job progress stream reads new changes
	// (default 500 ms).
	StreamPoll time.Duration
	// ConfigWarnings are reported by readiness under "configuration"
	// (config.Config.Warnings).
	ConfigWarnings []string
}

// Server is the HTTP API and the server-rendered pages of sign-in.
type Server struct {
	store   *store.Store
	sealer  *auth.Sealer
	tokens  *auth.Tokens
	mailer  mail.Sender
	log     *slog.Logger
	version string
	baseURL string
	demo    bool
	demoKey string
	signup  string
	mux     *http.ServeMux
	handler http.Handler
	limiter ratelimit.Limiter
	tiers   ratelimit.Tiers
	trusted []netip.Prefix
	checker *health.Checker
	spec    *spec
	metrics *observe.Metrics
	chain   http.Handler

	ai         *jobs.Queue
	watcher    *killswitch.Watcher
	streamPoll time.Duration

	// routes lists every registered pattern with its kind, so tests can
	// walk them (e.g. every write route must write its audit event).
	routesSeen []routeInfo

	// Sign-in mail goes out in the background (the answer's timing must
	// not tell members from strangers); mailSlots bounds how many sends
	// are in flight and mailWG lets DrainMail wait for them.
	mailSlots chan struct{}
	mailWG    sync.WaitGroup

	// forwardWarning logs once that X-Forwarded-For arrives while no
	// proxy is trusted (warnUntrustedForwarding).
	forwardWarning sync.Once
}

type routeInfo struct {
	Pattern string
	Authed  bool
}

// New builds the API and its routes. A route not registered here is not
// reachable: unknown paths get 404 and wrong methods 405, as problem+json.
// Routes are registered by kind — public, authenticated or agent — and
// each kind has its own handler type, so an authenticated handler cannot
// be mounted without authentication.
func New(opts Options) *Server {
	s := &Server{store: opts.Store, sealer: opts.Sealer, tokens: opts.Tokens, mailer: opts.Mailer, log: opts.Logger,
		version: opts.Version, baseURL: opts.BaseURL, demo: opts.Demo, demoKey: opts.DemoKey, signup: opts.Signup, mux: http.NewServeMux(),
		mailSlots: make(chan struct{}, maxMailInFlight)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.limiter, s.tiers, s.trusted = opts.Limiter, opts.Tiers, opts.TrustedProxies
	s.ai, s.watcher, s.streamPoll = opts.AI, opts.Watcher, opts.StreamPoll
	if s.streamPoll <= 0 {
		s.streamPoll = 500 * time.Millisecond
	}
	if s.limiter == nil {
		s.limiter = ratelimit.NewLocal(nil)
	}
	if s.tiers == nil {
		s.tiers = ratelimit.DefaultTiers()
	}
	// A one-second cache: an unauthenticated, unlimited probe must not
	// turn into database load.
	s.checker = readiness(s.store, s.log, time.Second, s.ai, s.watcher, opts.ConfigWarnings)
	s.spec = newSpec(s.version)
	s.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.csrfDenied))
	s.handler = cop.Handler(observe.RoutePattern(http.HandlerFunc(s.route)))
	s.metrics = opts.Metrics
	chain := s.handler
	if s.metrics != nil {
		chain = s.metrics.Middleware(chain)
		if opts.MetricsToken != "" {
			s.routesSeen = append(s.routesSeen, routeInfo{"GET /metrics", false})
			s.mux.Handle("GET /metrics", s.metrics.Handler(opts.MetricsToken))
		}
	}
	s.chain = observe.RequestLog(s.log, chain, func(r *http.Request) (string, string, string) {
		rid, _ := r.Context().Value(requestIDKey{}).(string)
		return rid, "", ""
	})
	return s
}

// ServeHTTP runs the middleware chain: request id → cross-origin check
// for state-changing requests → routing. Every /api and /auth response is
// Cache-Control: no-store: they carry personal data, tokens and links, and
// no shared or browser cache may keep them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = observe.Track(r) // the route's kind reaches a panic recovered below
	rid := newRequestID()
	w.Header().Set("X-Request-Id", rid)
	r = securityHeaders(w, r)
	if p := r.URL.Path; p == "/api" || strings.HasPrefix(p, "/api/") || p == "/auth" || strings.HasPrefix(p, "/auth/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid))
	r = r.WithContext(context.WithValue(r.Context(), clientIPKey{}, clientAddr(r, s.trusted)))
	s.warnUntrustedForwarding(r)
	r = r.WithContext(store.WithClient(r.Context(), clientInfo(r)))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err := fmt.Errorf("panic: %v", p)
			s.log.ErrorContext(r.Context(), "handler panicked", "err", err, "stack", string(debug.Stack()))
			observe.CaptureError(r.Context(), r.Pattern, err)
			writeProblem(w, Problem{Type: problemBase + "internal", Title: "Internal error", Status: http.StatusInternalServerError,
				Detail: "An internal error occurred.", Instance: r.URL.Path})
		}
	}()
	s.chain.ServeHTTP(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
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
		s.notFound(w, r)
		return
	}
	s.mux.ServeHTTP(w, r) // sets the path values
}

// notFound is the answer for a path that does not exist (or must look so).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, Problem{Type: problemBase + "not-found", Title: "Not found", Status: http.StatusNotFound,
		Detail: "no such route", Instance: r.URL.Path})
}

func (s *Server) csrfDenied(w http.ResponseWriter, r *http.Request) {
	// Every refusal is answered; refusals are audited within a budget of
	// their own per address (no flooding), which nothing else draws on: a
	// page that makes its visitors post cross-site cannot spend a budget
	// their sessions need.
	if s.spend(r, "csrf:"+clientKey(r)) {
		ev := clientInfo(r).Event(auditCSRF(r))
		if err := s.store.Audit().RecordPlatformEvent(r.Context(), ev); err != nil {
			s.log.ErrorContext(r.Context(), "audit csrf rejection", "err", err)
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

// publicHandler serves a route that needs no sign-in.
type publicHandler func(w http.ResponseWriter, r *http.Request) error

// authedHandler serves a route that needs a signed-in principal; it gets
// the live claims, already resolved from the session or token.
type authedHandler func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error

// public mounts a route without a body that needs no sign-in.
func (s *Server) public(pattern string, h publicHandler) { s.publicRoute(pattern, nil, h) }

func (s *Server) publicRoute(pattern string, body any, h publicHandler) {
	s.routesSeen = append(s.routesSeen, routeInfo{pattern, false})
	s.spec.describe(pattern, false, body)
	s.mux.HandleFunc(pattern, s.limitedPublic(pattern, h))
}

// authed mounts an authenticated route without a body.
func (s *Server) authed(pattern string, h authedHandler) { s.authedRoute(pattern, "api", nil, h) }

// authedTier mounts an authenticated route without a body under a
// rate-limit tier (agent routes).
func (s *Server) authedTier(pattern, tier string, h authedHandler) {
	s.authedRoute(pattern, tier, nil, h)
}

// publicJSON mounts a public route whose JSON body is a T: the body is
// decoded and validated against T's schema (the one /openapi.json
// publishes for the route) before h runs. The route and its request type
// are registered together, in one place.
func publicJSON[T any](s *Server, pattern string, h func(w http.ResponseWriter, r *http.Request, req T) error) {
	var zero T
	s.publicRoute(pattern, zero, func(w http.ResponseWriter, r *http.Request) error {
		var req T
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
		return h(w, r, req)
	})
}

// authedJSON is publicJSON for an authenticated route (tier api).
func authedJSON[T any](s *Server, pattern string, h func(w http.ResponseWriter, r *http.Request, c rampart.Claims, req T) error) {
	var zero T
	s.authedRoute(pattern, "api", zero, func(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
		var req T
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
		return h(w, r, c, req)
	})
}

// authedRoute mounts an authenticated route under a rate-limit tier keyed by
// the principal. Failed authentications draw on auth-tier budgets of the
// client address and of the credential (authenticate), so credential
// guessing and audit-log flooding stop without refusing valid credentials.
// body is the route's request type for /openapi.json (nil: none).
func (s *Server) authedRoute(pattern, tier string, body any, h authedHandler) {
	s.routesSeen = append(s.routesSeen, routeInfo{pattern, true})
	s.spec.describe(pattern, true, body)
	kind := observe.RouteKindAuthenticated
	if tier == "agent" {
		kind = observe.RouteKindAgent
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
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
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		observe.SetPrincipal(r.Context(), c.OrganizationID.String(), c.UserID.String())
		// The organization's own budget first (all its members and tokens
		// share it, so it does not grow with their number), then the
		// principal's, whose RateLimit headers the answer carries.
		if org := s.tiers.OrgTier(tier); org != "" && !s.limit(w, r, org, "org:"+c.OrganizationID.String()) {
			return
		}
		if !s.limit(w, r, tier, "user:"+c.OrganizationID.String()+":"+c.UserID.String()) {
			return
		}
		r = r.WithContext(rampart.WithClaims(r.Context(), c))
		if err := h(w, r, c); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

func (s *Server) routes() {
	s.public("GET /api/health", s.health)
	s.public("GET /openapi.json", s.spec.serve)
	s.public("GET /api/health/ready", s.ready)
	// Every resource registers its own routes, each with its request type.
	signInAPI{s}.routes()
	pageAPI{s}.routes()
	adminAPI{s}.routes()
	venueAPI{s}.routes()
	auditAPI{s}.routes()
	proposalAPI{s}.routes()
}

// health is liveness: cheap, no dependencies.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	return nil
}

// Readiness builds the readiness checks of a server on st, answering from
// a cache of cacheFor (exported so the health integration test exercises
// the same wiring; the server uses one second).
func Readiness(st *store.Store, log *slog.Logger, cacheFor time.Duration) *health.Checker {
	return readiness(st, log, cacheFor, nil, nil, nil)
}

// readiness builds the per-component readiness checks: the database
// behind a circuit breaker (a dead database is reported at once and its
// recovery noticed by itself), the schema version, the configuration, and
// the components later issues add (reported "not_configured" until then).
func readiness(st *store.Store, log *slog.Logger, cacheFor time.Duration, ai *jobs.Queue, w *killswitch.Watcher, warnings []string) *health.Checker {
	queue, model, watcher := health.NotConfigured("job_queue"), health.NotConfigured("llm"), health.NotConfigured("killswitch_watcher")
	if ai != nil {
		queue = health.Check{Name: "job_queue", Critical: true, Run: ai.Healthy}
		// Not critical: without the model the API serves and AI jobs
		// wait and retry. Probed at most once a minute (a model list, no
		// tokens); each probe has its own 5 s.
		probe := &modelProbe{probe: ai.ProbeModel, every: time.Minute}
		model = health.Check{Name: "llm", Run: probe.run, Timeout: 6 * time.Second}
	}
	configuration := health.OK("configuration")
	if len(warnings) > 0 {
		msg := strings.Join(warnings, "; ")
		configuration = health.Check{Name: "configuration", Run: func(context.Context) error { return health.Warn(msg) }}
	}
	if w != nil {
		// Not critical: the API keeps serving when the state is unknown;
		// AI requests are refused (fail closed) and this reports why.
		watcher = health.Check{Name: "killswitch_watcher", Run: func(context.Context) error {
			listening, age := w.Healthy()
			if w.Check(uuid.Nil) == killswitch.ErrStateUnknown {
				return health.Fail(fmt.Sprintf("kill-switch state unconfirmed for %s: AI work is refused", age.Round(time.Millisecond)), nil)
			}
			if !listening {
				return health.Fail("listener down; state re-read periodically", nil)
			}
			return nil
		}}
	}
	return health.New(health.Options{Logger: log, CacheFor: cacheFor},
		health.WithBreaker("database", func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return health.Fail("cannot reach PostgreSQL", err)
			}
			return nil
		}, health.BreakerSettings{}),
		health.WithBreaker("migrations", st.CheckSchema, health.BreakerSettings{}),
		configuration,
		queue, model, watcher,
	)
}

// ready reports each component; 503 when a critical one fails. The
// checker answers from a one-second cache (see readiness).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	s.checker.Handler().ServeHTTP(w, r)
	return nil
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

// modelProbe caches the model provider's probe: readiness may be asked
// every second, the provider at most once per every.
type modelProbe struct {
	probe func(context.Context) error
	every time.Duration

	mu   sync.Mutex
	at   time.Time
	last error
}

func (m *modelProbe) run(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.at.IsZero() && time.Since(m.at) < m.every {
		return m.last
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := m.probe(pctx)
	var pe *llm.ProviderError
	switch {
	case err == nil:
	case errors.As(err, &pe) && (pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden):
		err = health.Fail("the model provider refused the API key", err)
	case errors.As(err, &pe):
		err = health.Fail(fmt.Sprintf("the model provider answered HTTP %d", pe.StatusCode), err)
	default:
		err = health.Fail("the model provider did not answer", err)
	}
	m.at, m.last = time.Now(), err
	return err
}
