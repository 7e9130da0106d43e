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
	// One round trip: the whole read-only transaction is one pipelined
	// batch (the watcher re-reads it on every process, periodically).
	err := s.oneBatchTx(ctx, sqlBeginReadOnly, func(b *pgx.Batch) {
		b.Queue(sqlKillSwitchState).Query(func(rows pgx.Rows) error {
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
			return rows.Err()
		})
		b.Queue(sqlNow).QueryRow(func(row pgx.Row) error { return row.Scan(&st.Read) })
	})
	if err != nil {
		return st, classify(op, err)
	}
	return st, nil
}

// Get reads the tenant's own organization switch (off when never set).
func (tx KillSwitchTx) Get(ctx context.Context) (rampart.KillSwitch, error) {
	return tx.orgKill(ctx, "store.OrgKillSwitch", tx.tc.OrganizationID)
}

// Global reads the platform-wide switch.
func (tx KillSwitchTx) Global(ctx context.Context) (rampart.KillSwitch, error) {
	return tx.globalKill(ctx)
}

// Set turns the tenant's organization AI kill switch on or off (admins
// only, also by policy). A switch the platform operator locked stays on.
func (tx KillSwitchTx) Set(ctx context.Context, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
	const op = "store.SetOrgKillSwitch"
	if tx.tc.Role != rampart.RoleAdmin {
		return rampart.KillSwitch{}, rampart.Errorf(op, rampart.KindForbidden, "only an admin can change the organization's kill switch")
	}
	return tx.setOrgKill(ctx, op, tx.tc.OrganizationID, sqlSetOrgKill, active, reason, changedBy)
}

// SetOrg turns orgID's AI kill switch on or off as the platform operator
// (the CLI): switching it on locks it against the organization's admins.
func (tx KillSwitchesTx) SetOrg(ctx context.Context, orgID uuid.UUID, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
	return tx.setOrgKill(ctx, "store.SetOrgKillSwitch", orgID, sqlSetOrgKillPlatform, active, reason, changedBy)
}

// orgKill reads orgID's switch (off when never set).
func (tx *txn) orgKill(ctx context.Context, op string, orgID uuid.UUID) (rampart.KillSwitch, error) {
	ks, err := scanOrgKill(tx.queryRow(ctx, sqlOrgKillSwitch, orgID))
	if rampart.ErrorKind(classify(op, err)) == rampart.KindNotFound {
		return rampart.KillSwitch{Scope: "organization", OrganizationID: &orgID}, nil
	}
	return ks, classify(op, err)
}

func (tx *txn) setOrgKill(ctx context.Context, op string, orgID uuid.UUID, query string, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
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
	return after, tx.recordAudit(ctx, tx.userEvent(ev))
}

// Global reads the platform-wide switch.
func (tx KillSwitchesTx) Global(ctx context.Context) (rampart.KillSwitch, error) {
	return tx.globalKill(ctx)
}

func (tx *txn) globalKill(ctx context.Context) (rampart.KillSwitch, error) {
	ks := rampart.KillSwitch{Scope: "global"}
	err := tx.queryRow(ctx, sqlGlobalKill).Scan(&ks.Active, &ks.Reason, &ks.ChangedBy, &ks.ChangedAt)
	return ks, classify("store.GlobalKillSwitch", err)
}

// SetGlobal turns the platform-wide AI kill switch on or off (service
// path only: platform operators through the CLI).
func (tx KillSwitchesTx) SetGlobal(ctx context.Context, active bool, reason, changedBy string) (rampart.KillSwitch, error) {
	const op = "store.SetGlobalKillSwitch"
	reason, err := rampart.ValidateReason(reason)
	if err != nil {
		return rampart.KillSwitch{}, err
	}
	before, err := tx.globalKill(ctx)
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
	return after, tx.recordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: changedBy, Action: action,
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

// Org reads any organization's switch.
func (tx KillSwitchesTx) Org(ctx context.Context, orgID uuid.UUID) (rampart.KillSwitch, error) {
	return tx.orgKill(ctx, "store.OrgKillSwitchOf", orgID)
}

// From queries/killswitch.sql.
var (
	sqlGlobalKillHistory = query("GlobalKillHistory")
	sqlOrgKillSwitches   = query("OrgKillSwitches")
)

// KillSwitchChange is one change of the global switch, from the audit log.
type KillSwitchChange struct {
	At     time.Time `json:"at"`
	Active bool      `json:"active"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// GlobalHistory lists the global switch's last changes (at most limit,
// 1 to 500), newest first.
func (tx KillSwitchesTx) GlobalHistory(ctx context.Context, limit int) ([]KillSwitchChange, error) {
	const op = "store.GlobalKillSwitchHistory"
	if limit < 1 || limit > 500 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "limit: 1 to 500")
	}
	rows, err := tx.query(ctx, sqlGlobalKillHistory, limit)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (KillSwitchChange, error) {
		var c KillSwitchChange
		var by, reason *string
		err := r.Scan(&c.At, &c.Active, &by, &reason)
		if by != nil {
			c.By = *by
		}
		if reason != nil {
			c.Reason = *reason
		}
		return c, err
	})
	return out, classify(op, err)
}

// OrgKillSwitch is an organization and its switch.
type OrgKillSwitch struct {
	Organization rampart.Organization `json:"organization"`
	Switch       rampart.KillSwitch   `json:"switch"`
}

// Organizations lists every organization with its switch (off when never
// set), those switched off first; at most limit (1 to 5000).
func (tx KillSwitchesTx) Organizations(ctx context.Context, limit int) ([]OrgKillSwitch, error) {
	const op = "store.OrgKillSwitches"
	if limit < 1 || limit > 5000 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "limit: 1 to 5000")
	}
	rows, err := tx.query(ctx, sqlOrgKillSwitches, limit)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrgKillSwitch, error) {
		var o OrgKillSwitch
		var at *time.Time
		err := r.Scan(&o.Organization.ID, &o.Organization.Name, &o.Organization.Slug, &o.Switch.Active, &o.Switch.Reason,
			&o.Switch.ChangedBy, &at, &o.Switch.PlatformLocked)
		o.Switch.Scope = "organization"
		id := o.Organization.ID
		o.Switch.OrganizationID = &id
		if at != nil {
			o.Switch.ChangedAt = *at
		}
		return o, err
	})
	return out, classify(op, err)
}
