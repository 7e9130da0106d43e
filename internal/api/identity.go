package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// signInAPI is sign-in and the signed-in principal: magic links and their
// confirmation, sign-up, sessions, organization switching and /api/me.
type signInAPI struct{ *Server }

func (s signInAPI) routes() {
	publicJSON(s.Server, "POST /api/auth/login-link", s.requestLoginLink)
	publicJSON(s.Server, "POST /api/auth/signup", s.requestSignup)
	s.public("GET /auth/link", s.openLink)
	s.public("GET /auth/confirm", s.confirmPage)
	s.public("POST /auth/confirm", s.confirm)
	s.public("POST /auth/login", s.loginForm)
	s.public("POST /auth/logout", s.logoutForm)
	s.authed("GET /api/me", s.me)
	s.authed("POST /api/auth/logout", s.logout)
	s.authed("POST /api/auth/logout-all", s.logoutAll)
	authedJSON(s.Server, "POST /api/auth/switch-org", s.switchOrg)
	s.authed("GET /api/sessions", s.listSessions)
	s.authed("GET /api/agents", s.listAgents)
}

// linkCookieName carries a magic-link token from the GET of the link to the
// POST of the confirmation page, so the token leaves the URL at once and
// a prefetcher's GET consumes nothing.
const linkCookieName = "__Host-rampart_link"

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

// openLink moves the token from the URL into a short-lived cookie and
// redirects to the confirmation page. Nothing is consumed by this GET.
func (s signInAPI) openLink(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.URL.Query().Get("token")
	if _, err := auth.HashLinkToken(token); err != nil {
		return s.renderLinkProblem(w, r)
	}
	http.SetCookie(w, linkCookie(token, 900))
	http.Redirect(w, r, "/auth/confirm", http.StatusSeeOther)
	return nil
}

// linkCookie is the link cookie (maxAge < 0 deletes it). SameSite=Lax, not
// Strict: the link is opened from a mail client, a cross-site navigation,
// and the cookie must survive the redirect that follows. The POST that
// consumes it is guarded by the cross-origin protection, and a GET
// consumes nothing.
func linkCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: linkCookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// confirmPage shows the button that redeems the link, and which account
// the link signs into (masked), so a person tricked into opening someone
// else's link sees it is not theirs. The lookup only reads: nothing is
// consumed or written by this GET.
func (s signInAPI) confirmPage(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	d := pageData{Title: "Sign in to Rampart"}
	if ck, err := r.Cookie(linkCookieName); err == nil {
		d.HasLink = true
		if hash, err := auth.HashLinkToken(ck.Value); err == nil {
			email, ok, err := s.store.Auth().LinkAccount(r.Context(), hash)
			if err != nil {
				s.log.ErrorContext(r.Context(), "look up the account of a magic link", "err", err)
			} else if ok {
				d.Account = maskEmail(email)
			}
		}
	}
	return renderPage(w, r, http.StatusOK, "confirm", d)
}

// maskEmail shows enough of an address to recognise it and no more:
// "alice@acme.example" becomes "a•••@acme.example".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "•••@" + domain
}

// confirm redeems the link held in the link cookie — an invite, a sign-in
// link or (unless sign-up is operator-only) a sign-up link — and starts a
// session.
func (s signInAPI) confirm(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	ck, err := r.Cookie(linkCookieName)
	http.SetCookie(w, linkCookie("", -1))
	if err != nil {
		return s.renderLinkProblem(w, r)
	}
	hash, err := auth.HashLinkToken(ck.Value)
	if err != nil {
		return s.renderLinkProblem(w, r)
	}
	ci := clientInfo(r)
	var signedIn *uuid.UUID
	if c := s.signedInUser(w, r); c != nil && !c.ViaToken() {
		signedIn = &c.UserID
	}
	ns, err := s.store.Auth().RedeemMagicLink(r.Context(), hash, signedIn, s.signupPolicy(), ci)
	var rf *store.RedeemFailure
	if errors.As(err, &rf) {
		if aerr := s.store.Audit().RecordPlatformEvent(r.Context(), rf.Event); aerr != nil {
			s.log.ErrorContext(r.Context(), "audit failed redemption", "err", aerr)
		}
		return s.renderLinkProblem(w, r)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sealer.Cookie(auth.SessionCookie{SessionID: ns.Session.ID, ExpiresAt: ns.Session.ExpiresAt}))
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"user": ns.User, "organization_id": ns.Session.ActiveOrganizationID,
			"session_expires_at": ns.Session.ExpiresAt})
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// renderLinkProblem answers every failed link the same way: which check
// failed (unknown, expired, replayed, revoked, another user's) is in the
// audit log, not in the answer.
func (s signInAPI) renderLinkProblem(w http.ResponseWriter, r *http.Request) error {
	err := rampart.Errorf("api.confirm", rampart.KindUnauthenticated, "this sign-in link is invalid, expired or already used")
	if wantsJSON(r) {
		return err
	}
	return renderPage(w, r, http.StatusUnauthorized, "link-problem", pageData{Title: "Link not valid"})
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// meResponse is the profile /api/me answers (the sign-in pages show it too).
type meResponse = member.Profile

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

// loginForm is the console's sign-in form: it mails a link and shows the
// same page, after the same work, whether or not the address belongs to a
// member (reserveLoginLink).
func (s signInAPI) loginForm(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return renderPage(w, r, http.StatusBadRequest, "login-sent", pageData{Title: "Sign in", Error: "The form could not be read."})
	}
	email, err := rampart.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		return renderPage(w, r, http.StatusBadRequest, "login-sent", pageData{Title: "Sign in", Error: "Enter a plain address like name@example.com."})
	}
	start, err := s.reserveLoginLink(r.Context(), email, clientInfo(r))
	if err != nil {
		return err
	}
	defer start() // after the answer
	return renderPage(w, r, http.StatusOK, "login-sent", pageData{Title: "Check your email", Demo: s.demoFor(r)})
}

// logoutForm signs the browser out (console button).
func (s signInAPI) logoutForm(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	if c := s.signedInUser(w, r); c != nil && !c.ViaToken() {
		err := s.store.InTenant(r.Context(), *c, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.Account().RevokeSession(ctx, c.SessionID, "logout", clientInfo(r))
		})
		if err != nil {
			return err
		}
	}
	http.SetCookie(w, auth.ClearCookie())
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
