package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/periodic.sql.
var (
	sqlClaimPeriodic  = query("ClaimPeriodic")
	sqlFinishPeriodic = query("FinishPeriodic")
)

// PeriodicRun is the record of one task's latest run.
type PeriodicRun struct {
	Task           string     `json:"task"`
	LastStartedAt  time.Time  `json:"last_started_at"`
	LastFinishedAt *time.Time `json:"last_finished_at,omitempty"`
	LastResult     string     `json:"last_result,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	RunBy          string     `json:"run_by"`
	Runs           int64      `json:"runs"`
}

// Claim reports whether this process runs task now: true for
// exactly one caller across the cluster when the task's last run started
// at least minGap ago. by names the process (recorded). The claim is
// bookkeeping on the service path without an audit event of its own
// (sealing every few seconds would otherwise feed the log it seals); what
// a run changes is audited by the run.
func (p Periodic) Claim(ctx context.Context, task string, minGap time.Duration, by string) (bool, error) {
	s := p.s
	const op = "store.ClaimPeriodic"
	if minGap <= 0 {
		return false, rampart.Errorf(op, rampart.KindInvalid, "a periodic task needs a positive interval")
	}
	var runs int64
	err := s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		err := tx.queryRow(ctx, sqlClaimPeriodic, task, minGap.String(), by).Scan(&runs)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return false, classify(op, err)
	}
	return runs > 0, nil
}

// Finish records the end of a run this process claimed.
func (p Periodic) Finish(ctx context.Context, task, result string, runErr error) error {
	s := p.s
	const op = "store.FinishPeriodic"
	msg := ""
	if runErr != nil {
		msg = rampart.ErrorMessage(runErr)
	}
	return classify(op, s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		_, err := tx.exec(ctx, sqlFinishPeriodic, task, result, msg)
		return err
	}))
}

// sqlPeriodicRuns is in queries/periodic.sql.
var sqlPeriodicRuns = query("PeriodicRuns")

// Runs lists every task's latest run (operators, tests).
func (p Periodic) Runs(ctx context.Context) ([]PeriodicRun, error) {
	s := p.s
	const op = "store.PeriodicRuns"
	var out []PeriodicRun
	err := s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlPeriodicRuns)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PeriodicRun, error) {
			var p PeriodicRun
			return p, r.Scan(&p.Task, &p.LastStartedAt, &p.LastFinishedAt, &p.LastResult, &p.LastError, &p.RunBy, &p.Runs)
		})
		return err
	})
	return out, classify(op, err)
}

// bookkeepingTx runs fn as rampart_service without the service.invoked
// audit event of AsService: for the platform's own scheduling records,
// which hold no tenant data and change nothing anyone owns.
func (s *Store) bookkeepingTx(ctx context.Context, op string, fn func(context.Context, *txn) error) error {
	pool, b, err := s.serviceOpen(op)
	if err != nil {
		return err
	}
	return s.run(ctx, pool, op, b, nil, fn)
}
