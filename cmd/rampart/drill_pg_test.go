package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

// drillCluster is a PostgreSQL cluster of a drill's own: the harness's
// cluster serves every test of the package and must not be restarted.
// It is prepared like the embedded one (roles, logins, migrated database)
// and serve reaches it through DATABASE_URL, as an external server it
// does not manage.
type drillCluster struct {
	cfg pgcluster.Config
	cl  *pgcluster.Cluster
	db  *pgtest.DB // its URLs, in the shape the helpers take
}

const drillDatabase = "rampart"

// newDrillCluster starts a drill's cluster with the test harness's
// settings and extra ones.
func newDrillCluster(t testing.TB, extra map[string]string) *drillCluster {
	t.Helper()
	dir := dataDir(t) // reachable by the cluster's system user when the test runs as root
	settings := map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}
	for k, v := range extra {
		settings[k] = v
	}
	c := &drillCluster{cfg: pgcluster.Config{Dir: dir, NoSync: true, Settings: settings}}
	c.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	superURL := func(db string) string { return c.cl.URL(pgcluster.Superuser, db) }
	if err := store.Prepare(ctx, superURL, drillDatabase, pgtest.Login); err != nil {
		t.Fatalf("prepare the drill's cluster: %v", err)
	}
	c.db = &pgtest.DB{Name: drillDatabase, AppURL: c.cl.URL(pgtest.Login, drillDatabase),
		ServiceURL: c.cl.URL(store.ServiceLogin(pgtest.Login), drillDatabase), AdminURL: superURL(drillDatabase)}
	t.Cleanup(func() {
		if c.cl != nil {
			_ = c.cl.Close()
		}
	})
	return c
}

// start starts the cluster (again) on its data directory.
func (c *drillCluster) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := pgcluster.Open(ctx, c.cfg, pgcluster.Purpose{Name: "drill", LongRunning: true})
	if err != nil {
		t.Fatalf("start the drill's cluster: %v\n%s", err, c.logTail())
	}
	c.cl = cl
}

// stop shuts the cluster down (fast shutdown: sessions are terminated).
func (c *drillCluster) stop(t testing.TB) {
	t.Helper()
	if err := c.cl.Close(); err != nil {
		t.Fatalf("stop the drill's cluster: %v", err)
	}
	c.cl = nil
}

func (c *drillCluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.cfg.Dir, "log", "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// venueLoad is a write load of audited mutations: clients create venues
// through the API as fast as they can and record every acknowledged
// (201) write. A refused connection or a 5xx is a failure (the server or
// its database is down); any other answer is unexpected.
type venueLoad struct {
	base   func() string
	token  string
	prefix string

	mu         sync.Mutex
	acked      []string
	ackedAt    []time.Time
	attempts   atomic.Int64
	failures   atomic.Int64
	unexpected atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startVenueLoad(base func() string, token, prefix string, clients int) *venueLoad {
	l := &venueLoad{base: base, token: token, prefix: prefix, stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range clients {
		l.wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				code := fmt.Sprintf("%s%d-%05d", prefix, w, n)
				l.attempts.Add(1)
				req, _ := http.NewRequest(http.MethodPost, l.base()+"/api/venues",
					strings.NewReader(`{"code":"`+code+`","name":"Drill `+code+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					l.failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch {
				case res.StatusCode == http.StatusCreated:
					l.mu.Lock()
					l.acked = append(l.acked, code)
					l.ackedAt = append(l.ackedAt, time.Now())
					l.mu.Unlock()
				case res.StatusCode >= 500:
					l.failures.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					l.unexpected.Store(fmt.Sprintf("%s: %d %s", code, res.StatusCode, body))
				}
			}
		})
	}
	return l
}

// ackedSince counts the writes acknowledged after at.
func (l *venueLoad) ackedSince(at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.ackedAt {
		if a.After(at) {
			n++
		}
	}
	return n
}

// finish stops the clients and returns the acknowledged codes; an
// unexpected answer fails the test.
func (l *venueLoad) finish(t *testing.T) []string {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if v, _ := l.unexpected.Load().(string); v != "" {
		t.Fatalf("an unexpected answer: %s", v)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

// checkVenueWrites asserts that every acknowledged venue exists exactly
// once with exactly one venue.created event, and that no venue of the
// load (codes starting with prefix) lacks its event nor any event its venue.
func checkVenueWrites(t *testing.T, adminURL, prefix string, acked []string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(q string, args ...any) int {
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count(`SELECT count(*)::int FROM unnest($1::text[]) a(code)
WHERE (SELECT count(*) FROM venues v WHERE v.code = a.code) = 1
  AND (SELECT count(*) FROM audit_events e JOIN venues v ON e.target_id = v.id::text
       WHERE v.code = a.code AND e.action = 'venue.created') = 1`, acked); n != len(acked) {
		t.Errorf("%d of %d acknowledged venues exist exactly once with exactly one venue.created event", n, len(acked))
	}
	if n := count(`SELECT count(*)::int FROM venues v WHERE v.code LIKE $1 || '%'
AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.action = 'venue.created' AND e.target_id = v.id::text)`, prefix); n != 0 {
		t.Errorf("%d venues without their audit event", n)
	}
	if n := count(`SELECT count(*)::int FROM audit_events e WHERE e.action = 'venue.created'
AND NOT EXISTS (SELECT 1 FROM venues v WHERE v.id::text = e.target_id)`); n != 0 {
		t.Errorf("%d venue.created events without their venue", n)
	}
}

// readiness polls GET /api/health/ready and returns its status (0 when
// the request failed).
func readiness(client *http.Client, base string) int {
	res, err := client.Get(base + "/api/health/ready")
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestDrillPostgresRestartUnderLoad (issue #12): serve runs on a
// PostgreSQL it does not manage while four clients create venues through
// the API, recording every acknowledged write. PostgreSQL is stopped
// (fast shutdown) and started again, once (RAMPART_DRILL_PG_RESTARTS in
// make drills). While it is down readiness answers 503 (how soon after
// the stop is measured and logged: the goal is 5 s); serve recovers
// without a restart of its own (readiness 200 again, writes acknowledged
// again); every acknowledged write exists exactly once with its one audit
// event; `rampart audit verify` passes.
func TestDrillPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL and an OS process")
	}
	t.Parallel()
	restarts, down := 1, 2*time.Second
	if v, err := strconv.Atoi(os.Getenv("RAMPART_DRILL_PG_RESTARTS")); err == nil && v > 0 {
		restarts, down = v, 5*time.Second
	}
	pg := newDrillCluster(t, nil)
	env := externalEnv(pg.db, pg.db.AppURL)
	env["RAMPART_LOG_FORMAT"] = "text"
	env["RAMPART_RATE_LIMITS"] = "api=100000/1m,org-api=100000/1m"
	env["RAMPART_AUDIT_SEAL_INTERVAL"] = "1s"
	st := openTestStore(t, pg.db)
	token := drillAdminToken(t, st)
	st.Close() // the test's own pool must not outlive the cluster's restarts

	serve := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	base := serve.ready(t)
	load := startVenueLoad(func() string { return base }, token, "P", 4)
	probe := &http.Client{Timeout: 2 * time.Second}

	waitFor := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %s\nserve:\n%s\npostgres:\n%s", what, limit, serve.output(), pg.logTail())
			}
			time.Sleep(25 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("writes acknowledged before the first restart", 60*time.Second, func() bool { return load.ackedSince(time.Time{}) >= 50 })

	var to503, toReady, toWrite []time.Duration
	var failedSoFar int64
	for r := range restarts {
		// Readiness is watched from the moment the stop begins; the
		// first 503 is recorded while the database is down.
		stopAt := time.Now()
		var first503 atomic.Int64 // ns after stopAt; 0 = not yet
		watchDone := make(chan struct{})
		stopWatch := make(chan struct{})
		go func() {
			defer close(watchDone)
			for {
				select {
				case <-stopWatch:
					return
				default:
				}
				if readiness(probe, base) == http.StatusServiceUnavailable {
					first503.CompareAndSwap(0, int64(time.Since(stopAt)))
					return
				}
				time.Sleep(25 * time.Millisecond)
			}
		}()
		pg.stop(t)
		stopped := time.Since(stopAt)
		// Down for at least `down`, and until readiness has said 503
		// (or 30 s have passed: then the drill fails).
		deadline := time.Now().Add(30 * time.Second)
		for time.Since(stopAt) < down || (first503.Load() == 0 && time.Now().Before(deadline)) {
			time.Sleep(25 * time.Millisecond)
		}
		close(stopWatch)
		<-watchDone
		if first503.Load() == 0 {
			t.Fatalf("restart %d: readiness never answered 503 in %s with PostgreSQL down\nserve:\n%s", r, time.Since(stopAt).Round(time.Millisecond), serve.output())
		}
		to503 = append(to503, time.Duration(first503.Load()))
		failedWhileDown := load.failures.Load() - failedSoFar

		startAt := time.Now()
		pg.start(t)
		started := time.Since(startAt)
		toReady = append(toReady, waitFor("readiness 200 after PostgreSQL is back", 60*time.Second, func() bool {
			return readiness(probe, base) == http.StatusOK
		})+started)
		toWrite = append(toWrite, waitFor("a write acknowledged after PostgreSQL is back", 60*time.Second, func() bool {
			return load.ackedSince(startAt) > 0
		})+started)
		waitFor("writes flowing again", 60*time.Second, func() bool { return load.ackedSince(startAt) >= 50 })
		t.Logf("restart %d: fast shutdown took %s; readiness 503 %s after the stop began; PostgreSQL down %s; readiness 200 %s and first write acknowledged %s after the start began (start took %s); %d failed writes while down",
			r+1, stopped.Round(time.Millisecond), to503[r].Round(time.Millisecond), startAt.Sub(stopAt).Round(time.Millisecond),
			toReady[r].Round(time.Millisecond), toWrite[r].Round(time.Millisecond), started.Round(time.Millisecond), failedWhileDown)
		failedSoFar = load.failures.Load()
		if to503[r] > 5*time.Second {
			t.Logf("restart %d: readiness turned 503 after %s: the goal of 5 s is missed", r+1, to503[r].Round(time.Millisecond))
		}
	}
	acked := load.finish(t)
	t.Logf("%d restarts: %d writes attempted, %d acknowledged, %d failed while PostgreSQL was down or recovering; to 503 %v; to ready %v; to first write %v",
		restarts, load.attempts.Load(), len(acked), load.failures.Load(), roundAll(to503), roundAll(toReady), roundAll(toWrite))
	if err := serve.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("serve did not survive the restarts (%v):\n%s", err, serve.output())
	}
	checkVenueWrites(t, pg.db.AdminURL, "P", acked)
	if code, out, errOut := run(t, env, "audit", "verify"); code != 0 {
		t.Errorf("audit verify after the restarts: %d\n%s\n%s", code, out, errOut)
	}
}

func roundAll(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return out
}
