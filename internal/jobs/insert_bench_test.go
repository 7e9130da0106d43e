package jobs

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// BenchmarkRequestJobInsert measures what the River insert costs a
// generation request. Both variants run Queue.Request's whole transaction
// (kill-switch check, budget read, proposal lock, busy check with the
// organization's backlog count, the ai_jobs
// row, its queue id and the signed audit event sent with COMMIT), 8
// requesters of 8 organizations at once:
//   - with-insert: and the River job inserted in the same transaction (what
//     the API does);
//   - without-insert: the same transaction whose queue insert writes nothing
//     (the ai_jobs row records a placeholder queue id).
//
// Phases of 8 × perPhase requests alternate A B A B, so drift on a shared
// machine hits both alike. ratio = with ÷ without (goal ≥ 0.80).
func BenchmarkRequestJobInsert(b *testing.B) {
	const requesters = 8
	perPhase := benchSize(b, 25, 50) // per requester
	phases := benchSize(b, 6, 20)    // per variant
	env := newBenchEnv(b)
	ctx := context.Background()
	st := env.store(b, requesters+4)
	claims := env.orgs(b, st, requesters)
	w := benchWatcher(b, st, killswitch.Options{})
	q, _ := benchQueue(b, st, Options{Provider: &benchSleeper{}, Watcher: w}) // insert-only: no workers

	noInsert := q.enqueue()
	noInsert.Insert = func(rampart.AIJob, int) store.QueueInsert {
		return func(context.Context, pgx.Tx) (int64, error) { return 0, nil }
	}
	variants := []struct {
		name    string
		enqueue store.QueueRequest
	}{{"with-insert", q.enqueue()}, {"without-insert", noInsert}}

	need := func(n int) [][]uuid.UUID {
		out := make([][]uuid.UUID, requesters)
		for r, c := range claims {
			out[r] = env.proposals(b, c, n)
		}
		return out
	}
	phase := func(enqueue store.QueueRequest, props [][]uuid.UUID, from int, lat *[]time.Duration) time.Duration {
		var wg sync.WaitGroup
		var mu sync.Mutex
		t0 := time.Now()
		for r, c := range claims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := make([]time.Duration, 0, perPhase)
				for _, p := range props[r][from : from+perPhase] {
					s := time.Now()
					if _, err := q.request(ctx, c, p, "bench", enqueue); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(s))
				}
				mu.Lock()
				*lat = append(*lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	// Warm the pools and the statements' plans with both variants.
	var discard []time.Duration
	warm := need(2 * perPhase)
	for k, v := range variants {
		phase(v.enqueue, warm, k*perPhase, &discard)
	}
	took := make([]time.Duration, len(variants))
	lats := make([][]time.Duration, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		props := need(len(variants) * phases * perPhase)
		b.StartTimer()
		from := 0
		for range phases {
			for k, v := range variants {
				took[k] += phase(v.enqueue, props, from, &lats[k])
				from += perPhase
			}
		}
	}
	b.StopTimer()
	if b.Failed() {
		return
	}
	// Every request of the with-insert variant has its River job; the
	// other variant's have none.
	if n, want := env.count(b, `SELECT count(*) FROM river.river_job WHERE kind = $1`, rampart.JobKindProposalGeneration),
		(b.N*phases+1)*perPhase*requesters; n != want {
		b.Fatalf("%d River jobs, want %d", n, want)
	}
	perVariant := float64(b.N * phases * perPhase * requesters)
	rate := make([]float64, len(variants))
	for k, v := range variants {
		rate[k] = perVariant / took[k].Seconds()
		slices.Sort(lats[k])
		p50, p99 := benchPercentile(lats[k], 0.5), benchPercentile(lats[k], 0.99)
		b.ReportMetric(rate[k], v.name+"-req/s")
		b.ReportMetric(benchMS(p50), v.name+"-p50-ms")
		b.ReportMetric(benchMS(p99), v.name+"-p99-ms")
		b.Logf("%-14s %6.0f requests/s, p50 %.2fms p99 %.2fms (%d requests, %d requesters)", v.name, rate[k], benchMS(p50), benchMS(p99), int(perVariant), requesters)
	}
	b.ReportMetric(rate[0]/rate[1], "ratio")
}
