package signin

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Mode is who may create an organization (RAMPART_SIGNUP).
type Mode string

// The sign-up modes.
const (
	Operator Mode = "operator" // only operators (`rampart org create`)
	Invite   Mode = "invite"   // also whoever an operator sent a sign-up link
	Open     Mode = "open"     // also anyone who confirms their address
)

// Policy is which sign-up links a confirmation redeems under mode m.
func (m Mode) Policy() store.SignupPolicy {
	switch m {
	case Open:
		return store.SignupAll
	case Invite:
		return store.SignupInvitedOnly
	}
	return store.SignupNone
}

// Background limits: at most MaxInFlight background jobs (link requests
// and mail sends) at once, each given WorkTimeout; a request waits up to
// SlotWait for a slot.
const (
	MaxInFlight = 32
	WorkTimeout = 30 * time.Second
	SlotWait    = 5 * time.Second
)

// Options configure the sign-in use cases.
type Options struct {
	Store  *store.Store
	Mailer mail.Sender
	// BaseURL is the external origin links point at.
	BaseURL string
	Mode    Mode
	Logger  *slog.Logger
	// MaxInFlight bounds the background work at once (0: MaxInFlight).
	MaxInFlight int
}

// Service runs the sign-in use cases and their background work.
type Service struct {
	store   *store.Store
	mailer  mail.Sender
	baseURL string
	mode    Mode
	log     *slog.Logger
	slots   chan struct{}
	wg      sync.WaitGroup
}

// New returns the sign-in use cases.
func New(opts Options) *Service {
	n := opts.MaxInFlight
	if n <= 0 {
		n = MaxInFlight
	}
	s := &Service{store: opts.Store, mailer: opts.Mailer, baseURL: opts.BaseURL, mode: opts.Mode, log: opts.Logger,
		slots: make(chan struct{}, n)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Mode is the server's sign-up mode.
func (s *Service) Mode() Mode { return s.mode }

// LinkURL is the URL a magic link's token is opened at.
func (s *Service) LinkURL(token string) string { return LinkURL(s.baseURL, token) }

// LinkURL is the magic link for token on the server at base.
func LinkURL(base, token string) string {
	return base + "/auth/link?token=" + url.QueryEscape(token)
}

// RequestLoginLink prepares a sign-in link request for email (already
// normalised) for after the answer and returns start, to be called once
// the answer is written. Nothing it does before returning depends on the
// address (see the package doc); start runs the lookup, the link row and
// its audit event, or the stranger's audit event, in one service
// transaction, then the mail, to members only. Failures are logged, never
// answered.
func (s *Service) RequestLoginLink(ctx context.Context, email string, ci store.ClientInfo) (start func(), err error) {
	return s.reserve(ctx, "signin.RequestLoginLink", "sign-in link", func(ctx context.Context) {
		link, err := s.createLoginLink(ctx, email, ci)
		if err != nil {
			s.log.ErrorContext(ctx, "create a sign-in link", "err", err)
			return
		}
		if link == "" {
			return // not a member: the audit event is written, nothing is sent
		}
		if err := s.mailer.Send(ctx, LoginLinkMessage(email, link)); err != nil {
			s.log.ErrorContext(ctx, "send sign-in link", "err", err)
		}
	})
}

// SendLoginLink creates a sign-in link for email, if it belongs to a
// member, and mails it in the background. It waits for the lookup and
// returns the link, or "" when there is no such member: it is for the
// operator (the banner of `rampart serve --demo`). Requests use
// RequestLoginLink, whose answer does not wait for the lookup.
func (s *Service) SendLoginLink(ctx context.Context, email string, ci store.ClientInfo) (string, error) {
	link, err := s.createLoginLink(ctx, email, ci)
	if err != nil || link == "" {
		return "", err
	}
	s.sendInBackground(ctx, LoginLinkMessage(email, link), "sign-in link")
	return link, nil
}

// createLoginLink stores a sign-in link for email if it belongs to a
// member and returns it ("" for a stranger); either way the request is
// audited in the same service transaction.
func (s *Service) createLoginLink(ctx context.Context, email string, ci store.ClientInfo) (string, error) {
	token, hash := auth.NewLinkToken()
	ok, err := s.store.Auth().RequestLoginLink(ctx, email, hash, ci)
	if err != nil || !ok {
		return "", err
	}
	return s.LinkURL(token), nil
}

// RequestSignup prepares a self-service sign-up for after the answer: a
// confirmation link that creates organization orgName with the address's
// owner as admin. Only in Open mode; the reason is the error otherwise.
// An address that already holds too many live links gets none, which
// neither the answer nor its timing shows.
func (s *Service) RequestSignup(ctx context.Context, email, orgName string, ci store.ClientInfo) (start func(), err error) {
	const op = "signin.RequestSignup"
	switch s.mode {
	case Open:
	case Invite:
		return nil, rampart.Errorf(op, rampart.KindForbidden, "sign-up on this server is by invitation: ask its operator for a sign-up link")
	default:
		return nil, rampart.Errorf(op, rampart.KindForbidden, "sign-up on this server is closed: its operator creates organizations")
	}
	email, err = rampart.NormalizeEmail(email)
	if err != nil {
		return nil, rampart.FieldError(op, "email", "must be a plain address like name@example.com")
	}
	if err := rampart.ValidateOrganization(orgName, rampart.SlugFrom(orgName)); err != nil {
		return nil, rampart.FieldError(op, "organization_name", "%s", rampart.ErrorMessage(err))
	}
	req := store.SignupRequest{Email: email, OrganizationName: orgName}
	return s.reserve(ctx, op, "sign-up link", func(ctx context.Context) {
		token, hash := auth.NewLinkToken()
		ok, err := s.store.Auth().RequestSignup(ctx, req, hash, ci)
		if err == nil && ok {
			err = s.mailer.Send(ctx, SignupMessage(req, s.LinkURL(token)))
		}
		if err != nil {
			s.log.ErrorContext(ctx, "create a sign-up link", "err", err)
		}
	})
}

// Redeem consumes the magic link whose token hashes to hash — an invite,
// a sign-in link or, as the mode allows, a sign-up link — and starts a
// session; signedIn is the person already signed in on this browser, if
// any. A link that does not redeem is recorded with the check that failed
// and answered as one KindUnauthenticated error, whatever the check.
func (s *Service) Redeem(ctx context.Context, hash []byte, signedIn *uuid.UUID, ci store.ClientInfo) (store.NewSession, error) {
	ns, err := s.store.Auth().RedeemMagicLink(ctx, hash, signedIn, s.mode.Policy(), ci)
	var rf *store.RedeemFailure
	if errors.As(err, &rf) {
		if aerr := s.store.Audit().RecordPlatformEvent(ctx, rf.Event); aerr != nil {
			s.log.ErrorContext(ctx, "audit failed redemption", "err", aerr)
		}
		return store.NewSession{}, ErrLinkInvalid
	}
	return ns, err
}

// ErrLinkInvalid is every failed redemption, whichever check failed.
var ErrLinkInvalid = rampart.Errorf("signin.Redeem", rampart.KindUnauthenticated, "this sign-in link is invalid, expired or already used")

// LinkAccount is the address a magic link signs into (for a masked
// confirmation page); ok is false for an unknown link. It only reads.
func (s *Service) LinkAccount(ctx context.Context, hash []byte) (email string, ok bool, err error) {
	return s.store.Auth().LinkAccount(ctx, hash)
}

// reserve takes a background slot for a request whose work must not show
// in the answer's timing (waiting up to SlotWait while MaxInFlight are
// busy, then refusing with KindUnavailable, whoever asks) and returns
// start, which runs work on its own goroutine once the answer is written:
// detached from the request's cancellation, bounded by WorkTimeout,
// waited for by Drain.
func (s *Service) reserve(ctx context.Context, op, what string, work func(context.Context)) (start func(), err error) {
	wait := time.NewTimer(SlotWait)
	defer wait.Stop()
	select {
	case s.slots <- struct{}{}:
	case <-wait.C:
		s.log.ErrorContext(ctx, "too much background work in flight; "+what+" request refused", "limit", MaxInFlight)
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "too many requests of this kind at the moment; try again shortly")
	case <-ctx.Done():
		return nil, rampart.Wrap(op, rampart.KindUnavailable, ctx.Err())
	}
	ctx = context.WithoutCancel(ctx)
	s.wg.Add(1)
	return func() {
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			ctx, cancel := context.WithTimeout(ctx, WorkTimeout)
			defer cancel()
			work(ctx)
		}()
	}, nil
}

// sendInBackground sends msg on its own goroutine, detached from the
// request's cancellation but bounded by WorkTimeout. When MaxInFlight
// sends are already under way the message is dropped and the drop logged
// (the requester can ask again), rather than letting a slow mail server
// pile up goroutines.
func (s *Service) sendInBackground(ctx context.Context, msg mail.Message, what string) {
	select {
	case s.slots <- struct{}{}:
	default:
		s.log.ErrorContext(ctx, "mail: too many sends in flight; "+what+" dropped", "limit", MaxInFlight)
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(ctx, WorkTimeout)
		defer cancel()
		if err := s.mailer.Send(ctx, msg); err != nil {
			s.log.ErrorContext(ctx, "send "+what, "err", err)
		}
	}()
}

// Drain waits until the background work has finished, or until ctx is
// done. Call it on shutdown after the HTTP server stopped accepting
// requests.
func (s *Service) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
