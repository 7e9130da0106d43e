package operator

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"

	"github.com/rampart-dev/rampart/internal/store"
)

// organizationPages list the organizations with their kill-switch state
// (those switched off first). Changing an organization's switch stays
// with `rampart killswitch on|off --org` for now.
type organizationPages struct{ *site }

func (p organizationPages) register() {
	p.handle("GET /organizations", p.list)
	p.handle("GET /organizations/{id}", p.show)
}

// show is one organization's switch and each live process's
// acknowledgement of its latest change. A malformed or unknown id is 404.
func (p organizationPages) show(w http.ResponseWriter, r *http.Request) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return rampart.Errorf("operator.Organization", rampart.KindNotFound, "no such organization")
	}
	org, acks, err := p.opts.Backend.OrganizationKillSwitch(r.Context(), id)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "organization", org.Name, struct {
		Organization rampart.Organization
		Switch       killswitch.SwitchAcks
		Rows         []processRow
	}{org, acks, processRows(acks)})
	return nil
}

func (p organizationPages) list(w http.ResponseWriter, r *http.Request) error {
	orgs, err := p.opts.Backend.Organizations(r.Context())
	if err != nil {
		return err
	}
	off := 0
	for _, o := range orgs {
		if o.Switch.Active {
			off++
		}
	}
	p.render(w, r, http.StatusOK, "organizations", "Organizations", struct {
		Orgs []store.OrgKillSwitch
		Off  int
	}{orgs, off})
	return nil
}
