package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Operations is the platform's operational records: restore drills. They
// hold no tenant data (a drill describes a backup file and checks run on a
// scratch copy) and live on the service path only.
type Operations struct{ s *Store }

// Operations returns the operational records.
func (s *Store) Operations() Operations { return Operations{s} }

// From queries/operations.sql.
var (
	sqlInsertRestoreDrill = query("InsertRestoreDrill")
	sqlLastRestoreDrill   = query("LastRestoreDrill")
)

// DrillCheck is one check of a restore drill and its outcome.
type DrillCheck struct {
	Name   string `json:"name"` // archive, restore, migrations, rls-audit, audit-verify, row-counts, chain-heads
	OK     bool   `json:"ok"`
	Detail string `json:"detail"` // what was measured, or the first problem and the count of the others
}

// RestoreDrill is the record of one `rampart restore-drill` run.
type RestoreDrill struct {
	ID            int64        `json:"id"`
	RecordedAt    time.Time    `json:"recorded_at"`
	StartedAt     time.Time    `json:"started_at"`
	FinishedAt    time.Time    `json:"finished_at"`
	OK            bool         `json:"ok"`
	BackupFile    string       `json:"backup_file"`
	BackupTakenAt *time.Time   `json:"backup_taken_at,omitempty"` // nil when the manifest could not be read
	BackupSHA256  string       `json:"backup_sha256,omitempty"`   // the dump's, from the manifest
	BackupBytes   int64        `json:"backup_bytes"`
	SchemaVersion int32        `json:"schema_version"`
	RestoreTime   Millis       `json:"restore_ms"`
	TotalTime     Millis       `json:"total_ms"`
	TablesChecked int          `json:"tables_checked"`
	RowsChecked   int64        `json:"rows_checked"`
	FailedChecks  int          `json:"failed_checks"`
	Summary       string       `json:"summary"`
	Checks        []DrillCheck `json:"checks"`
	RunBy         string       `json:"run_by"`
}

// BackupAge is how old the backup was when the drill started (0 when unknown).
func (d RestoreDrill) BackupAge() time.Duration {
	if d.BackupTakenAt == nil {
		return 0
	}
	return d.StartedAt.Sub(*d.BackupTakenAt)
}

// Millis is a duration stored and shown in whole milliseconds.
type Millis time.Duration

// MarshalJSON writes the milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Duration(m).Milliseconds(), 10)), nil
}

// UnmarshalJSON reads milliseconds.
func (m *Millis) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(string(b), 10, 64)
	*m = Millis(time.Duration(n) * time.Millisecond)
	return err
}

const (
	maxDrillSummary = 2000
	maxDrillFile    = 1000
	maxDrillRunBy   = 200
	maxDrillDetail  = 2000
	maxDrillChecks  = 32
)

// validate checks a drill record before it is written.
func (d RestoreDrill) validate(op string) error {
	bad := func(field, rule string) error {
		return rampart.Errorf(op, rampart.KindInvalid, "restore drill %s: %s", field, rule)
	}
	switch {
	case d.StartedAt.IsZero() || d.FinishedAt.Before(d.StartedAt):
		return bad("started_at/finished_at", "the drill must start, and finish no earlier than it started")
	case strings.TrimSpace(d.Summary) == "" || len(d.Summary) > maxDrillSummary || !utf8.ValidString(d.Summary):
		return bad("summary", "1 to 2000 bytes of UTF-8")
	case strings.TrimSpace(d.BackupFile) == "" || len(d.BackupFile) > maxDrillFile || !utf8.ValidString(d.BackupFile):
		return bad("backup_file", "1 to 1000 bytes of UTF-8")
	case strings.TrimSpace(d.RunBy) == "" || len(d.RunBy) > maxDrillRunBy:
		return bad("run_by", "1 to 200 bytes")
	case d.BackupSHA256 != "" && !isHex64(d.BackupSHA256):
		return bad("backup_sha256", "64 lower-case hex digits or empty")
	case d.RestoreTime < 0 || d.TotalTime < 0 || d.BackupBytes < 0 || d.RowsChecked < 0 || d.TablesChecked < 0 || d.SchemaVersion < 0:
		return bad("times and counts", "none may be negative")
	case len(d.Checks) == 0 || len(d.Checks) > maxDrillChecks:
		return bad("checks", "1 to 32 checks")
	}
	failed := 0
	for _, c := range d.Checks {
		if c.Name == "" || len(c.Detail) > maxDrillDetail || !utf8.ValidString(c.Detail) {
			return bad("checks", "each check needs a name and at most 2000 bytes of UTF-8 detail")
		}
		if !c.OK {
			failed++
		}
	}
	if failed != d.FailedChecks || d.OK != (failed == 0) {
		return bad("ok", "must agree with the checks: ok only when none failed")
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// RecordRestoreDrill stores a drill's result on the audited service path:
// the row and its operations.restore_drill.recorded event commit together.
// FailedChecks is derived from Checks. Errors: invalid (a field and its
// rule), unavailable (no service login or audit key).
func (o Operations) RecordRestoreDrill(ctx context.Context, d RestoreDrill) (RestoreDrill, error) {
	const op = "store.RecordRestoreDrill"
	d.FailedChecks = 0
	for _, c := range d.Checks {
		if !c.OK {
			d.FailedChecks++
		}
	}
	if err := d.validate(op); err != nil {
		return d, err
	}
	checks, err := json.Marshal(d.Checks)
	if err != nil {
		return d, rampart.Wrap(op, rampart.KindInternal, err)
	}
	var out RestoreDrill
	err = o.s.asService(ctx, "record a restore drill", func(ctx context.Context, tx *txn) error {
		row := tx.queryRow(ctx, sqlInsertRestoreDrill, d.StartedAt, d.FinishedAt, d.OK, d.BackupFile, d.BackupTakenAt,
			d.BackupSHA256, d.BackupBytes, d.SchemaVersion, time.Duration(d.RestoreTime).Milliseconds(),
			time.Duration(d.TotalTime).Milliseconds(), d.TablesChecked, d.RowsChecked, d.FailedChecks, d.Summary, string(checks), d.RunBy)
		var err error
		if out, err = scanRestoreDrill(row); err != nil {
			return err
		}
		after := out
		after.Checks = nil // the row has them; the event keeps the verdict
		return tx.recordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: o.s.actor,
			Action: audit.ActionRestoreDrillRecorded, TargetType: "restore_drill", TargetID: strconv.FormatInt(out.ID, 10),
			Reason: d.Summary, After: snapshot(after),
			Metadata: metadata(map[string]any{"ok": out.OK, "failed_checks": out.FailedChecks, "restore_ms": time.Duration(out.RestoreTime).Milliseconds()})})
	})
	return out, classify(op, err)
}

// LastRestoreDrill returns the most recently recorded drill; ok is false
// when no drill has ever been recorded. It reads on the service path
// without an audit event of its own (a read of the platform's bookkeeping,
// as Periodic.Runs).
func (o Operations) LastRestoreDrill(ctx context.Context) (d RestoreDrill, ok bool, err error) {
	const op = "store.LastRestoreDrill"
	err = o.s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		var err error
		d, err = scanRestoreDrill(tx.queryRow(ctx, sqlLastRestoreDrill))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	return d, ok, classify(op, err)
}

func scanRestoreDrill(r pgx.Row) (RestoreDrill, error) {
	var d RestoreDrill
	var restoreMS, totalMS int64
	var checks []byte
	err := r.Scan(&d.ID, &d.RecordedAt, &d.StartedAt, &d.FinishedAt, &d.OK, &d.BackupFile, &d.BackupTakenAt, &d.BackupSHA256,
		&d.BackupBytes, &d.SchemaVersion, &restoreMS, &totalMS, &d.TablesChecked, &d.RowsChecked, &d.FailedChecks,
		&d.Summary, &checks, &d.RunBy)
	if err != nil {
		return d, err
	}
	d.RestoreTime = Millis(time.Duration(restoreMS) * time.Millisecond)
	d.TotalTime = Millis(time.Duration(totalMS) * time.Millisecond)
	if err := json.Unmarshal(checks, &d.Checks); err != nil {
		return d, err
	}
	return d, nil
}
