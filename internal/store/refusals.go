package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/refusals.sql.
var (
	sqlAddRateLimitRefusals   = query("AddRateLimitRefusals")
	sqlPruneRateLimitRefusals = query("PruneRateLimitRefusals")
	sqlRateLimitRefusalsSince = query("RateLimitRefusalsSince")
)

// RateLimitRefusal is one organization's rate-limit refusals of one tier
// on one UTC day.
type RateLimitRefusal struct {
	OrganizationID uuid.UUID
	Day            time.Time // midnight UTC
	Tier           string
	Refusals       int64
}

// RateLimitRefusals is the service-path door of the refusal counters
// (migration 026): the process's flushes and the daily prune.
type RateLimitRefusals struct{ s *Store }

// RateLimitRefusals returns the refusal counters' operations.
func (s *Store) RateLimitRefusals() RateLimitRefusals { return RateLimitRefusals{s} }

// MaxRefusalBatch bounds one flush (the in-process counter holds fewer
// keys than this).
const MaxRefusalBatch = 100000

// Add adds counts to the stored counters in one statement. It is
// bookkeeping on the service path without an audit event (decision
// 0029): an attacker's flood of refused requests must turn into neither
// database load nor audit events, and the rows record only refusals, not
// a change anyone made. Counts of an organization deleted meanwhile are
// skipped. KindInvalid for a batch over MaxRefusalBatch or a count below 1.
func (r RateLimitRefusals) Add(ctx context.Context, counts []RateLimitRefusal) error {
	const op = "store.AddRateLimitRefusals"
	if len(counts) == 0 {
		return nil
	}
	if len(counts) > MaxRefusalBatch {
		return rampart.Errorf(op, rampart.KindInvalid, "a flush holds at most %d counters", MaxRefusalBatch)
	}
	orgs := make([]uuid.UUID, len(counts))
	days := make([]time.Time, len(counts))
	tiers := make([]string, len(counts))
	ns := make([]int64, len(counts))
	for i, c := range counts {
		if c.Refusals < 1 {
			return rampart.Errorf(op, rampart.KindInvalid, "a refusal count is at least 1")
		}
		orgs[i], tiers[i], ns[i] = c.OrganizationID, c.Tier, c.Refusals
		d := c.Day.UTC()
		days[i] = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	return classify(op, r.s.bookkeepingTx(ctx, op, func(ctx context.Context, tx *txn) error {
		_, err := tx.exec(ctx, sqlAddRateLimitRefusals, orgs, days, tiers, ns)
		return err
	}))
}

// Prune deletes the counters of days before before (the daily periodic
// task keeps 400 days), on the audited service path: one service.invoked
// event a day.
func (r RateLimitRefusals) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.s.asService(ctx, "prune rate-limit refusal counters older than 400 days", func(ctx context.Context, tx *txn) error {
		b := before.UTC()
		tag, err := tx.exec(ctx, sqlPruneRateLimitRefusals, time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC))
		n = tag.RowsAffected()
		return classify("store.PruneRateLimitRefusals", err)
	})
	return n, err
}

// RateLimitRefusalsTx reads the organization's refusal counters.
type RateLimitRefusalsTx struct{ tenant }

// RateLimitRefusals returns the refusal counters' read.
func (tx *TenantTx) RateLimitRefusals() RateLimitRefusalsTx { return RateLimitRefusalsTx{tx.tenant} }

// Since reads the organization's counters per day and tier from since's
// UTC day on, oldest first. Row-level security shows them to admins only;
// anyone else reads none.
func (tx RateLimitRefusalsTx) Since(ctx context.Context, since time.Time) ([]RateLimitRefusal, error) {
	const op = "store.RateLimitRefusalsSince"
	s := since.UTC()
	rows, err := tx.query(ctx, sqlRateLimitRefusalsSince, tx.tc.OrganizationID, time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RateLimitRefusal, error) {
		c := RateLimitRefusal{OrganizationID: tx.tc.OrganizationID}
		err := r.Scan(&c.Day, &c.Tier, &c.Refusals)
		return c, err
	})
	return out, classify(op, err)
}
