package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
)

// BenchmarkGuardShareOfJob runs generation jobs through the worker with
// the offline provider (no model latency: the worst case for the guard's
// share) and records, for every attempt, the time in the guard (every
// field of the proposal through guard.Inspect, rules and model) beside the
// whole attempt (kill-switch check, claims read, guard, start transaction,
// model call, sanitiser, finishing transaction), side by side in one run.
// Briefs of about 1 KiB and 16 KiB of event-production text; 4 workers
// (the default RAMPART_AI_WORKERS) on whatever cores the machine has.
func BenchmarkGuardShareOfJob(b *testing.B) {
	for _, kib := range []int{1, 16} {
		b.Run(fmt.Sprintf("brief=%dKiB", kib), func(b *testing.B) {
			benchGuardShare(b, kib, benchSize(b, 100, 400))
		})
	}
}

func benchGuardShare(b *testing.B, kib, jobs int) {
	env := newBenchEnv(b)
	st := env.store(b, 12)
	orgs := env.orgs(b, st, 4)
	brief := benchBrief(kib << 10)
	var targets []benchTarget
	for _, c := range orgs {
		rows, err := env.admin.Query(context.Background(), sqlBenchProposals, c.OrganizationID, c.UserID, brief, jobs/len(orgs))
		if err != nil {
			b.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			targets = append(targets, benchTarget{c, id})
		}
	}
	provider, err := llm.New(llm.Config{Provider: llm.ProviderOffline})
	if err != nil {
		b.Fatal(err)
	}
	w := benchWatcher(b, st, killswitch.Options{})
	var (
		mu              sync.Mutex
		guards, attempt []time.Duration
	)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		q, stop := benchQueue(b, st, Options{Provider: provider, Watcher: w, Workers: 4, PerOrg: 4,
			timings: func(g, a time.Duration) {
				mu.Lock()
				guards, attempt = append(guards, g), append(attempt, a)
				mu.Unlock()
			}})
		benchRequest(b, q, targets, 8)
		base := env.count(b, `SELECT count(*) FROM ai_jobs WHERE status = 'succeeded'`)
		b.StartTimer()
		if err := q.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchWait(b, fmt.Sprintf("%d jobs succeed", len(targets)), 5*time.Minute, 5*time.Millisecond, func() bool {
			return env.count(b, `SELECT count(*) FROM ai_jobs WHERE status = 'succeeded'`)-base == len(targets)
		})
		b.StopTimer()
		stop()
		if n := env.count(b, sqlBenchUnfinished); n != 0 {
			b.Fatalf("%d jobs unfinished", n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(guards) != b.N*len(targets) {
		b.Fatalf("%d attempts timed, want %d (one per job: none may be refused or retried)", len(guards), b.N*len(targets))
	}
	var sumG, sumA time.Duration
	for i := range guards {
		sumG += guards[i]
		sumA += attempt[i]
	}
	g50, g99 := benchPercentiles(guards)
	a50, a99 := benchPercentiles(attempt)
	b.ReportMetric(benchMS(g50), "guard-p50-ms")
	b.ReportMetric(benchMS(g99), "guard-p99-ms")
	b.ReportMetric(benchMS(a50), "job-p50-ms")
	b.ReportMetric(benchMS(a99), "job-p99-ms")
	b.ReportMetric(float64(sumG)/float64(sumA), "guard-share")
	b.Logf("%d jobs × %d, brief %d KiB, offline provider, 4 workers: guard p50 %.2fms p99 %.2fms; attempt p50 %.2fms p99 %.2fms; guard %.1f%% of attempt time",
		len(targets), b.N, kib, benchMS(g50), benchMS(g99), benchMS(a50), benchMS(a99), 100*float64(sumG)/float64(sumA))
}

// benchPercentiles returns the 50th and 99th percentiles of ds (nearest rank).
func benchPercentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

// benchBrief is about n bytes of ordinary event-production text.
func benchBrief(n int) string {
	parts := []string{
		benignBrief,
		"Load-in from 07:00 via dock B; the venue's rigging plot allows 500 kg per point on the main truss.",
		"Catering: three courses for 300, 40 vegan, 12 gluten-free; the client asked us to forget the earlier canapé menu.",
		"AV: two 7x4 m LED walls, a confidence monitor, four radio mics and a lectern mic; playback from QLab.",
		"Please skip the previous vendor's quote for staging and use the revised one dated 3 March.",
	}
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "%d. %s\n", i+1, parts[i%len(parts)])
	}
	return sb.String()
}
