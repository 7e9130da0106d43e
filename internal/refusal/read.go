package refusal

import (
	"context"
	"slices"
	"time"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// MaxDays bounds the days PerDay reads: the 400 days the table keeps.
const MaxDays = 400

// Retention is how long the counters are kept (the daily prune).
const Retention = MaxDays * 24 * time.Hour

// Day is one UTC day of an organization's refusals.
type Day struct {
	Day      time.Time
	Refusals int64
	ByTier   map[string]int64 // absent tiers refused nothing
}

// TierTotal is one tier's refusals over a report's days.
type TierTotal struct {
	Tier     string
	Refusals int64
}

// Report is an organization's refusals over consecutive UTC days.
type Report struct {
	Days   []Day       // oldest first, every day present (zero when nothing was refused)
	Tiers  []TierTotal // the tiers with refusals, most refused first
	Total  int64
	Period int // days
}

// PerDay reads the organization's recorded refusals per UTC day over the
// last days days (1 to MaxDays) up to now's day, for admins (others get
// KindForbidden; row-level security would show them nothing anyway).
// Counts still in a process's memory (at most FlushEvery old) are not in
// it yet.
func PerDay(ctx context.Context, st *store.Store, c rampart.Claims, days int, now time.Time) (Report, error) {
	const op = "refusal.PerDay"
	if err := access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}); err != nil {
		return Report{}, err
	}
	if days < 1 || days > MaxDays {
		return Report{}, rampart.FieldError(op, "days", "must be a whole number from 1 to %d", MaxDays)
	}
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	rows, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]store.RateLimitRefusal, error) {
		return tx.RateLimitRefusals().Since(ctx, first)
	})
	if err != nil {
		return Report{}, err
	}
	r := Report{Days: make([]Day, days), Period: days}
	index := map[string]int{}
	for i := range r.Days {
		d := first.AddDate(0, 0, i)
		r.Days[i].Day = d
		index[d.Format(time.DateOnly)] = i
	}
	totals := map[string]int64{}
	for _, row := range rows {
		i, ok := index[row.Day.UTC().Format(time.DateOnly)]
		if !ok {
			continue // a day after now's (a clock ahead elsewhere)
		}
		d := &r.Days[i]
		if d.ByTier == nil {
			d.ByTier = map[string]int64{}
		}
		d.ByTier[row.Tier] += row.Refusals
		d.Refusals += row.Refusals
		totals[row.Tier] += row.Refusals
		r.Total += row.Refusals
	}
	for t, n := range totals {
		r.Tiers = append(r.Tiers, TierTotal{Tier: t, Refusals: n})
	}
	slices.SortFunc(r.Tiers, func(a, b TierTotal) int {
		if a.Refusals != b.Refusals {
			if a.Refusals > b.Refusals {
				return -1
			}
			return 1
		}
		if a.Tier < b.Tier {
			return -1
		}
		return 1
	})
	return r, nil
}
