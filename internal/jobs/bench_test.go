package jobs

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The benchmarks of this file measure the queue and the kill switch on a
// real database and report what they measure (ReportMetric, Logf); they
// assert correctness, never wall-clock targets. Helpers are prefixed
// "bench" to stay apart from the package's tests.

// benchEnv is one benchmark's database.
type benchEnv struct {
	db    *pgtest.DB
	keys  *audit.Keyring
	admin *pgxpool.Pool // the superuser: bulk fixtures and progress counts only
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	db := pgtest.New(b)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	keys, err := audit.NewKeyring([]audit.Key{{ID: "bench", Secret: secret}})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := pgxpool.New(context.Background(), db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(admin.Close)
	return &benchEnv{db: db, keys: keys, admin: admin}
}

// store opens a store of its own: its own pools, as a separate process has.
func (e *benchEnv) store(b *testing.B, maxConns int32) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), e.db.AppURL, store.Options{MaxConns: maxConns, ServiceURL: e.db.ServiceURL,
		Audit: e.keys, Actor: "benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	return st
}

// orgs creates n organizations, each with one producer, and returns the
// producers' claims.
func (e *benchEnv) orgs(b *testing.B, st *store.Store, n int) []rampart.Claims {
	b.Helper()
	var cs []rampart.Claims
	err := st.AsService(context.Background(), "benchmark fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		run := uuid.NewString()[:8]
		for i := range n {
			org, err := tx.Provision().CreateOrganization(ctx, fmt.Sprintf("Bench %d", i), fmt.Sprintf("bench-%s-%d", run, i))
			if err != nil {
				return err
			}
			u, err := tx.Provision().UpsertUser(ctx, fmt.Sprintf("producer-%s-%d@bench.example", run, i), "")
			if err != nil {
				return err
			}
			c := rampart.Claims{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleProducer}
			if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: c.Role}); err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

const sqlBenchProposals = `INSERT INTO proposals (organization_id, title, client_name, brief, author_id)
SELECT $1, 'Bench proposal ' || g, 'Bench client', $3, $2 FROM generate_series(1, $4) g RETURNING id`

// proposals adds n draft proposals by c's user in one statement.
func (e *benchEnv) proposals(b *testing.B, c rampart.Claims, n int) []uuid.UUID {
	b.Helper()
	rows, err := e.admin.Query(context.Background(), sqlBenchProposals, c.OrganizationID, c.UserID,
		"Spring gala dinner for 120 guests, three courses, a jazz trio and a short welcome speech.", n)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// count runs a count(*) as the superuser.
func (e *benchEnv) count(b *testing.B, sql string, args ...any) int {
	var n int
	if err := e.admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

const sqlBenchUnfinished = `SELECT count(*) FROM ai_jobs WHERE status IN ('queued', 'running', 'retrying')`

// benchWatcher starts a kill-switch watcher over src until the benchmark ends.
func benchWatcher(b *testing.B, src killswitch.Source, opts killswitch.Options) *killswitch.Watcher {
	b.Helper()
	w, err := killswitch.New(src, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	if err := w.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	return w
}

// benchQueue builds a queue (the guard's defaults) and returns it with a
// function that stops it; the benchmark's end stops it too.
func benchQueue(b *testing.B, st *store.Store, opts Options) (*Queue, func()) {
	b.Helper()
	g, err := guard.New(guard.Options{})
	if err != nil {
		b.Fatal(err)
	}
	opts.Guard = g
	q, err := New(context.Background(), st, opts)
	if err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := q.Stop(ctx); err != nil {
				b.Errorf("stop the queue: %v", err)
			}
		})
	}
	b.Cleanup(stop)
	return q, stop
}

// benchTarget is a proposal and the requester of its jobs.
type benchTarget struct {
	claims   rampart.Claims
	proposal uuid.UUID
}

// benchTargets deals n proposals of each requester round-robin, so that
// consecutive jobs belong to different organizations.
func (e *benchEnv) targets(b *testing.B, requesters []rampart.Claims, n int) []benchTarget {
	b.Helper()
	per := make([][]uuid.UUID, len(requesters))
	for r, c := range requesters {
		per[r] = e.proposals(b, c, n)
	}
	var out []benchTarget
	for i := range n {
		for r, c := range requesters {
			out = append(out, benchTarget{c, per[r][i]})
		}
	}
	return out
}

// benchRequest requests a job for every target, conc at a time.
func benchRequest(b *testing.B, q *Queue, targets []benchTarget, conc int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(targets)); i = next.Add(1) - 1 {
				if _, err := q.Request(context.Background(), targets[i].claims, targets[i].proposal, "bench"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// benchWait polls cond every interval until it holds or timeout passes.
func benchWait(b *testing.B, what string, timeout, interval time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

// benchPercentile is the q-quantile (nearest rank) of sorted.
func benchPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchLatencies reports p50, p99 and max of ds (clamped at zero; early
// counts the negative ones: seen before the reference instant) in ms.
func benchLatencies(b *testing.B, label string, ds []time.Duration) (p50, p99, maxd time.Duration) {
	b.Helper()
	early := 0
	s := make([]time.Duration, len(ds))
	for i, d := range ds {
		if d < 0 {
			early++
			d = 0
		}
		s[i] = d
	}
	slices.Sort(s)
	p50, p99, maxd = benchPercentile(s, 0.50), benchPercentile(s, 0.99), benchPercentile(s, 1)
	b.ReportMetric(benchMS(p50), "p50-ms")
	b.ReportMetric(benchMS(p99), "p99-ms")
	b.ReportMetric(benchMS(maxd), "max-ms")
	b.Logf("%s: n=%d p50=%.2fms p99=%.2fms max=%.2fms (%d seen before the reference instant, counted as 0)",
		label, len(s), benchMS(p50), benchMS(p99), benchMS(maxd), early)
	return p50, p99, maxd
}

// benchBlocker is a model whose calls block until their context ends; it
// records the instant each call saw its context end.
type benchBlocker struct {
	running atomic.Int64
	mu      sync.Mutex
	ended   []time.Time
}

func (p *benchBlocker) Name() string  { return "bench-blocker" }
func (p *benchBlocker) Model() string { return "block-1" }

func (p *benchBlocker) Stream(ctx context.Context, _ llm.Request, _ func(string) error) (llm.Response, error) {
	p.running.Add(1)
	<-ctx.Done()
	at := time.Now()
	p.mu.Lock()
	p.ended = append(p.ended, at)
	p.mu.Unlock()
	p.running.Add(-1)
	return llm.Response{}, &rampart.Error{Op: "bench.Stream", Kind: rampart.KindUnavailable, Message: "the model call was cancelled", Err: ctx.Err()}
}

func (p *benchBlocker) endedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ended)
}

func (p *benchBlocker) take() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.ended
	p.ended = nil
	return out
}

// benchNoListen is the store as a kill-switch source whose listener never
// connects: the watcher falls back to its periodic re-read.
type benchNoListen struct{ *store.Store }

func (benchNoListen) ListenKillSwitch(ctx context.Context, _ func(), _ func(string)) error {
	<-ctx.Done()
	return ctx.Err()
}

// BenchmarkKillSwitchPropagation runs 200 AI jobs whose model call blocks,
// spread over two worker "processes" (100 workers each), switches the kill
// switch on, and measures for every job the time from the activating
// COMMIT returning to its model call seeing its context cancelled.
//
// The two processes are two independent Queue + Watcher + store pools
// (each with its own listener connection) inside this test binary: they
// share the Go runtime and the machine's two cores with PostgreSQL.
//
// Sub-benchmarks: the organization and global switches with the watchers
// listening; the organization switch with the listener prevented (only the
// 1 s periodic re-read propagates); and PostgreSQL's own LISTEN/NOTIFY
// commit→receive latency for comparison.
func BenchmarkKillSwitchPropagation(b *testing.B) {
	b.Run("listen/scope=organization", func(b *testing.B) { benchPropagation(b, true, false, 3) })
	b.Run("listen/scope=global", func(b *testing.B) { benchPropagation(b, true, true, 3) })
	b.Run("refresh-only/scope=organization", func(b *testing.B) { benchPropagation(b, false, false, 3) })
	b.Run("raw-notify", benchRawNotify)
}

func benchPropagation(b *testing.B, listen, global bool, rounds int) {
	const (
		procs   = 2
		workers = 100
		jobs    = procs * workers
	)
	env := newBenchEnv(b)
	cli := env.store(b, 4) // the operator's CLI: fixtures and the switch
	claims := env.orgs(b, cli, 1)[0]
	targets := env.targets(b, []rampart.Claims{claims}, jobs) // each round re-requests them: a cancelled job frees its proposal

	type proc struct {
		w *killswitch.Watcher
		q *Queue
		p *benchBlocker
	}
	var ps []proc
	for i := range procs {
		st := env.store(b, 24)
		var src killswitch.Source = st
		if !listen {
			src = benchNoListen{st}
		}
		w := benchWatcher(b, src, killswitch.Options{}) // Refresh 1 s, as deployed
		p := &benchBlocker{}
		// PerOrg is the organization's limit across the cluster
		// (migration 008): it must admit every job of both processes.
		q, _ := benchQueue(b, st, Options{Provider: p, Watcher: w, Workers: workers, PerOrg: jobs,
			ID: fmt.Sprintf("bench-worker-%d-%s", i, uuid.NewString()[:8])})
		if err := q.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		ps = append(ps, proc{w, q, p})
	}
	setSwitch := func(on bool) (start time.Time) {
		t0 := time.Now()
		err := cli.AsService(context.Background(), "benchmark: kill-switch propagation", func(ctx context.Context, tx *store.ServiceTx) error {
			var err error
			if global {
				_, err = tx.KillSwitches().SetGlobal(ctx, on, "benchmark", "benchmark")
			} else {
				_, err = tx.KillSwitches().SetOrg(ctx, claims.OrganizationID, on, "benchmark", "benchmark")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return t0
	}

	var lat, fromStart []time.Duration
	var commits []time.Duration
	var roundMax []string
	split := map[int]int{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := range rounds {
			if i > 0 || r > 0 {
				setSwitch(false)
			}
			benchWait(b, "every watcher allows the organization", 5*time.Second, time.Millisecond, func() bool {
				for _, p := range ps {
					if p.w.Check(claims.OrganizationID) != nil {
						return false
					}
				}
				return true
			})
			benchRequest(b, ps[0].q, targets, 8)
			benchWait(b, fmt.Sprintf("%d model calls are in flight", jobs), time.Minute, time.Millisecond, func() bool {
				n := int64(0)
				for _, p := range ps {
					n += p.p.running.Load()
				}
				return n == jobs
			})
			for k, p := range ps {
				split[k] += int(p.p.running.Load())
			}
			if !listen {
				// Waiting for the watchers to allow the organization ended
				// just after a re-read: activate at a random phase of the
				// period instead of a fixed offset from it.
				time.Sleep(mrand.N(time.Second))
			}
			start := setSwitch(true)
			at := time.Now()
			commits = append(commits, at.Sub(start))
			benchWait(b, "every model call is cancelled", 30*time.Second, time.Millisecond, func() bool {
				n := 0
				for _, p := range ps {
					n += p.p.endedCount()
				}
				return n == jobs
			})
			for k, p := range ps {
				var worst time.Duration
				for _, t := range p.p.take() {
					lat = append(lat, t.Sub(at))
					fromStart = append(fromStart, t.Sub(start))
					worst = max(worst, t.Sub(at))
				}
				roundMax = append(roundMax, fmt.Sprintf("r%d/p%d %.1fms", i*rounds+r, k, benchMS(worst)))
			}
			benchWait(b, "every job is recorded as stopped", time.Minute, 5*time.Millisecond, func() bool {
				return env.count(b, sqlBenchUnfinished) == 0
			})
		}
	}
	b.StopTimer()
	if n := env.count(b, `SELECT count(*) FROM ai_jobs WHERE status = 'cancelled' AND error_code LIKE 'kill_switch_%'`); n != b.N*rounds*jobs {
		b.Fatalf("%d jobs recorded as stopped by the kill switch, want %d", n, b.N*rounds*jobs)
	}
	slices.Sort(commits)
	mode := "listening (LISTEN/NOTIFY, re-read every 1 s)"
	if !listen {
		mode = "listener prevented (re-read every 1 s only)"
	}
	scope := "organization"
	if global {
		scope = "global"
	}
	b.Logf("%d jobs per round × %d rounds; in flight per process: %v (two Queue+Watcher+store pools in one test process, not separate OS processes); %s switch; %s; activating transaction p50 %.2fms",
		jobs, b.N*rounds, split, scope, mode, benchMS(benchPercentile(commits, 0.5)))
	b.Logf("slowest cancellation per round and process: %v", roundMax)
	slices.Sort(fromStart)
	b.ReportMetric(benchMS(benchPercentile(fromStart, 0.99)), "p99-from-tx-start-ms")
	b.Logf("upper bound, from the activating transaction's start (BEGIN sent): p50=%.2fms p99=%.2fms max=%.2fms",
		benchMS(benchPercentile(fromStart, 0.5)), benchMS(benchPercentile(fromStart, 0.99)), benchMS(benchPercentile(fromStart, 1)))
	benchLatencies(b, "COMMIT returned → model call's context cancelled", lat)
}

// benchRawNotify measures PostgreSQL's NOTIFY delivery on this machine: one
// connection sends pg_notify in its own transaction, another LISTENs; the
// latency is from the sender's COMMIT returning to the listener's receipt.
func benchRawNotify(b *testing.B) {
	const perOp = 1000
	env := newBenchEnv(b)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, env.db.AppURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = listener.Close(context.Background()) })
	sender, err := pgx.Connect(ctx, env.db.AppURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sender.Close(context.Background()) })
	if _, err := listener.Exec(ctx, "LISTEN rampart_bench"); err != nil {
		b.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	received := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := listener.WaitForNotification(lctx); err != nil {
				return
			}
			received <- time.Now()
		}
	}()
	b.Cleanup(func() { cancel(); <-done })

	var lat, sendLat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N*perOp; i++ {
		t0 := time.Now()
		if _, err := sender.Exec(ctx, "SELECT pg_notify('rampart_bench', $1)", fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		select {
		case t2 := <-received:
			lat = append(lat, t2.Sub(t1))
			sendLat = append(sendLat, t2.Sub(t0))
		case <-time.After(5 * time.Second):
			b.Fatal("notification not received")
		}
	}
	b.StopTimer()
	slices.Sort(sendLat)
	b.Logf("statement sent → received: p50=%.3fms p99=%.3fms", benchMS(benchPercentile(sendLat, 0.5)), benchMS(benchPercentile(sendLat, 0.99)))
	benchLatencies(b, "COMMIT returned → notification received", lat)
}

// benchSleeper is a model that answers after a fixed delay.
type benchSleeper struct {
	delay time.Duration
	mu    sync.Mutex
	first time.Time // the first call since reset
}

func (p *benchSleeper) Name() string  { return "bench-sleeper" }
func (p *benchSleeper) Model() string { return "sleep-1" }

func (p *benchSleeper) Stream(ctx context.Context, _ llm.Request, onDelta func(string) error) (llm.Response, error) {
	p.mu.Lock()
	if p.first.IsZero() {
		p.first = time.Now()
	}
	p.mu.Unlock()
	t := time.NewTimer(p.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return llm.Response{}, &rampart.Error{Op: "bench.Stream", Kind: rampart.KindUnavailable, Message: "the model call was cancelled", Err: ctx.Err()}
	case <-t.C:
	}
	const text = "## Proposal\n\nA short benchmark proposal.\n"
	if err := onDelta(text); err != nil {
		return llm.Response{}, err
	}
	return llm.Response{Text: text, Model: "sleep-1", StopReason: "end_turn", Usage: llm.Usage{InputTokens: 60, OutputTokens: 10}}, nil
}

func (p *benchSleeper) reset() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.first
	p.first = time.Time{}
	return first
}

// benchNoopArgs is a job that does nothing: what is left is the queue's own cost.
type benchNoopArgs struct{}

func (benchNoopArgs) Kind() string { return "bench_noop" }

type benchNoopWorker struct {
	river.WorkerDefaults[benchNoopArgs]
	mu     sync.Mutex
	worked int
	first  time.Time
	last   time.Time
}

func (w *benchNoopWorker) Work(context.Context, *river.Job[benchNoopArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.worked == 0 {
		w.first = now
	}
	w.worked++
	w.last = now
	return nil
}

// BenchmarkQueueThroughput measures how close the queue comes to its
// ideal throughput. model: generation jobs (the whole worker path: claims,
// start, guard, reservation, a model that takes a fixed time d, finish) on
// 20 workers, against the ideal 20 / d (200 jobs/s for 100 ms), the jobs
// of 20 organizations dealt in turn, or all of one organization. noop: 5,000 jobs that do
// nothing, inserted in one InsertMany, on 20 and on 100 workers: River's own
// fetch/complete cost. Each is timed from the first job starting (the
// jobs are inserted before the queue starts) to the last one recorded.
func BenchmarkQueueThroughput(b *testing.B) {
	b.Run("model=100ms/workers=20/orgs=20", func(b *testing.B) { benchModelThroughput(b, 20, 20, 100*time.Millisecond, 400, 0) })
	// All in one organization: its jobs' token reservations and
	// settlements queue on the organization's ai_usage row lock.
	b.Run("model=100ms/workers=20/orgs=1", func(b *testing.B) { benchModelThroughput(b, 1, 20, 100*time.Millisecond, 400, 0) })
	b.Run("model=1s/workers=20/orgs=20", func(b *testing.B) { benchModelThroughput(b, 20, 20, time.Second, 100, 0) })
	for _, workers := range []int{20, 100} {
		b.Run(fmt.Sprintf("noop/workers=%d", workers), func(b *testing.B) { benchNoopThroughput(b, workers, 5000, 0) })
	}
	// The fetch cooldown is the smaller of PollInterval and 5 ms (fetchCooldown).
	b.Run("noop/workers=20/poll=5ms", func(b *testing.B) { benchNoopThroughput(b, 20, 5000, 5*time.Millisecond) })
}

func benchModelThroughput(b *testing.B, orgs, workers int, delay time.Duration, jobs int, poll time.Duration) {
	env := newBenchEnv(b)
	st := env.store(b, int32(workers+4))
	targets := env.targets(b, env.orgs(b, st, orgs), jobs/orgs)
	w := benchWatcher(b, st, killswitch.Options{})
	p := &benchSleeper{delay: delay}
	var elapsed time.Duration
	var settings string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		q, stop := benchQueue(b, st, Options{Provider: p, Watcher: w, Workers: workers, PerOrg: workers, PollInterval: poll})
		settings = fmt.Sprintf("PollInterval %s, FetchCooldown %s", q.opts.PollInterval, fetchCooldown(q.opts.PollInterval))
		benchRequest(b, q, targets, 8)
		base := env.count(b, `SELECT count(*) FROM ai_jobs WHERE status = 'succeeded'`)
		p.reset()
		b.StartTimer()
		if err := q.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchWait(b, fmt.Sprintf("%d jobs succeed", jobs), 5*time.Minute, 5*time.Millisecond, func() bool {
			return env.count(b, `SELECT count(*) FROM ai_jobs WHERE status = 'succeeded'`)-base == jobs
		})
		end := time.Now()
		b.StopTimer()
		elapsed += end.Sub(p.reset())
		stop()
		if n := env.count(b, sqlBenchUnfinished); n != 0 {
			b.Fatalf("%d jobs unfinished", n)
		}
	}
	rate := float64(b.N*jobs) / elapsed.Seconds()
	ideal := float64(workers) / delay.Seconds()
	perJob := time.Duration(float64(elapsed) * float64(workers) / float64(b.N*jobs))
	b.ReportMetric(rate, "jobs/s")
	b.ReportMetric(ideal, "ideal-jobs/s")
	b.ReportMetric(rate/ideal, "ratio")
	b.Logf("%d jobs × %d, %d workers, model %s: %.1f jobs/s vs ideal %.0f = %.3f; a worker slot spends %.1fms per job (%.1fms beyond the model); %s",
		jobs, b.N, workers, delay, rate, ideal, rate/ideal, benchMS(perJob), benchMS(perJob-delay), settings)
}

func benchNoopThroughput(b *testing.B, workers, jobs int, poll time.Duration) {
	env := newBenchEnv(b)
	st := env.store(b, 8)
	w := benchWatcher(b, st, killswitch.Options{})
	ctx := context.Background()
	params := make([]river.InsertManyParams, jobs)
	for i := range params {
		params[i] = river.InsertManyParams{Args: benchNoopArgs{}, InsertOpts: &river.InsertOpts{Queue: QueueName}}
	}
	var worked, completed time.Duration
	var settings string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nw := &benchNoopWorker{}
		q, stop := benchQueue(b, st, Options{Provider: &benchSleeper{}, Watcher: w, Workers: workers, PollInterval: poll,
			extraWorkers: func(ws *river.Workers) error { return river.AddWorkerSafely(ws, nw) }})
		settings = fmt.Sprintf("PollInterval %s, FetchCooldown %s", q.opts.PollInterval, fetchCooldown(q.opts.PollInterval))
		// InsertMany, not InsertManyFast: the fast path is COPY FROM, which
		// PostgreSQL refuses on a table with row-level security for a role
		// that does not bypass it (river_job is forced RLS; SQLSTATE 0A000).
		if res, err := q.client.InsertMany(ctx, params); err != nil || len(res) != jobs {
			b.Fatalf("insert: %d, %v", len(res), err)
		}
		base := env.count(b, `SELECT count(*) FROM river.river_job WHERE kind = 'bench_noop' AND state = 'completed'`)
		b.StartTimer()
		if err := q.Start(ctx); err != nil {
			b.Fatal(err)
		}
		benchWait(b, fmt.Sprintf("%d no-op jobs complete", jobs), 5*time.Minute, 5*time.Millisecond, func() bool {
			return env.count(b, `SELECT count(*) FROM river.river_job WHERE kind = 'bench_noop' AND state = 'completed'`)-base == jobs
		})
		end := time.Now()
		b.StopTimer()
		stop()
		nw.mu.Lock()
		if nw.worked != jobs {
			b.Fatalf("worked %d jobs, want %d", nw.worked, jobs)
		}
		worked += nw.last.Sub(nw.first)
		completed += end.Sub(nw.first)
		nw.mu.Unlock()
	}
	total := float64(b.N * jobs)
	b.ReportMetric(total/completed.Seconds(), "completed/s")
	b.ReportMetric(total/worked.Seconds(), "worked/s")
	b.Logf("%d no-op jobs × %d, %d workers: %.0f completed/s (recorded completed in river_job), %.0f worked/s (Work returned); %s",
		jobs, b.N, workers, total/completed.Seconds(), total/worked.Seconds(), settings)
}

// BenchmarkRequestWithAndWithoutNotify compares the throughput of request
// transactions (Queue.Request: budget read, then the ai_jobs row, the River
// job and the audit event in one transaction), 8 requesters of 8
// organizations at once, whose River insert
//   - quiet: never NOTIFYs (quietDriver, what Queue uses);
//   - river: NOTIFYs as River's own driver does (at most once per
//     FetchCooldown = 20 ms per client, River's insert-notify limiter);
//   - every: River's driver with the limiter at its 1 ms minimum, so nearly
//     every request transaction NOTIFYs (the cost of a notification per
//     request, e.g. with many API processes each with its own limiter).
//
// A connection LISTENs on River's insert channel throughout, as notified
// workers would, and counts what was sent. Phases of 320 requests
// alternate between the variants.
func BenchmarkRequestWithAndWithoutNotify(b *testing.B) {
	const (
		requesters = 8
		perPhase   = 40 // per requester
		phases     = 10 // per variant per op
	)
	env := newBenchEnv(b)
	ctx := context.Background()
	st := env.store(b, requesters+4)
	claims := env.orgs(b, st, requesters)
	w := benchWatcher(b, st, killswitch.Options{})
	quiet, _ := benchQueue(b, st, Options{Provider: &benchSleeper{}, Watcher: w})

	notifying := func(cooldown time.Duration) *Queue {
		driver, err := st.Jobs().QueueDriver(ctx, 4)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(driver.Close)
		client, err := river.NewClient[pgx.Tx](driver.Driver, &river.Config{Schema: store.QueueSchema, PollOnly: true,
			FetchPollInterval: quiet.opts.PollInterval, FetchCooldown: cooldown, MaxAttempts: quiet.opts.MaxAttempts})
		if err != nil {
			b.Fatal(err)
		}
		return &Queue{store: st, opts: quiet.opts, client: client, closer: driver.Close, ping: driver.Ping, log: quiet.log, orgs: map[uuid.UUID]int{}}
	}
	variants := []struct {
		name string
		q    *Queue
	}{{"quiet", quiet}, {"river", notifying(min(quiet.opts.PollInterval, 20*time.Millisecond))}, {"every", notifying(time.Millisecond)}}

	listener, err := pgx.Connect(ctx, env.db.AppURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = listener.Close(context.Background()) })
	if _, err := listener.Exec(ctx, `LISTEN "river.river_insert"`); err != nil {
		b.Fatal(err)
	}
	var heard atomic.Int64
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := listener.WaitForNotification(lctx); err != nil {
				return
			}
			heard.Add(1)
		}
	}()
	b.Cleanup(func() { cancel(); <-done })

	// Every request needs a proposal without a job under way.
	need := func(n int) [][]uuid.UUID {
		out := make([][]uuid.UUID, requesters)
		for r, c := range claims {
			out[r] = env.proposals(b, c, n)
		}
		return out
	}
	phase := func(q *Queue, props [][]uuid.UUID, from int) time.Duration {
		var wg sync.WaitGroup
		t0 := time.Now()
		for r, c := range claims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, p := range props[r][from : from+perPhase] {
					if _, err := q.Request(ctx, c, p, "bench"); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(t0)
	}
	// Warm the pools and plans.
	for _, v := range variants {
		phase(v.q, need(perPhase), 0)
	}
	took := make([]time.Duration, len(variants))
	notes := make([]int64, len(variants))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		props := need(len(variants) * phases * perPhase)
		b.StartTimer()
		from := 0
		for range phases {
			for k, v := range variants {
				before := heard.Load()
				took[k] += phase(v.q, props, from)
				from += perPhase
				time.Sleep(20 * time.Millisecond) // let the listener drain before counting
				notes[k] += heard.Load() - before
			}
		}
	}
	b.StopTimer()
	if b.Failed() {
		return
	}
	perVariant := float64(b.N * phases * perPhase * requesters)
	rate := make([]float64, len(variants))
	for k, v := range variants {
		rate[k] = perVariant / took[k].Seconds()
		b.ReportMetric(rate[k], v.name+"-req/s")
		b.Logf("%-5s %7.0f requests/s, %4d NOTIFYs in %d request transactions", v.name, rate[k], notes[k], int(perVariant))
	}
	b.ReportMetric(rate[0]/rate[1], "quiet/river")
	b.ReportMetric(rate[0]/rate[2], "quiet/every")
}
