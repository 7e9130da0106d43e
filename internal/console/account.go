package console

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The account controls in every page's header: the organization switcher
// and "sign out everywhere" (signing out this browser is the public POST
// /auth/logout, which also works with an expired session).

func (s accountPages) register() {
	s.page("POST /account/organization", s.switchOrganization)
	s.page("POST /account/sign-out-everywhere", s.signOutEverywhere)
}

// switchOrganization makes another of the caller's organizations the
// session's (member.SwitchOrganization, as POST /api/auth/switch-org); an
// organization the caller does not belong to is a 404.
func (s accountPages) switchOrganization(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	id, err := parseUUID(v.Get("organization_id"))
	if err != nil {
		return rampart.Errorf("console.switchOrganization", rampart.KindNotFound, "not found")
	}
	if c.ViaToken() {
		return rampart.Errorf("console.switchOrganization", rampart.KindForbidden, "an API token belongs to one organization")
	}
	if err := member.SwitchOrganization(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/proposals", "switched")
}

// signOutEverywhere ends every session of the caller, this one included,
// and clears this browser's cookie.
func (s accountPages) signOutEverywhere(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if c.ViaToken() {
		return rampart.Errorf("console.signOutEverywhere", rampart.KindForbidden, "an API token has no sessions")
	}
	if _, err := member.SignOutEverywhere(r.Context(), s.store, c, edge.ClientInfo(r)); err != nil {
		return err
	}
	http.SetCookie(w, auth.ClearCookie())
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
