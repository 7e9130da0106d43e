package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The sign-up modes (RAMPART_SIGNUP): who may create an organization.
const (
	SignupOperator = "operator" // only operators (`rampart org create`)
	SignupInvite   = "invite"   // also whoever an operator sent a sign-up link
	SignupOpen     = "open"     // also anyone who confirms their address
)

type signupRequest struct {
	Email            string `json:"email" format:"email" minLength:"3" maxLength:"254"`
	OrganizationName string `json:"organization_name" minLength:"1" maxLength:"200" doc:"the new organization's name; you become its admin"`
}

// requestSignup mails a confirmation link that creates a new organization
// with the address's owner as admin (open sign-up). The answer is the same
// whether or not a link was sent (an address with too many live links
// gets none), so it tells nothing about who uses Rampart. With sign-up
// closed the answer says so and how to get an organization.
func (s signInAPI) requestSignup(w http.ResponseWriter, r *http.Request, req signupRequest) error {
	const op = "api.signup"
	switch s.signup {
	case SignupOpen:
	case SignupInvite:
		return rampart.Errorf(op, rampart.KindForbidden, "sign-up on this server is by invitation: ask its operator for a sign-up link")
	default:
		return rampart.Errorf(op, rampart.KindForbidden, "sign-up on this server is closed: its operator creates organizations")
	}
	email, err := rampart.NormalizeEmail(req.Email)
	if err != nil {
		return fieldError("email", "must be a plain address like name@example.com")
	}
	if err := rampart.ValidateOrganization(req.OrganizationName, rampart.SlugFrom(req.OrganizationName)); err != nil {
		return fieldError("organization_name", "%s", rampart.ErrorMessage(err))
	}
	// The link row is written only while the address holds fewer than
	// three live links: that work happens after the answer, so neither
	// the answer nor its timing tells whether a sign-up is pending.
	sreq, ci := store.SignupRequest{Email: email, OrganizationName: req.OrganizationName}, clientInfo(r)
	start, err := s.reserveBackground(r.Context(), op, "sign-up link", func(ctx context.Context) {
		if _, err := s.createSignupLink(ctx, sreq, ci); err != nil {
			s.log.ErrorContext(ctx, "create a sign-up link", "err", err)
		}
	})
	if err != nil {
		return err
	}
	defer start() // after the answer
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "A confirmation link is on its way to the address; the organization is created when it is opened."})
	return nil
}

// createSignupLink stores a sign-up link and mails it; it runs after the
// answer (requestSignup). It returns the link, or "" when none was
// created (too many live links for the address).
func (s signInAPI) createSignupLink(ctx context.Context, req store.SignupRequest, ci store.ClientInfo) (string, error) {
	token, hash := auth.NewLinkToken()
	ok, err := s.store.Auth().RequestSignup(ctx, req, hash, ci)
	if err != nil || !ok {
		return "", err
	}
	link := s.linkURL(token)
	return link, s.mailer.Send(ctx, SignupMessage(req, link))
}

// SignupMessage is the mail that carries a sign-up link.
func SignupMessage(req store.SignupRequest, link string) mail.Message {
	// A self-service request's organization name is the requester's text:
	// it stays out of the mail, so nobody can use it to put their words in
	// a message sent by this server to any address.
	valid := "1 hour"
	intro := "Someone (we hope you) asked to create a new organization on Rampart with this address."
	if req.InvitedBy != "" {
		valid = "72 hours"
		intro = "You are invited to create the organization \"" + req.OrganizationName + "\" on Rampart."
	}
	return mail.Message{To: req.Email, Subject: "Confirm your new Rampart organization",
		Text: intro + "\n\nOpen this link within " + valid + " to create it and become its admin:\n\n" + link +
			"\n\nIf you did not ask for it, ignore this message: nothing is created until the link is opened."}
}

// LinkURL is the magic link for token on the server at base.
func LinkURL(base, token string) string {
	return base + "/auth/link?token=" + url.QueryEscape(token)
}

// WelcomeMessage is the mail to the first admin of an organization an
// operator created, with a sign-in link; base is where to ask for more.
func WelcomeMessage(org rampart.Organization, email, link, base string) mail.Message {
	return mail.Message{To: email, Subject: "Your Rampart organization is ready",
		Text: "You are the admin of \"" + org.Name + "\" on Rampart.\n\nSign in within 10 minutes with this link:\n\n" + link +
			"\n\nLater, ask for a new sign-in link at " + base + "/ with this address."}
}

// signupPolicy is which sign-up links redeem under the server's mode.
func (s signInAPI) signupPolicy() store.SignupPolicy {
	switch s.signup {
	case SignupOpen:
		return store.SignupAll
	case SignupInvite:
		return store.SignupInvitedOnly
	}
	return store.SignupNone
}
