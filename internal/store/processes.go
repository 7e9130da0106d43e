package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Processes is the registry of running serve and worker processes and
// their kill-switch acknowledgements (migration 025, decision 0027):
// platform bookkeeping on the service path. Registering and
// acknowledging are audited; the heartbeat and the clean stop are
// bookkeeping without an event of their own (as periodic claims are: a
// heartbeat every few seconds would otherwise feed the log forever).
type Processes struct{ s *Store }

// Processes returns the process registry.
func (s *Store) Processes() Processes { return Processes{s} }

// From queries/processes.sql.
var (
	sqlRegisterProcess  = query("RegisterProcess")
	sqlPruneProcesses   = query("PruneProcesses")
	sqlPruneGlobalAcks  = query("PruneGlobalAcks")
	sqlPruneOrgAcks     = query("PruneOrgAcks")
	sqlHeartbeatProcess = query("HeartbeatProcess")
	sqlStopProcess      = query("StopProcess")
	sqlRecordGlobalAck  = query("RecordGlobalAck")
	sqlRecordOrgAck     = query("RecordOrgAck")
	sqlGlobalSwitchAcks = query("GlobalSwitchAcks")
	sqlOrgSwitchAcks    = query("OrgSwitchAcks")
)

// Process is one run of `rampart serve` or `rampart worker`.
type Process struct {
	ID       uuid.UUID `json:"id"`
	Role     string    `json:"role"` // serve or worker
	Hostname string    `json:"hostname"`
	PID      int       `json:"pid"`
	Version  string    `json:"version"`
	// StartedAt, LastSeen and StateLoadedAt are database times.
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	// StateLoadedAt is when the process first held the whole kill-switch
	// state: a switch changed before it was in that first read.
	StateLoadedAt *time.Time `json:"state_loaded_at,omitempty"`
	// Stale: the heartbeat is older than the bound the reader gave.
	Stale bool `json:"stale"`
}

// SwitchAck is one process's acknowledgement of one change of a switch.
type SwitchAck struct {
	// OrganizationID is nil for the global switch.
	OrganizationID *uuid.UUID `json:"organization_id,omitempty"`
	// ChangedAt is the switch's change time (its version); zero for an
	// organization's switch seen off (the store looks it up).
	ChangedAt time.Time `json:"switch_changed_at"`
	Active    bool      `json:"active"`
	// InstalledAt is when the process installed the state (its clock).
	InstalledAt   time.Time `json:"installed_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	JobsStopped   int       `json:"jobs_stopped"`
	StreamsClosed int       `json:"streams_closed"`
}

// ProcessAck is a live process and its acknowledgement of one change of a
// switch (nil when it has recorded none).
type ProcessAck struct {
	Process Process    `json:"process"`
	Ack     *SwitchAck `json:"ack,omitempty"`
}

// Acknowledged reports whether the process holds the switch's change at
// changedAt: it recorded an acknowledgement, or its first whole read came
// after the change.
func (p ProcessAck) Acknowledged(changedAt time.Time) bool {
	return p.Ack != nil || (p.Process.StateLoadedAt != nil && !p.Process.StateLoadedAt.Before(changedAt))
}

// maxAcksPerTx bounds one RecordAcks transaction; more are written in
// several.
const maxAcksPerTx = 200

func (p Process) validate(op string) error {
	bad := func(field, rule string) error {
		return rampart.Errorf(op, rampart.KindInvalid, "process %s: %s", field, rule)
	}
	switch {
	case p.ID == uuid.Nil:
		return bad("id", "required")
	case p.Role != "serve" && p.Role != "worker":
		return bad("role", "serve or worker")
	case strings.TrimSpace(p.Hostname) == "" || len(p.Hostname) > 255 || !utf8.ValidString(p.Hostname):
		return bad("hostname", "1 to 255 bytes of UTF-8")
	case p.PID <= 0:
		return bad("pid", "positive")
	case strings.TrimSpace(p.Version) == "" || len(p.Version) > 100 || !utf8.ValidString(p.Version):
		return bad("version", "1 to 100 bytes of UTF-8")
	}
	return nil
}

// Register records a starting process (audited: operations.process.started)
// and prunes, in the same transaction, the processes stopped or unseen for
// longer than retention and the acknowledgements older than it (except
// those of each switch's current change). It returns the process's start
// time and how many processes were pruned.
func (ps Processes) Register(ctx context.Context, p Process, retention time.Duration) (started time.Time, pruned int64, err error) {
	const op = "store.RegisterProcess"
	if err := p.validate(op); err != nil {
		return started, 0, err
	}
	if retention < time.Minute {
		return started, 0, rampart.Errorf(op, rampart.KindInvalid, "process retention must be at least a minute")
	}
	err = ps.s.asService(ctx, "register a running process", func(ctx context.Context, tx *txn) error {
		ret := retention.String()
		tag, err := tx.exec(ctx, sqlPruneProcesses, ret)
		if err != nil {
			return err
		}
		pruned = tag.RowsAffected()
		if _, err := tx.exec(ctx, sqlPruneGlobalAcks, ret); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, sqlPruneOrgAcks, ret); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, sqlRegisterProcess, p.ID, p.Role, p.Hostname, p.PID, p.Version).Scan(&started); err != nil {
			return err
		}
		after := p
		after.StartedAt, after.LastSeen = started, started
		return tx.recordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: ps.s.actor,
			Action: audit.ActionProcessStarted, TargetType: "process", TargetID: p.ID.String(), After: snapshot(after),
			Metadata: metadata(map[string]any{"pruned_processes": pruned, "retention": ret})})
	})
	return started, pruned, classify(op, err)
}

// Heartbeat marks the process seen now and, once, when it first held the
// whole kill-switch state. ok is false when the process is not registered
// (pruned after a long pause, or stopped): the caller registers again.
func (ps Processes) Heartbeat(ctx context.Context, id uuid.UUID, stateLoadedAt *time.Time) (ok bool, err error) {
	const op = "store.HeartbeatProcess"
	err = ps.s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		tag, err := tx.exec(ctx, sqlHeartbeatProcess, id, stateLoadedAt)
		ok = tag.RowsAffected() == 1
		return err
	})
	return ok, classify(op, err)
}

// Stop marks the process stopped (a clean shutdown): it leaves the live
// list and is pruned after the retention.
func (ps Processes) Stop(ctx context.Context, id uuid.UUID) error {
	const op = "store.StopProcess"
	return classify(op, ps.s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		_, err := tx.exec(ctx, sqlStopProcess, id)
		return err
	}))
}

// RecordAcks records the process's acknowledgements, each with its audit
// event (killswitch.acknowledged; an organization's carries its id, so
// the organization's log shows it), in transactions of at most
// maxAcksPerTx. A second acknowledgement of the same change adds its
// counts to the first. written is how many of acks committed (the first
// ones), so a caller retries only the rest.
func (ps Processes) RecordAcks(ctx context.Context, id uuid.UUID, acks []SwitchAck) (written int, err error) {
	const op = "store.RecordKillSwitchAcks"
	for _, a := range acks {
		if a.JobsStopped < 0 || a.StreamsClosed < 0 || a.InstalledAt.IsZero() || (a.OrganizationID == nil && a.ChangedAt.IsZero()) {
			return 0, rampart.Errorf(op, rampart.KindInvalid, "acknowledgement: counts must not be negative, and it needs the install time and (global) the switch's change time")
		}
	}
	for len(acks) > 0 {
		n := min(len(acks), maxAcksPerTx)
		chunk := acks[:n]
		acks = acks[n:]
		err := ps.s.asService(ctx, "record kill-switch acknowledgements", func(ctx context.Context, tx *txn) error {
			for _, a := range chunk {
				var changed *time.Time
				if !a.ChangedAt.IsZero() {
					changed = &a.ChangedAt
				}
				var row pgx.Row
				scope, target := "global", "global"
				if a.OrganizationID == nil {
					row = tx.queryRow(ctx, sqlRecordGlobalAck, id, a.ChangedAt, a.Active, a.InstalledAt, a.JobsStopped, a.StreamsClosed)
				} else {
					scope, target = "organization", "organization:"+a.OrganizationID.String()
					row = tx.queryRow(ctx, sqlRecordOrgAck, *a.OrganizationID, changed, id, a.Active, a.InstalledAt, a.JobsStopped, a.StreamsClosed)
				}
				var at time.Time
				var jobs, streams int
				err := row.Scan(&at, &jobs, &streams)
				if errors.Is(err, pgx.ErrNoRows) {
					continue // the organization is gone
				}
				if err != nil {
					return err
				}
				meta := map[string]any{"scope": scope, "process_id": id, "switch_changed_at": at, "active": a.Active,
					"installed_at": a.InstalledAt, "jobs_stopped": a.JobsStopped, "streams_closed": a.StreamsClosed,
					"total_jobs_stopped": jobs, "total_streams_closed": streams}
				if err := tx.recordAudit(ctx, audit.Event{OrganizationID: a.OrganizationID, ActorType: audit.ActorService, ActorID: ps.s.actor,
					Action: audit.ActionKillSwitchAcknowledged, TargetType: "kill_switch", TargetID: target,
					Metadata: metadata(meta)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return written, classify(op, err)
		}
		written += n
	}
	return written, nil
}

// Acks lists every live process and its acknowledgement of the global
// switch's change at changedAt (orgID nil) or of orgID's switch's; a
// process whose heartbeat is older than staleAfter is flagged Stale.
func (tx KillSwitchesTx) Acks(ctx context.Context, orgID *uuid.UUID, changedAt time.Time, staleAfter time.Duration) ([]ProcessAck, error) {
	const op = "store.KillSwitchAcks"
	var rows pgx.Rows
	var err error
	if orgID == nil {
		rows, err = tx.query(ctx, sqlGlobalSwitchAcks, staleAfter.String(), changedAt)
	} else {
		rows, err = tx.query(ctx, sqlOrgSwitchAcks, staleAfter.String(), changedAt, *orgID)
	}
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProcessAck, error) {
		var pa ProcessAck
		p := &pa.Process
		var active *bool
		var installed, recorded *time.Time
		var jobs, streams *int
		if err := r.Scan(&p.ID, &p.Role, &p.Hostname, &p.PID, &p.Version, &p.StartedAt, &p.LastSeen, &p.StateLoadedAt, &p.Stale,
			&active, &installed, &recorded, &jobs, &streams); err != nil {
			return pa, err
		}
		if active != nil {
			pa.Ack = &SwitchAck{OrganizationID: orgID, ChangedAt: changedAt, Active: *active, InstalledAt: *installed, RecordedAt: *recorded,
				JobsStopped: *jobs, StreamsClosed: *streams}
		}
		return pa, nil
	})
	return out, classify(op, err)
}
