package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// KillSwitchChannel is the NOTIFY channel of every kill-switch change
// (global, organization, job); triggers in migration 005 send on it.
const KillSwitchChannel = "rampart_killswitch"

// From queries/killswitch.sql.
var (
	sqlKillSwitchState    = query("KillSwitchState")
	sqlOrgKillSwitch      = query("OrgKillSwitch")
	sqlSetOrgKill         = query("SetOrgKill")
	sqlSetOrgKillPlatform = query("SetOrgKillPlatform")
	sqlGlobalKill         = query("GlobalKill")
	sqlSetGlobalKill      = query("SetGlobalKill")
)

// KillState is the whole kill-switch state a process holds in memory.
type KillState struct {
	Global KillSwitchLevel
	// Orgs holds the organizations whose switch is on.
	Orgs map[uuid.UUID]time.Time
	Read time.Time // when the database answered
}

// KillSwitchLevel is the global level's state.
type KillSwitchLevel struct {
	Active    bool
	Reason    string
	ChangedAt time.Time
}

// KillSwitchState reads the state of every level through the narrow
// killswitch_state() function (organization ids, never their reasons).
func (s *Store) KillSwitchState(ctx context.Context) (KillState, error) {
	const op = "store.KillSwitchState"
	st := KillState{Orgs: map[uuid.UUID]time.Time{}}
	err := s.readOnly(ctx, func(ctx context.Context, tx *Tx) error {
		rows, err := tx.query(ctx, sqlKillSwitchState)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var scope, reason string
			var org *uuid.UUID
			var active bool
			var at time.Time
			if err := rows.Scan(&scope, &org, &active, &reason, &at); err != nil {
				return err
			}
			switch {
			case scope == "global":
				st.Global = KillSwitchLevel{Active: active, Reason: reason, ChangedAt: at}
			case org != nil && active:
				st.Orgs[*org] = at
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.queryRow(ctx, "SELECT now()").Scan(&st.Read)
	})
	if err != nil {
		return st, classify(op, err)
	}
	return st, nil
}

// OrgKillSwitch reads the tenant's own organization switch (off when never set).
func (tx KillSwitchesTx) OrgKillSwitch(ctx context.Context) (rampart.KillSwitch, error) {
	const op = "store.OrgKillSwitch"
	c, err := tx.tenant(op)
	if err != nil {
		return rampart.KillSwitch{}, err
	}
	ks, err := scanOrgKill(tx.queryRow(ctx, sqlOrgKillSwitch, c.OrganizationID))
	if rampart.ErrorKind(classify(op, err)) == rampart.KindNotFound {
		org := c.OrganizationID
		return rampart.KillSwitch{Scope: "organization", OrganizationID: &org}, nil
	}
	return ks, classify(op, err)
}

// SetOrgKillSwitch turns an organization's AI kill switch on or off. In a
// tenant transaction it acts on the caller's organization (admins only,
// also by policy); on the service path (the CLI) on orgID.
func (tx KillSwitchesTx) SetOrgKillSwitch(ctx context.Context, orgID uuid.UUID, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
	const op = "store.SetOrgKillSwitch"
	query := sqlSetOrgKillPlatform
	if c, ok := tx.Claims(); ok {
		orgID, query = c.OrganizationID, sqlSetOrgKill
		if c.Role != rampart.RoleAdmin {
			return rampart.KillSwitch{}, rampart.Errorf(op, rampart.KindForbidden, "only an admin can change the organization's kill switch")
		}
	}
	reason, err := rampart.ValidateReason(reason)
	if err != nil {
		return rampart.KillSwitch{}, err
	}
	before, err := scanOrgKill(tx.queryRow(ctx, sqlOrgKillSwitch, orgID))
	if err != nil && rampart.ErrorKind(classify(op, err)) != rampart.KindNotFound {
		return before, classify(op, err)
	}
	if before.PlatformLocked && query == sqlSetOrgKill {
		return before, rampart.Errorf(op, rampart.KindForbidden, "the platform operator switched AI off for this organization (%s); only the operator can switch it back on", before.Reason)
	}
	after, err := scanOrgKill(tx.queryRow(ctx, query, orgID, active, reason, changedBy))
	if err != nil {
		return after, classify(op, err)
	}
	action := audit.ActionKillSwitchDeactivated
	if active {
		action = audit.ActionKillSwitchActivated
	}
	ev := audit.Event{OrganizationID: &orgID, Action: action, TargetType: "kill_switch", TargetID: "organization:" + orgID.String(),
		Reason: reason, After: snapshot(after), Metadata: metadata(map[string]any{"scope": "organization"})}
	if before.OrganizationID != nil {
		ev.Before = snapshot(before)
	}
	return after, tx.RecordAudit(ctx, tx.userEvent(ev))
}

// GlobalKillSwitch reads the platform-wide switch.
func (tx KillSwitchesTx) GlobalKillSwitch(ctx context.Context) (rampart.KillSwitch, error) {
	ks := rampart.KillSwitch{Scope: "global"}
	err := tx.queryRow(ctx, sqlGlobalKill).Scan(&ks.Active, &ks.Reason, &ks.ChangedBy, &ks.ChangedAt)
	return ks, classify("store.GlobalKillSwitch", err)
}

// SetGlobalKillSwitch turns the platform-wide AI kill switch on or off
// (service path only: platform operators through the CLI).
func (tx KillSwitchesTx) SetGlobalKillSwitch(ctx context.Context, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
	const op = "store.SetGlobalKillSwitch"
	if _, ok := tx.Claims(); ok {
		return rampart.KillSwitch{}, rampart.Errorf(op, rampart.KindForbidden, "the global kill switch is a platform action")
	}
	reason, err := rampart.ValidateReason(reason)
	if err != nil {
		return rampart.KillSwitch{}, err
	}
	before, err := tx.GlobalKillSwitch(ctx)
	if err != nil {
		return before, err
	}
	after := rampart.KillSwitch{Scope: "global"}
	if err := tx.queryRow(ctx, sqlSetGlobalKill, active, reason, changedBy).Scan(&after.Active, &after.Reason, &after.ChangedBy, &after.ChangedAt); err != nil {
		return after, classify(op, err)
	}
	action := audit.ActionKillSwitchDeactivated
	if active {
		action = audit.ActionKillSwitchActivated
	}
	return after, tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: changedBy, Action: action,
		TargetType: "kill_switch", TargetID: "global", Reason: reason, Before: snapshot(before), After: snapshot(after),
		Metadata: metadata(map[string]any{"scope": "global"})})
}

func scanOrgKill(r pgx.Row) (rampart.KillSwitch, error) {
	ks := rampart.KillSwitch{Scope: "organization"}
	var org uuid.UUID
	err := r.Scan(&org, &ks.Active, &ks.Reason, &ks.ChangedBy, &ks.ChangedAt, &ks.PlatformLocked)
	if err == nil {
		ks.OrganizationID = &org
	}
	return ks, err
}

// ListenKillSwitch holds a dedicated connection (the runtime login, not
// from the pool) that LISTENs on KillSwitchChannel. It calls connected once
// listening (the caller re-reads the whole state then, covering anything
// missed while disconnected) and notify for each notification. It returns
// when ctx ends or the connection fails; the caller reconnects.
func (s *Store) ListenKillSwitch(ctx context.Context, connected func(), notify func(payload string)) error {
	const op = "store.ListenKillSwitch"
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "rampart-killswitch"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return rampart.Wrap(op, rampart.KindUnavailable, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+KillSwitchChannel); err != nil {
		return rampart.Wrap(op, rampart.KindUnavailable, err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return rampart.Wrap(op, rampart.KindUnavailable, err)
		}
		notify(n.Payload)
	}
}

// OrgKillSwitchOf reads an organization's switch on the service path.
func (tx KillSwitchesTx) OrgKillSwitchOf(ctx context.Context, orgID uuid.UUID) (rampart.KillSwitch, error) {
	const op = "store.OrgKillSwitchOf"
	ks, err := scanOrgKill(tx.queryRow(ctx, sqlOrgKillSwitch, orgID))
	if rampart.ErrorKind(classify(op, err)) == rampart.KindNotFound {
		return rampart.KillSwitch{Scope: "organization", OrganizationID: &orgID}, nil
	}
	return ks, classify(op, err)
}
