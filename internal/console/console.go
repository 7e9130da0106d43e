package console

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
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
	// Watcher is the kill-switch state of this process (the kill switch
	// page's "effective" state; nil: unknown).
	Watcher *killswitch.Watcher
	// InviteMail mails invitations (the same as the API's).
	InviteMail member.Mail
	// Tokens issues API tokens (the same as the API's).
	Tokens member.Issuer
	// Health is the readiness checks shown on the security page (nil:
	// not shown).
	Health *health.Checker
	// SignIn is the sign-in use cases (*signin.Service, the same the JSON
	// API calls): the sign-in form's link request and the links'
	// confirmation and redemption.
	SignIn SignIn
	// Chat answers the proposal chat's questions (nil: the chat page
	// says the chat is not configured in this process).
	Chat *chat.Service
	// Now is the clock of decisions and countdowns (the API's; nil:
	// time.Now).
	Now func() time.Time
}

// SignIn is what the sign-in pages need of the sign-in use cases
// (internal/signin).
type SignIn interface {
	// RequestLoginLink reserves the background work of mailing a link to
	// email (the same work whether or not the address belongs to a
	// member) and returns start, to be called once the answer is written.
	RequestLoginLink(ctx context.Context, email string, ci store.ClientInfo) (start func(), err error)
	// LinkAccount is the address a link signs into (it only reads).
	LinkAccount(ctx context.Context, hash []byte) (email string, ok bool, err error)
	// Redeem consumes a link and starts a session; every failure is
	// signin.ErrLinkInvalid (recorded with the check that failed).
	Redeem(ctx context.Context, hash []byte, signedIn *uuid.UUID, ci store.ClientInfo) (store.NewSession, error)
}

// site is the console: its pages, and what they need.
type site struct {
	edge    *edge.Router
	store   *store.Store
	sealer  *auth.Sealer
	mailer  mail.Sender
	log     *slog.Logger
	demo    bool
	demoKey string
	signin  SignIn

	watcher    *killswitch.Watcher
	inviteMail member.Mail
	tokens     member.Issuer
	health     *health.Checker
	now        func() time.Time
	chat       *chat.Service
}

// The pages, grouped by what they serve; each group registers its own
// routes and holds the site (the shared rendering, failure pages and
// dependencies) rather than growing it.
type (
	signinPages     struct{ *site } // magic-link sign-in (signin.go)
	accountPages    struct{ *site } // the signed-in person's account (account.go)
	workspacePages  struct{ *site } // proposals, bills, attachments, finance (workspace.go)
	approvalPages   struct{ *site } // the agent-proposal queue (approvals.go)
	staffingPages   struct{ *site } // vendors and crew for a proposal: rank and match (staffing.go)
	directoryPages  struct{ *site } // the vendor directory and the crew list, with their forms (directory.go)
	venuePages      struct{ *site } // the organization's venues, with their forms (venues.go)
	chatPages       struct{ *site } // the proposal chat (chat.go)
	adminPages      struct{ *site } // members, tokens, kill switch, audit, security, usage (admin.go, usage.go)
	governancePages struct{ *site } // data requests, learned state, billing (governance.go)
	brandingPages   struct{ *site } // branding and the organization's sign-in page (branding.go)
)

// Register mounts the console's pages on r.
func Register(r *edge.Router, opts Options) {
	s := &site{edge: r, store: opts.Store, sealer: opts.Sealer, mailer: opts.Mailer, log: opts.Logger,
		demo: opts.Demo, demoKey: opts.DemoKey, signin: opts.SignIn,
		watcher: opts.Watcher, inviteMail: opts.InviteMail, tokens: opts.Tokens, health: opts.Health, now: opts.Now, chat: opts.Chat}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.signin == nil {
		panic("console: Register needs the sign-in use cases (Options.SignIn)") // programming error at start-up
	}
	s.register(r)
}

func (s *site) register(r *edge.Router) {
	r.Public("GET /{$}", edge.PerVisitor, s.home)
	if s.demo {
		r.Public("GET /demo", edge.PerVisitor, s.demoPage) // loopback peers with the printed secret only (demoPage)
	}
	r.Public("GET /o/{slug}", edge.PerVisitor, brandingPages{s}.orgSignIn)
	r.Public("GET /o/{slug}/logo", edge.PerVisitor, brandingPages{s}.orgLogo)
	r.Public("GET /auth/link", edge.PerVisitor, signinPages{s}.openLink)
	r.Public("GET /auth/confirm", edge.PerVisitor, signinPages{s}.confirmPage)
	r.Public("POST /auth/confirm", edge.LinkConfirm, signinPages{s}.confirm)
	r.Public("POST /auth/login", edge.SignIn, signinPages{s}.loginForm)
	r.Public("POST /auth/logout", edge.PerVisitor, signinPages{s}.logoutForm)
	// Static assets by content hash: embedded, served from memory, no
	// database, so no budget (a page's assets must not spend its visitor's).
	r.Public("GET /static/{file}", edge.Unlimited, s.static)
	accountPages{s}.register()
	workspacePages{s}.register()
	adminPages{s}.register()
	approvalPages{s}.register()
	staffingPages{s}.register()
	directoryPages{s}.register()
	venuePages{s}.register()
	chatPages{s}.register()
	governancePages{s}.register()
	brandingPages{s}.register()
	s.documentPages(r)
}
