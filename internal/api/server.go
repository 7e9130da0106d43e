package api

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/console"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/refusal"
	"github.com/rampart-dev/rampart/internal/signin"
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
	// Signup is who may create an organization: signin.Operator (the
	// default), signin.Invite or signin.Open.
	Signup signin.Mode
	// SignInInFlight bounds the sign-in work running after the answer
	// (0: signin.MaxInFlight).
	SignInInFlight int
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
	// MaxUpload caps an attachment's size in bytes (0: edge.DefaultMaxUpload).
	MaxUpload int64
	// AI requests and queues generation jobs; Watcher holds the kill-switch
	// state. Without them the AI endpoints answer 503.
	AI      *jobs.Queue
	Watcher *killswitch.Watcher
	// Chat answers questions about proposals (the proposal chat); without
	// it the chat's POST answers 503.
	Chat *chat.Service
	// StreamPoll is how often the job progress stream reads new changes
	// (default 500 ms).
	StreamPoll time.Duration
	// ConfigWarnings are reported by readiness under "configuration"
	// (config.Config.Warnings).
	ConfigWarnings []string

	// credentials, when set, resolves credentials instead of the store:
	// the benchmarks' "authentication off" (the same chain, claims known
	// in advance). Unexported: only this package's tests can set it.
	credentials edge.Store
	// Integrations are the configured OAuth providers of
	// /api/integrations (nil: none; connecting answers 404).
	Integrations *oauth.Client
	// Billing verifies and applies Stripe deliveries to
	// /api/billing/webhook (nil or without a secret: the route answers
	// 503, billing not configured).
	Billing *billing.Webhook
	// Refusals counts the rate-limit refusals of authenticated requests per
	// organization, day and tier in memory; the serve process flushes it
	// (refusal.Counter.Run). nil: not counted.
	Refusals *refusal.Counter
	// Now is the clock of decisions that depend on time, such as whether
	// an agent proposal has expired (default time.Now; tests move it).
	Now func() time.Time
}

// Server is the HTTP JSON API, mounted with the console's pages on one
// edge router (New).
type Server struct {
	store   *store.Store
	sealer  *auth.Sealer
	tokens  *auth.Tokens
	mailer  mail.Sender
	log     *slog.Logger
	version string
	signin  *signin.Service
	edge    *edge.Router
	checker *health.Checker

	ai         *jobs.Queue
	watcher    *killswitch.Watcher
	chat       *chat.Service
	streamPoll time.Duration

	integrations *oauth.Client
	billing      *billing.Webhook
	now          func() time.Time
}

// New builds the edge (internal/edge), registers the API's resources and
// the console's pages (internal/console) on it, and returns the server
// that serves them. It is the one place this package names the console:
// both are given the same sign-in use cases (internal/signin) here, so
// neither package imports the other's handlers.
func New(opts Options) *Server {
	s := &Server{store: opts.Store, sealer: opts.Sealer, tokens: opts.Tokens, mailer: opts.Mailer, log: opts.Logger,
		version: opts.Version}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.signin = signin.New(signin.Options{Store: opts.Store, Mailer: opts.Mailer, BaseURL: opts.BaseURL, Mode: opts.Signup, Logger: s.log,
		MaxInFlight: opts.SignInInFlight})
	s.ai, s.watcher, s.streamPoll = opts.AI, opts.Watcher, opts.StreamPoll
	s.chat = opts.Chat
	s.integrations = opts.Integrations
	s.billing = opts.Billing
	s.now = opts.Now
	if s.now == nil {
		s.now = time.Now
	}
	if s.streamPoll <= 0 {
		s.streamPoll = 500 * time.Millisecond
	}
	// A one-second cache: an unauthenticated, unlimited probe must not
	// turn into database load.
	s.checker = readiness(s.store, s.log, time.Second, s.ai, s.watcher, opts.ConfigWarnings)
	var credentials edge.Store = edgeStore{opts.Store.Auth(), opts.Store.Audit()}
	if opts.credentials != nil {
		credentials = opts.credentials
	}
	eo := edge.Options{Store: credentials, Sealer: opts.Sealer, Tokens: opts.Tokens, Logger: s.log, Version: s.version,
		Metrics: opts.Metrics, MetricsToken: opts.MetricsToken, TrustedProxies: opts.TrustedProxies,
		Limiter: opts.Limiter, Tiers: opts.Tiers, MaxUpload: opts.MaxUpload}
	if opts.Refusals != nil { // a nil *Counter must not become a non-nil recorder
		eo.Refusals = opts.Refusals
	}
	s.edge = edge.New(eo)
	// Every resource registers its own routes, each with its request type.
	healthAPI{s}.register(s.edge)
	signInAPI{s}.register(s.edge)
	console.Register(s.edge, console.Options{Store: opts.Store, Sealer: opts.Sealer, Mailer: opts.Mailer, Logger: s.log,
		Demo: opts.Demo, DemoKey: opts.DemoKey, SignIn: s.signin,
		Watcher: opts.Watcher, InviteMail: adminAPI{s}.inviteMail(), Health: s.checker, Tokens: issuer(opts.Tokens), Now: s.now, Chat: opts.Chat})
	adminAPI{s}.register(s.edge)
	venueAPI{s}.register(s.edge)
	auditAPI{s}.register(s.edge)
	proposalAPI{s}.register(s.edge)
	bomAPI{s}.register(s.edge)
	financeAPI{s}.register(s.edge)
	staffingAPI{s}.register(s.edge)
	privacyAPI{s}.register(s.edge)
	attachmentAPI{s}.register(s.edge)
	chatAPI{s}.register(s.edge)
	integrationAPI{s}.register(s.edge)
	billingAPI{s}.register(s.edge)
	agentProposalAPI{s}.register(s.edge)
	usageAPI{s}.register(s.edge)
	return s
}

// ServeHTTP serves a request through the edge's chain.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.edge.ServeHTTP(w, r) }

// edgeStore is what the edge needs of the store: resolving credentials
// (store.Auth) and recording refused ones (store.AuditLog).
type edgeStore struct {
	store.Auth
	store.AuditLog
}

// issuer is the token issuer the console is given: none when the API has
// none (a nil *auth.Tokens must not become a non-nil member.Issuer).
func issuer(t *auth.Tokens) member.Issuer {
	if t == nil {
		return nil
	}
	return t
}
