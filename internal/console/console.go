package console

import (
	"context"
	"log/slog"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/store"
)

// Options configure the console.
type Options struct {
	Store  *store.Store
	Sealer *auth.Sealer
	// Mailer is read by the demo mailbox when it is the outbox.
	Mailer mail.Sender
	Logger *slog.Logger
	// Demo serves the demo mailbox on /demo: the outbox's mail, to a
	// loopback peer holding DemoKey (at least 32 characters; the mailbox
	// stays off without it).
	Demo    bool
	DemoKey string
	// Signup is which sign-up links a confirmation redeems.
	Signup store.SignupPolicy
	// RequestLoginLink is the sign-in use case the JSON API's
	// POST /api/auth/login-link runs, for the console's sign-in form: it
	// reserves the background work of mailing a link to email (the same
	// work whether or not the address belongs to a member) and returns
	// start, to be called once the answer is written.
	RequestLoginLink func(ctx context.Context, email string, ci store.ClientInfo) (start func(), err error)
}

// site is the console: its pages, and what they need.
type site struct {
	edge             *edge.Router
	store            *store.Store
	sealer           *auth.Sealer
	mailer           mail.Sender
	log              *slog.Logger
	demo             bool
	demoKey          string
	signup           store.SignupPolicy
	requestLoginLink func(ctx context.Context, email string, ci store.ClientInfo) (start func(), err error)
}

// Register mounts the console's pages on r.
func Register(r *edge.Router, opts Options) {
	s := &site{edge: r, store: opts.Store, sealer: opts.Sealer, mailer: opts.Mailer, log: opts.Logger,
		demo: opts.Demo, demoKey: opts.DemoKey, signup: opts.Signup, requestLoginLink: opts.RequestLoginLink}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.requestLoginLink == nil {
		panic("console: Register needs the sign-in use case (Options.RequestLoginLink)") // programming error at start-up
	}
	s.register(r)
}

func (s *site) register(r *edge.Router) {
	r.Public("GET /{$}", edge.PerVisitor, s.home)
	if s.demo {
		r.Public("GET /demo", edge.PerVisitor, s.demoPage) // loopback peers with the printed secret only (demoPage)
	}
	r.Public("GET /auth/link", edge.PerVisitor, s.openLink)
	r.Public("GET /auth/confirm", edge.PerVisitor, s.confirmPage)
	r.Public("POST /auth/confirm", edge.LinkConfirm, s.confirm)
	r.Public("POST /auth/login", edge.SignIn, s.loginForm)
	r.Public("POST /auth/logout", edge.PerVisitor, s.logoutForm)
}
