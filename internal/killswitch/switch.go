package killswitch

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The kill switch's use cases, orchestrated once for the API, the console
// and the CLI: change a level in the database (audited, NOTIFYing every
// process), then refresh this process's watcher before answering so the
// caller's next request already meets the new state.

// View is what a member sees of the switches that govern their
// organization.
type View struct {
	Global       Level              `json:"global"`
	Organization rampart.KillSwitch `json:"organization"`
	// Effective is what new AI requests of this organization meet now in
	// this process: "on" (allowed), "off" (a switch is on) or "unknown".
	Effective string `json:"effective"`
}

// Level is a switch as a member sees it (who changed the global switch is
// the operators' business).
type Level struct {
	Active bool   `json:"active"`
	Reason string `json:"reason"`
}

// Status reads the switches of the caller's organization; w may be nil
// (Effective is then "unknown").
func Status(ctx context.Context, st *store.Store, w *Watcher, c rampart.Claims) (View, error) {
	var v View
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		g, err := tx.KillSwitch().Global(ctx)
		if err != nil {
			return err
		}
		v.Global = Level{Active: g.Active, Reason: g.Reason}
		v.Organization, err = tx.KillSwitch().Get(ctx)
		return err
	})
	v.Effective = "unknown"
	if w != nil {
		switch err := w.Check(c.OrganizationID); {
		case err == nil:
			v.Effective = "on"
		case err != ErrStateUnknown:
			v.Effective = "off"
		}
	}
	return v, err
}

// SetOrganization turns the caller's organization switch on or off
// (admins; a reason is required). A switch the platform operator locked
// stays on.
func SetOrganization(ctx context.Context, st *store.Store, w *Watcher, c rampart.Claims, active bool, reason string) (View, error) {
	if err := access.Check(c, access.ActionOrgKillSwitch, access.Resource{Kind: access.KindOrganization}); err != nil {
		return View{}, err
	}
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := tx.KillSwitch().Set(ctx, active, reason, "user:"+c.UserID.String())
		return err
	})
	if err != nil {
		return View{}, err
	}
	refresh(ctx, w)
	return Status(ctx, st, w, c)
}

// The operators' use cases take the service transaction their caller
// opened (only commands may open one: an architecture rule) and the actor
// who acts, e.g. "cli:alice", recorded in the audit log.

// SetGlobal turns the platform-wide switch on or off.
func SetGlobal(ctx context.Context, tx *store.ServiceTx, actor string, active bool, reason string) (rampart.KillSwitch, error) {
	return tx.KillSwitches().SetGlobal(ctx, active, reason, actor)
}

// SetForOrganization turns orgID's switch on or off; switched on by an
// operator, it is locked against the organization's admins.
func SetForOrganization(ctx context.Context, tx *store.ServiceTx, actor string, orgID uuid.UUID, active bool, reason string) (rampart.KillSwitch, error) {
	return tx.KillSwitches().SetOrg(ctx, orgID, active, reason, actor)
}

// OperatorStatus reads the global switch and, with orgID, that
// organization's.
func OperatorStatus(ctx context.Context, tx *store.ServiceTx, orgID *uuid.UUID) (global rampart.KillSwitch, org *rampart.KillSwitch, err error) {
	if global, err = tx.KillSwitches().Global(ctx); err != nil || orgID == nil {
		return global, nil, err
	}
	ks, err := tx.KillSwitches().Org(ctx, *orgID)
	if err != nil {
		return global, nil, err
	}
	return global, &ks, nil
}

func refresh(ctx context.Context, w *Watcher) {
	if w != nil {
		_ = w.Refresh(ctx) // the NOTIFY reaches every process anyway
	}
}

// SwitchAcks is a switch's latest change and every live process's
// acknowledgement of it (decision 0027).
type SwitchAcks struct {
	Switch    rampart.KillSwitch `json:"switch"`
	Processes []store.ProcessAck `json:"processes"`
}

// Acknowledged counts the processes that hold the switch's latest change.
func (s SwitchAcks) Acknowledged() int {
	n := 0
	for _, p := range s.Processes {
		if p.Acknowledged(s.Switch.ChangedAt) {
			n++
		}
	}
	return n
}

// OperatorAcks reads the global switch and, with orgID, that
// organization's, each with the live processes and their
// acknowledgements of its latest change; a heartbeat older than
// staleAfter flags its process stale.
func OperatorAcks(ctx context.Context, tx *store.ServiceTx, orgID *uuid.UUID, staleAfter time.Duration) (global SwitchAcks, org *SwitchAcks, err error) {
	g, ks, err := OperatorStatus(ctx, tx, orgID)
	if err != nil {
		return global, nil, err
	}
	global.Switch = g
	if global.Processes, err = tx.KillSwitches().Acks(ctx, nil, g.ChangedAt, staleAfter); err != nil || ks == nil {
		return global, nil, err
	}
	org = &SwitchAcks{Switch: *ks}
	org.Processes, err = tx.KillSwitches().Acks(ctx, orgID, ks.ChangedAt, staleAfter)
	return global, org, err
}

// GlobalHistory lists the global switch's last changes (at most limit),
// newest first, from the audit log.
func GlobalHistory(ctx context.Context, tx *store.ServiceTx, limit int) ([]store.KillSwitchChange, error) {
	return tx.KillSwitches().GlobalHistory(ctx, limit)
}

// Organizations lists the organizations with their switches, those
// switched off first (at most limit).
func Organizations(ctx context.Context, tx *store.ServiceTx, limit int) ([]store.OrgKillSwitch, error) {
	return tx.KillSwitches().Organizations(ctx, limit)
}
