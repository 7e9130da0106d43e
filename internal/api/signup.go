package api

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/edge"
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
	start, err := s.signin.RequestSignup(r.Context(), req.Email, req.OrganizationName, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	defer start() // after the answer
	edge.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "A confirmation link is on its way to the address; the organization is created when it is opened."})
	return nil
}
