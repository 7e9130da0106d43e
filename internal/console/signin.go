package console

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/signin"
)

// The sign-in pages: a magic link's landing (GET /auth/link), its
// confirmation (GET and POST /auth/confirm), the sign-in form and the
// sign-out button.

// linkCookieName carries a magic-link token from the GET of the link to the
// POST of the confirmation page, so the token leaves the URL at once and
// a prefetcher's GET consumes nothing.
const linkCookieName = "__Host-rampart_link"

// openLink moves the token from the URL into a short-lived cookie and
// redirects to the confirmation page. Nothing is consumed by this GET.
func (s signinPages) openLink(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
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
func (s signinPages) confirmPage(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	d := pageData{Title: "Sign in to Rampart"}
	if ck, err := r.Cookie(linkCookieName); err == nil {
		d.HasLink = true
		if hash, err := auth.HashLinkToken(ck.Value); err == nil {
			email, ok, err := s.signin.LinkAccount(r.Context(), hash)
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
func (s signinPages) confirm(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	ck, err := r.Cookie(linkCookieName)
	http.SetCookie(w, linkCookie("", -1))
	if err != nil {
		return s.renderLinkProblem(w, r)
	}
	hash, err := auth.HashLinkToken(ck.Value)
	if err != nil {
		return s.renderLinkProblem(w, r)
	}
	ci := edge.ClientInfo(r)
	var signedIn *uuid.UUID
	if c := s.edge.SignedInUser(w, r); c != nil && !c.ViaToken() {
		signedIn = &c.UserID
	}
	ns, err := s.signin.Redeem(r.Context(), hash, signedIn, ci)
	if errors.Is(err, signin.ErrLinkInvalid) {
		return s.renderLinkProblem(w, r)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, s.sealer.Cookie(auth.SessionCookie{SessionID: ns.Session.ID, ExpiresAt: ns.Session.ExpiresAt}))
	if wantsJSON(r) {
		edge.WriteJSON(w, http.StatusOK, map[string]any{"user": ns.User, "organization_id": ns.Session.ActiveOrganizationID,
			"session_expires_at": ns.Session.ExpiresAt})
		return nil
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// renderLinkProblem answers every failed link the same way: which check
// failed (unknown, expired, replayed, revoked, another user's) is in the
// audit log, not in the answer.
func (s signinPages) renderLinkProblem(w http.ResponseWriter, r *http.Request) error {
	err := rampart.Errorf("console.confirm", rampart.KindUnauthenticated, "this sign-in link is invalid, expired or already used")
	if wantsJSON(r) {
		return err
	}
	return renderPage(w, r, http.StatusUnauthorized, "link-problem", pageData{Title: "Link not valid"})
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// loginForm is the console's sign-in form: it mails a link and shows the
// same page, after the same work, whether or not the address belongs to a
// member (signin: the same use case as POST /api/auth/login-link).
func (s signinPages) loginForm(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return renderPage(w, r, http.StatusBadRequest, "login-sent", pageData{Title: "Sign in", Error: "The form could not be read."})
	}
	email, err := rampart.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		return renderPage(w, r, http.StatusBadRequest, "login-sent", pageData{Title: "Sign in", Error: "Enter a plain address like name@example.com."})
	}
	start, err := s.signin.RequestLoginLink(r.Context(), email, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	defer start() // after the answer
	return renderPage(w, r, http.StatusOK, "login-sent", pageData{Title: "Check your email", Demo: s.demoFor(r)})
}

// logoutForm signs the browser out (console button).
func (s signinPages) logoutForm(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	if c := s.edge.SignedInUser(w, r); c != nil && !c.ViaToken() {
		if err := member.SignOut(r.Context(), s.store, *c, edge.ClientInfo(r)); err != nil {
			return err
		}
	}
	http.SetCookie(w, auth.ClearCookie())
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
