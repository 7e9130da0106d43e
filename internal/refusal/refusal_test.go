package refusal

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fixedDay is a clock at noon UTC of one day.
var fixedDay = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newTestCounter(max int) *Counter {
	c := NewCounter(max)
	c.SetClock(func() time.Time { return fixedDay })
	return c
}

func (c *Counter) count(org uuid.UUID, tier string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key{org: org, day: dayOf(fixedDay), tier: tier}]
}

// TestCounterCapHolds: with room for 100 keys, 10,000 organizations
// refused once each leave 100 keys held and 9,900 refusals counted as
// dropped; the held keys still count exactly, and a flush makes room.
func TestCounterCapHolds(t *testing.T) {
	t.Parallel()
	c := newTestCounter(100)
	orgs := make([]uuid.UUID, 10000)
	for i := range orgs {
		orgs[i] = uuid.New()
		c.Refused(orgs[i], "api")
	}
	if n := c.Pending(); n != 100 {
		t.Fatalf("%d keys held, want the bound 100", n)
	}
	if d := c.Dropped(); d != 9900 {
		t.Fatalf("%d refusals dropped, want 9900", d)
	}
	// A held key keeps counting at the bound; a new tier of a held
	// organization is a new key and is dropped.
	c.Refused(orgs[0], "api")
	c.Refused(orgs[0], "org-api")
	if got := c.count(orgs[0], "api"); got != 2 {
		t.Fatalf("held key counts %d, want 2", got)
	}
	if d := c.Dropped(); d != 9901 {
		t.Fatalf("%d dropped, want 9901", d)
	}
	// Names the table would refuse never take a key.
	for _, bad := range []string{"", "API", "api tier", "1api", "a23456789012345678901234567890123"} {
		c.Refused(uuid.New(), bad)
	}
	c.Refused(uuid.Nil, "api")
	if d := c.Dropped(); d != 9907 {
		t.Fatalf("%d dropped after 6 invalid refusals, want 9907", d)
	}
}

// TestCounterConcurrentIncrementsAreExact: 8 goroutines refusing 5,000
// times each across 4 keys leave exactly 10,000 per key (run with -race).
func TestCounterConcurrentIncrementsAreExact(t *testing.T) {
	t.Parallel()
	c := newTestCounter(DefaultMaxKeys)
	orgs := []uuid.UUID{uuid.New(), uuid.New()}
	tiers := []string{"api", "org-api"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				c.Refused(orgs[(g+i)%2], tiers[(i/2)%2])
			}
		}()
	}
	wg.Wait()
	for _, o := range orgs {
		for _, tr := range tiers {
			if got := c.count(o, tr); got != 10000 {
				t.Errorf("%s/%s counted %d, want 10000", o, tr, got)
			}
		}
	}
	if c.Dropped() != 0 {
		t.Fatalf("%d dropped", c.Dropped())
	}
}

// TestRefusedAllocatesNothingForAKnownKey: after the first refusal of a
// key, more refusals of it allocate nothing.
func TestRefusedAllocatesNothingForAKnownKey(t *testing.T) {
	c := NewCounter(10)
	org := uuid.New()
	c.Refused(org, "agent")
	if a := testing.AllocsPerRun(1000, func() { c.Refused(org, "agent") }); a != 0 {
		t.Fatalf("%.1f allocations per refusal of a known key, want 0", a)
	}
	// A full counter's refusals allocate nothing either.
	full := NewCounter(1)
	full.Refused(uuid.New(), "api")
	other := uuid.New()
	if a := testing.AllocsPerRun(1000, func() { full.Refused(other, "api") }); a != 0 {
		t.Fatalf("%.1f allocations per dropped refusal, want 0", a)
	}
}

// TestFlushAddsOneUpsertAndKeepsCountsOnFailure: a flush adds the counts
// to the stored counters (a second flush adds, not replaces); a flush that
// fails keeps its counts for the next one; a deleted organization's counts
// do not fail the flush; and no audit event is written.
func TestFlushAddsOneUpsertAndKeepsCountsOnFailure(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	acme, globex := f.Acme.Organization.ID, f.Globex.Organization.ID
	events := f.Count(t, `SELECT count(*)::int FROM audit_events`)
	c := newTestCounter(DefaultMaxKeys)
	for range 3 {
		c.Refused(acme, "api")
	}
	c.Refused(acme, "org-api")
	c.Refused(globex, "agent")
	if err := c.Flush(ctx, f.Store); err != nil {
		t.Fatal(err)
	}
	stored := func(org uuid.UUID, tier string) int {
		return f.Count(t, `SELECT coalesce(sum(refusals), 0)::int FROM rate_limit_refusals WHERE organization_id = $1 AND tier = $2 AND day = '2026-12-06'`, org, tier)
	}
	if stored(acme, "api") != 3 || stored(acme, "org-api") != 1 || stored(globex, "agent") != 1 || c.Pending() != 0 {
		t.Fatalf("after one flush: api %d org-api %d globex %d, pending %d", stored(acme, "api"), stored(acme, "org-api"), stored(globex, "agent"), c.Pending())
	}
	// A failing flush (its context is already cancelled) keeps the counts.
	c.Refused(acme, "api")
	c.Refused(acme, "api")
	dead, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Flush(dead, f.Store); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if stored(acme, "api") != 3 || c.count(acme, "api") != 2 {
		t.Fatalf("after a failed flush: stored %d, held %d; want 3 and 2", stored(acme, "api"), c.count(acme, "api"))
	}
	// Refusals counted meanwhile join the kept ones; the next flush adds all.
	c.Refused(acme, "api")
	// An organization that no longer exists does not fail the flush.
	c.Refused(uuid.New(), "api")
	if err := c.Flush(ctx, f.Store); err != nil {
		t.Fatal(err)
	}
	if stored(acme, "api") != 6 {
		t.Fatalf("after the next flush: %d, want 6", stored(acme, "api"))
	}
	if n := f.Count(t, `SELECT count(*)::int FROM rate_limit_refusals`); n != 3 {
		t.Fatalf("%d rows, want 3 (the unknown organization skipped)", n)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM audit_events`); n != events {
		t.Fatalf("flushes wrote %d audit events, want none", n-events)
	}
}

// TestRunFlushesAtShutdown: Run's last flush, after its context ends,
// writes what was counted.
func TestRunFlushesAtShutdown(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	c := newTestCounter(DefaultMaxKeys)
	c.Refused(f.Acme.Organization.ID, "chat")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, f.Store, discard(), time.Hour) }()
	cancel()
	<-done
	if n := f.Count(t, `SELECT coalesce(sum(refusals), 0)::int FROM rate_limit_refusals WHERE tier = 'chat'`); n != 1 {
		t.Fatalf("%d refusals stored at shutdown, want 1", n)
	}
}

// TestPerDay: admins read their own organization's refusals per day and
// tier, every day present; another organization's are never in it; other
// roles are refused; days is 1 to 400; the prune keeps 400 days.
func TestPerDay(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	acme, globex := f.Acme.Organization.ID, f.Globex.Organization.ID
	c := NewCounter(0)
	for i, at := range []time.Time{fixedDay, fixedDay.AddDate(0, 0, -2), fixedDay.AddDate(0, 0, -500)} {
		c.SetClock(func() time.Time { return at })
		for range i + 1 {
			c.Refused(acme, "api")
		}
		c.Refused(acme, "org-api")
		c.Refused(globex, "agent")
	}
	if err := c.Flush(ctx, f.Store); err != nil {
		t.Fatal(err)
	}
	r, err := PerDay(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), 30, fixedDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 30 || !r.Days[29].Day.Equal(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)) || r.Days[29].Refusals != 2 ||
		r.Days[27].Refusals != 3 || r.Days[27].ByTier["api"] != 2 || r.Total != 5 {
		t.Fatalf("report: %+v", r)
	}
	if len(r.Tiers) != 2 || r.Tiers[0] != (TierTotal{"api", 3}) || r.Tiers[1] != (TierTotal{"org-api", 2}) {
		t.Fatalf("tiers: %+v", r.Tiers)
	}
	g, err := PerDay(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), 30, fixedDay)
	if err != nil || g.Total != 2 || len(g.Tiers) != 1 || g.Tiers[0].Tier != "agent" {
		t.Fatalf("globex: %+v %v", g, err)
	}
	for _, role := range []rampart.Role{rampart.RoleExecutiveProducer, rampart.RoleProducer, rampart.RoleViewer, rampart.RoleVenueManager} {
		_, err := PerDay(ctx, f.Store, f.Acme.As(role), 30, fixedDay)
		storetest.Kind(t, string(role), err, rampart.KindForbidden)
	}
	for _, days := range []int{0, -1, 401} {
		_, err := PerDay(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), days, fixedDay)
		storetest.Kind(t, "days", err, rampart.KindInvalid)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM rate_limit_refusals`); n != 9 {
		t.Fatalf("%d rows before the prune, want 9", n)
	}
	n, err := f.Store.RateLimitRefusals().Prune(ctx, fixedDay.Add(-Retention))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want the 3 rows of 500 days ago", n, err)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM rate_limit_refusals WHERE day < '2025-11-01'`); n != 0 {
		t.Fatalf("%d old rows left", n)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
