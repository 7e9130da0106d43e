package operator

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/store"
)

// organizationPages list the organizations with their kill-switch state
// (those switched off first). Changing an organization's switch stays
// with `rampart killswitch on|off --org` for now.
type organizationPages struct{ *site }

func (p organizationPages) register() {
	p.handle("GET /organizations", p.list)
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
