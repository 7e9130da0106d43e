package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// signInAPI is sign-in and the signed-in principal: magic-link requests,
// sign-up, sessions, organization switching and /api/me (the link's
// confirmation and the sign-in form are console pages, internal/console).
type signInAPI struct{ *Server }

func (s signInAPI) register(r *edge.Router) {
	edge.PublicJSON(r, "POST /api/auth/login-link", edge.SignIn, s.requestLoginLink)
	edge.PublicJSON(r, "POST /api/auth/signup", edge.SignIn, s.requestSignup)
	r.Authed("GET /api/me", s.me)
	r.Authed("POST /api/auth/logout", s.logout)
	r.Authed("POST /api/auth/logout-all", s.logoutAll)
	edge.AuthedJSON(r, "POST /api/auth/switch-org", s.switchOrg)
	r.Authed("GET /api/sessions", s.listSessions)
	r.Authed("GET /api/agents", s.listAgents)
}

// linkURL is the URL a magic link points at.
func (s *Server) linkURL(token string) string {
	return s.baseURL + "/auth/link?token=" + url.QueryEscape(token)
}

type loginLinkRequest struct {
	Email string `json:"email" format:"email" minLength:"3" maxLength:"254"`
}

// requestLoginLink mails a 10-minute sign-in link to a member. The answer
// is the same whether or not the address belongs to anyone, and so is the
// work done before it (reserveLoginLink).
func (s signInAPI) requestLoginLink(w http.ResponseWriter, r *http.Request, req loginLinkRequest) error {
	email, err := rampart.NormalizeEmail(req.Email)
	if err != nil {
		return fieldError("email", "must be a plain address like name@example.com")
	}
	start, err := s.reserveLoginLink(r.Context(), email, clientInfo(r))
	if err != nil {
		return err
	}
	defer start() // after the answer
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "If the address belongs to a member, a sign-in link is on its way."})
	return nil
}

// reserveLoginLink prepares the work of a sign-in link request for after
// the answer. Nothing it does depends on the address: it takes a
// background slot (waiting up to slotWait while maxMailInFlight are busy,
// then refusing with KindUnavailable, whoever asks) and touches no
// database, so neither the answer nor its timing can tell a member from a
// stranger. (When the lookup and the link row came first, a member's
// answer waited for one more statement, and the outside review found it
// the slower one in 79–92% of interleaved pairs.) start, called once the
// answer is written, runs the rest on its own goroutine, detached from
// the request's cancellation and bounded by mailTimeout: the lookup, then
// the link row and its audit event, or the stranger's audit event, in one
// service transaction, then the mail, to members only. Failures are
// logged, never answered. DrainMail waits for it.
func (s signInAPI) reserveLoginLink(ctx context.Context, email string, ci store.ClientInfo) (start func(), err error) {
	return s.reserveBackground(ctx, "api.requestLoginLink", "sign-in link", func(ctx context.Context) {
		link, err := s.createLoginLink(ctx, email, ci)
		if err != nil {
			s.log.ErrorContext(ctx, "create a sign-in link", "err", err)
			return
		}
		if link == "" {
			return // not a member: the audit event is written, nothing is sent
		}
		if err := s.mailer.Send(ctx, loginLinkMessage(email, link)); err != nil {
			s.log.ErrorContext(ctx, "send sign-in link", "err", err)
		}
	})
}

// reserveBackground takes a background slot for a request whose work must
// not show in the answer's timing (waiting up to slotWait while
// maxMailInFlight are busy, then refusing with KindUnavailable, whoever
// asks) and returns start, which runs work on its own goroutine once the
// answer is written: detached from the request's cancellation, bounded by
// mailTimeout, waited for by DrainMail.
func (s signInAPI) reserveBackground(ctx context.Context, op, what string, work func(context.Context)) (start func(), err error) {
	wait := time.NewTimer(slotWait)
	defer wait.Stop()
	select {
	case s.mailSlots <- struct{}{}:
	case <-wait.C:
		s.log.ErrorContext(ctx, "too much background work in flight; "+what+" request refused", "limit", maxMailInFlight)
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "too many requests of this kind at the moment; try again shortly")
	case <-ctx.Done():
		return nil, rampart.Wrap(op, rampart.KindUnavailable, ctx.Err())
	}
	ctx = context.WithoutCancel(ctx)
	s.mailWG.Add(1)
	return func() {
		go func() {
			defer s.mailWG.Done()
			defer func() { <-s.mailSlots }()
			ctx, cancel := context.WithTimeout(ctx, mailTimeout)
			defer cancel()
			work(ctx)
		}()
	}, nil
}

// SendLoginLink creates a sign-in link for email, if it belongs to a
// member, and mails it in the background. It waits for the lookup and
// returns the link, or "" when there is no such member: it is for the
// operator (the banner of `rampart serve --demo`). Request handlers use
// reserveLoginLink, whose answer does not wait for the lookup.
func (s *Server) SendLoginLink(ctx context.Context, email string, ci store.ClientInfo) (string, error) {
	link, err := s.createLoginLink(ctx, email, ci)
	if err != nil || link == "" {
		return "", err
	}
	s.sendInBackground(ctx, loginLinkMessage(email, link), "sign-in link")
	return link, nil
}

// createLoginLink stores a sign-in link for email if it belongs to a
// member and returns it ("" for a stranger); either way the request is
// audited in the same service transaction.
func (s *Server) createLoginLink(ctx context.Context, email string, ci store.ClientInfo) (string, error) {
	token, hash := auth.NewLinkToken()
	ok, err := s.store.Auth().RequestLoginLink(ctx, email, hash, ci)
	if err != nil || !ok {
		return "", err
	}
	return s.linkURL(token), nil
}

// loginLinkMessage is the mail that carries a sign-in link.
func loginLinkMessage(email, link string) mail.Message {
	return mail.Message{To: email, Subject: "Your Rampart sign-in link",
		Text: "Sign in to Rampart with this link within 10 minutes:\n\n" + link + "\n\nIf you did not ask for it, ignore this message."}
}

// Background mail limits: at most maxMailInFlight sends (and sign-in link
// requests) at once, each given mailTimeout. A sign-in link request waits
// up to slotWait for a slot.
const (
	maxMailInFlight = 32
	mailTimeout     = 30 * time.Second
	slotWait        = 5 * time.Second
)

// sendInBackground sends msg on its own goroutine, detached from the
// request's cancellation but bounded by mailTimeout. When maxMailInFlight
// sends are already under way the message is dropped and the drop logged
// (the requester can ask again), rather than letting a slow mail server
// pile up goroutines. Failures are logged, never returned: the requester
// gets the same answer either way.
func (s *Server) sendInBackground(ctx context.Context, msg mail.Message, what string) {
	select {
	case s.mailSlots <- struct{}{}:
	default:
		s.log.ErrorContext(ctx, "mail: too many sends in flight; "+what+" dropped", "limit", maxMailInFlight)
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		defer func() { <-s.mailSlots }()
		ctx, cancel := context.WithTimeout(ctx, mailTimeout)
		defer cancel()
		if err := s.mailer.Send(ctx, msg); err != nil {
			s.log.ErrorContext(ctx, "send "+what, "err", err)
		}
	}()
}

// DrainMail waits until the mail sent in the background has gone out (or
// failed), or until ctx is done. Call it on shutdown after the HTTP server
// has stopped accepting requests.
func (s *Server) DrainMail(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.mailWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s signInAPI) me(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Me(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, c, http.StatusOK, out)
}

func (s signInAPI) logout(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := member.SignOut(r.Context(), s.store, c, clientInfo(r)); err != nil {
		return err
	}
	http.SetCookie(w, auth.ClearCookie())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s signInAPI) logoutAll(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	n, err := member.SignOutEverywhere(r.Context(), s.store, c, clientInfo(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, auth.ClearCookie())
	writeJSON(w, http.StatusOK, map[string]int64{"sessions_revoked": n})
	return nil
}

type switchOrgRequest struct {
	OrganizationID uuid.UUID `json:"organization_id" format:"uuid"`
}

// switchOrg moves the session to another organization of the user. The
// claims of the next request are derived from the new membership.
func (s signInAPI) switchOrg(w http.ResponseWriter, r *http.Request, c rampart.Claims, req switchOrgRequest) error {
	if err := member.SwitchOrganization(r.Context(), s.store, c, req.OrganizationID, clientInfo(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s signInAPI) listSessions(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Sessions(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, map[string]any{"sessions": out, "current": c.SessionID})
}

func (s signInAPI) listAgents(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return respond(w, c, http.StatusOK, map[string]any{"agent_types": access.AgentTypesFor(c.Role), "scope": access.AgentScope(c.Role)})
}
