package signin

import (
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// LoginLinkMessage is the mail that carries a sign-in link.
func LoginLinkMessage(email, link string) mail.Message {
	return mail.Message{To: email, Subject: "Your Rampart sign-in link",
		Text: "Sign in to Rampart with this link within 10 minutes:\n\n" + link + "\n\nIf you did not ask for it, ignore this message."}
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

// WelcomeMessage is the mail to the first admin of an organization an
// operator created, with a sign-in link; base is where to ask for more.
func WelcomeMessage(org rampart.Organization, email, link, base string) mail.Message {
	return mail.Message{To: email, Subject: "Your Rampart organization is ready",
		Text: "You are the admin of \"" + org.Name + "\" on Rampart.\n\nSign in within 10 minutes with this link:\n\n" + link +
			"\n\nLater, ask for a new sign-in link at " + base + "/ with this address."}
}
