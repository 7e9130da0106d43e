package jobs

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// benchStarts is a model that answers after a fixed delay and records when
// each call about a "Quiet proposal N" started.
type benchStarts struct {
	delay time.Duration
	mu    sync.Mutex
	start map[string]time.Time
}

var benchQuietRE = regexp.MustCompile(`Quiet proposal [0-9]+-[0-9]+`)

func (p *benchStarts) Name() string  { return "bench-starts" }
func (p *benchStarts) Model() string { return "starts-1" }

func (p *benchStarts) Stream(ctx context.Context, req llm.Request, onDelta func(string) error) (llm.Response, error) {
	now := time.Now()
	for _, d := range req.Data {
		if k := benchQuietRE.FindString(d.Fenced()); k != "" {
			p.mu.Lock()
			if _, seen := p.start[k]; !seen {
				p.start[k] = now
			}
			p.mu.Unlock()
			break
		}
	}
	return (&benchSleeper{delay: p.delay}).Stream(ctx, req, onDelta)
}

func (p *benchStarts) startOf(title string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.start[title]
	return t, ok
}

// titledProposals adds n proposals by c's user titled "<prefix> <round>-<i>".
func (e *benchEnv) titledProposals(b *testing.B, c rampart.Claims, prefix string, round, n int) []uuid.UUID {
	b.Helper()
	rows, err := e.admin.Query(context.Background(), `INSERT INTO proposals (organization_id, title, client_name, brief, author_id)
SELECT $1, $3 || ' ' || $4::int || '-' || g, 'Bench client', 'A short brief for a dinner.', $2 FROM generate_series(1, $5) g RETURNING id`,
		c.OrganizationID, c.UserID, prefix, round, n)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkNoisyNeighbour measures one organization's queue wait (its
// request called → its model call started) while another organization
// floods the queue with far more generation requests than the workers can
// run, against the same organization's wait with the queue otherwise
// idle. 8 workers, a model that answers in 100 ms; the quiet organization
// requests one job every 150–250 ms (below its own limit: it
// never waits for itself). Sub-benchmarks: perorg=2, the deployed
// per-organization limit (the flood may hold 2 workers); perorg=8, no
// per-organization protection (the flood may hold every worker).
// ratio = flooded p99 ÷ alone p99 (goal ≤ 1.2).
func BenchmarkNoisyNeighbour(b *testing.B) {
	for _, perOrg := range []int{2, 8} {
		b.Run(fmt.Sprintf("workers=8/perorg=%d", perOrg), func(b *testing.B) { benchNoisyNeighbour(b, 8, perOrg) })
	}
}

func benchNoisyNeighbour(b *testing.B, workers, perOrg int) {
	const delay = 100 * time.Millisecond
	quietJobs := benchSize(b, 10, 40) // per phase
	rounds := benchSize(b, 2, 4)
	// The flood outlasts the quiet phase: more than the workers can run in it.
	flood := benchSize(b, 300, 600)
	env := newBenchEnv(b)
	ctx := context.Background()
	st := env.store(b, int32(workers+12))
	cs := env.orgs(b, st, 2)
	noisy, quiet := cs[0], cs[1]
	w := benchWatcher(b, st, killswitch.Options{})
	p := &benchStarts{delay: delay, start: map[string]time.Time{}}
	q, _ := benchQueue(b, st, Options{Provider: p, Watcher: w, Workers: workers, PerOrg: perOrg})
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}

	// phase requests quietJobs jobs of the quiet organization, spaced out,
	// and returns each one's wait.
	phase := func(round int, tag string, n int) []time.Duration {
		ids := env.titledProposals(b, quiet, "Quiet proposal", round, n)
		type sent struct {
			title string
			at    time.Time
		}
		var reqs []sent
		for i, id := range ids {
			title := fmt.Sprintf("Quiet proposal %d-%d", round, i+1)
			at := time.Now()
			if _, err := q.Request(ctx, quiet, id, "bench"); err != nil {
				b.Fatal(err)
			}
			reqs = append(reqs, sent{title, at})
			time.Sleep(150*time.Millisecond + mrand.N(100*time.Millisecond))
		}
		var waits []time.Duration
		benchWait(b, "the quiet organization's jobs start ("+tag+")", 2*time.Minute, 5*time.Millisecond, func() bool {
			for _, r := range reqs {
				if _, ok := p.startOf(r.title); !ok {
					return false
				}
			}
			return true
		})
		for _, r := range reqs {
			t, _ := p.startOf(r.title)
			waits = append(waits, t.Sub(r.at))
		}
		return waits
	}
	var alone, flooded []time.Duration
	var floodDone, drained int
	// Warm up: the pools, the plans, the workers.
	phase(0, "warm-up", 3)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := range rounds {
			round := 1 + (i*rounds+r)*2
			alone = append(alone, phase(round, "alone", quietJobs)...)

			b.StopTimer()
			fids := env.titledProposals(b, noisy, "Noisy proposal", round, flood)
			targets := make([]benchTarget, len(fids))
			for k, id := range fids {
				targets[k] = benchTarget{noisy, id}
			}
			before := env.count(b, `SELECT count(*) FROM ai_jobs WHERE organization_id = $1 AND status = 'succeeded'`, noisy.OrganizationID)
			benchRequest(b, q, targets, 8)
			b.StartTimer()
			flooded = append(flooded, phase(round+1, "flooded", quietJobs)...)
			b.StopTimer()
			done := env.count(b, `SELECT count(*) FROM ai_jobs WHERE organization_id = $1 AND status = 'succeeded'`, noisy.OrganizationID) - before
			floodDone += done
			if done >= flood {
				drained++ // the quiet jobs waited for the whole flood
			}
			// Drop what is left of the flood before the next round.
			benchDropBacklog(b, env, noisy.OrganizationID)
			benchWait(b, "the flood's running jobs end", time.Minute, 5*time.Millisecond, func() bool {
				return env.count(b, sqlBenchUnfinished) == 0
			})
			b.StartTimer()
		}
	}
	b.StopTimer()
	a50, a99, _ := benchQuantiles(alone)
	f50, f99, fmax := benchQuantiles(flooded)
	b.ReportMetric(benchMS(a50), "alone-p50-ms")
	b.ReportMetric(benchMS(a99), "alone-p99-ms")
	b.ReportMetric(benchMS(f50), "flooded-p50-ms")
	b.ReportMetric(benchMS(f99), "flooded-p99-ms")
	b.ReportMetric(f99.Seconds()/a99.Seconds(), "ratio")
	b.ReportMetric(f50.Seconds()/a50.Seconds(), "p50-ratio")
	b.Logf("%d workers, per-organization limit %d, model %s; quiet organization: %d jobs alone, %d under a flood of %d queued jobs per round (%d flood jobs ran meanwhile; the whole flood ran before the quiet jobs in %d of %d rounds)",
		workers, perOrg, delay, len(alone), len(flooded), flood, floodDone, drained, b.N*rounds)
	b.Logf("queue wait (request → model call): alone p50 %.1fms p99 %.1fms; flooded p50 %.1fms p99 %.1fms max %.1fms; p99 ratio %.2f",
		benchMS(a50), benchMS(a99), benchMS(f50), benchMS(f99), benchMS(fmax), f99.Seconds()/a99.Seconds())
}

// benchQuantiles is p50, p99 and max of ds.
func benchQuantiles(ds []time.Duration) (p50, p99, maxd time.Duration) {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return benchPercentile(s, 0.5), benchPercentile(s, 0.99), benchPercentile(s, 1)
}

// benchDropBacklog cancels an organization's queued jobs, in River and in
// ai_jobs, as the superuser (a fixture reset between rounds, not a path
// of the product); running jobs finish.
func benchDropBacklog(b *testing.B, env *benchEnv, org uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	if _, err := env.admin.Exec(ctx, `WITH j AS (
  UPDATE ai_jobs SET status = 'cancelled', cancel_reason = 'benchmark reset', finished_at = now(), updated_at = clock_timestamp()
  WHERE organization_id = $1 AND status IN ('queued', 'retrying') RETURNING queue_job_id)
UPDATE river.river_job SET state = 'cancelled', finalized_at = now()
WHERE id IN (SELECT queue_job_id FROM j) AND state IN ('available', 'scheduled', 'retryable', 'pending')`, org); err != nil {
		b.Fatal(err)
	}
}
