package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// rtCounter counts round trips to PostgreSQL on the store's runtime and
// service pools: a statement sent on its own is one, a pipelined batch is
// one. A statement prepared for a connection's statement cache is counted
// apart: it is paid once per connection and statement, not per operation
// (under load a request may meet a pooled connection that has not run
// that statement yet). The queue's
// own pool (River polling) and the kill-switch listener are not the
// request's and are left out, and so is the watcher's periodic re-read.
type rtCounter struct {
	mu       sync.Mutex
	on       bool
	all      bool // count the watcher's re-read too
	trips    int
	prepares int
	log      []string
}

func (c *rtCounter) mine(conn *pgx.Conn) bool {
	app := conn.Config().RuntimeParams["application_name"]
	return app != "rampart-queue" && app != "rampart-killswitch"
}

func (c *rtCounter) add(conn *pgx.Conn, what string) {
	if !c.mine(conn) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on && (c.all || !strings.Contains(what, "killswitch_state()")) {
		if strings.HasPrefix(what, "prepare ") {
			c.prepares++
		} else {
			c.trips++
		}
		c.log = append(c.log, what)
	}
}

func (c *rtCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.add(conn, oneLine(d.SQL))
	return ctx
}
func (c *rtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *rtCounter) TraceBatchStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var sqls []string
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, oneLine(q.SQL))
	}
	c.add(conn, "batch["+strings.Join(sqls, " ; ")+"]")
	return ctx
}
func (c *rtCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *rtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c *rtCounter) TracePrepareStart(ctx context.Context, conn *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	c.add(conn, "prepare "+oneLine(d.SQL))
	return ctx
}
func (c *rtCounter) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// measure counts the round trips of each of n runs of op (after one
// warm-up run, which fills the statement caches) and returns the fewest
// one run took: background work of the test process on the same pool (the
// watcher's periodic re-read, a sweep) can add a trip to a run, never take
// one away, so the minimum is the operation's own count, and an operation
// that grows grows in every run.
func (c *rtCounter) measure(t *testing.T, n int, op func()) float64 {
	t.Helper()
	op()
	fewest, total := -1, 0
	var first []string
	for i := range n {
		c.mu.Lock()
		c.on, c.trips, c.log = true, 0, nil
		c.mu.Unlock()
		op()
		c.mu.Lock()
		c.on = false
		if fewest < 0 || c.trips < fewest {
			fewest = c.trips
		}
		total += c.trips
		if i == 0 {
			first = c.log
		}
		c.mu.Unlock()
	}
	for _, l := range first[:min(len(first), 12)] {
		t.Logf("  %.160s", l)
	}
	t.Logf("  fewest %d, mean %.2f round trips over %d runs", fewest, float64(total)/float64(n), n)
	return float64(fewest)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// The most round trips each operation may take (issue #11: none may grow).
// A tenant read is the credential's resolution (one batch) and the tenant
// transaction: its opening statements sent with the read, then COMMIT.
const (
	maxTripsTenantRead   = 3
	maxTripsAIRequest    = 10
	maxTripsAIRun        = 6
	maxTripsWatcherCheck = 1
)

// TestRoundTripsPerOperation counts round trips to PostgreSQL per tenant
// read (a session and an API token listing venues), per AI generation
// request, per AI job run (worker: claims, start, finish) and per
// kill-switch re-read, and fails if any grows beyond what it takes today
// (measured before the reshape of issue #11: 4, 4, 12, 9 and 4; the
// re-read is one batch since, and a transaction's opening statements ride
// with its first statement since issue #12: 3, 3, 10, 7 and 1; the token
// reservation rides with the start of a job run since: 6). The
// counts are exact, not timings.
func TestRoundTripsPerOperation(t *testing.T) {
	rt := &rtCounter{}
	e := newTracedEnv(t, &aiOptions{Workers: 1}, rt)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	producer := e.signIn(acme.email(rampart.RoleProducer))
	tr := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": "rt", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1})
	if tr.status != http.StatusCreated {
		t.Fatalf("issue token: %d %s", tr.status, tr.body)
	}
	token := tr.json(t)["token"].(string)

	read := func(c *http.Client, headers ...string) func() {
		return func() {
			if r := e.do(c, http.MethodGet, "/api/venues", nil, headers...); r.status != http.StatusOK {
				t.Fatalf("GET /api/venues: %d %s", r.status, r.body)
			}
		}
	}
	session := rt.measure(t, 20, read(producer))
	t.Logf("tenant read with a session: %.2f round trips", session)
	bearer := rt.measure(t, 20, read(e.client(), "Authorization", "Bearer "+token))
	t.Logf("tenant read with an API token: %.2f round trips", bearer)

	// A generation request, then its job's run by the worker, counted
	// apart (the first pair warms the statement caches); the fewest of
	// the runs, as in measure.
	req, run := -1.0, -1.0
	const jobs = 3
	for i := range jobs + 1 {
		id := e.newProposal(producer, map[string]any{"title": "Round trips", "brief": "A launch for 300 guests."})
		rt.mu.Lock()
		rt.on, rt.trips, rt.log = true, 0, nil
		rt.mu.Unlock()
		jobID := e.mustGenerate(producer, id)
		rt.mu.Lock()
		r := rt.trips
		rt.mu.Unlock()
		e.waitJobDone(jobID)
		rt.mu.Lock()
		w := rt.trips - r
		if i == 1 {
			for _, l := range rt.log {
				t.Logf("  %.160s", l)
			}
		}
		rt.on = false
		rt.mu.Unlock()
		if i > 0 {
			if req < 0 || float64(r) < req {
				req = float64(r)
			}
			if run < 0 || float64(w) < run {
				run = float64(w)
			}
		}
	}
	t.Logf("generation request: %.2f round trips; job run (worker): %.2f round trips", req, run)

	// The kill-switch watcher's periodic re-read, on every process.
	rt.mu.Lock()
	rt.all = true
	rt.mu.Unlock()
	watcher := rt.measure(t, 10, func() {
		if _, err := e.store.KillSwitchState(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("kill-switch state re-read: %.2f round trips", watcher)

	for _, c := range []struct {
		what string
		got  float64
		max  float64
	}{
		{"tenant read (session)", session, maxTripsTenantRead},
		{"tenant read (API token)", bearer, maxTripsTenantRead},
		{"AI generation request", req, maxTripsAIRequest},
		{"AI job run", run, maxTripsAIRun},
		{"kill-switch state re-read", watcher, maxTripsWatcherCheck},
	} {
		if c.got > c.max {
			t.Errorf("%s takes %.2f round trips, more than %.0f", c.what, c.got, c.max)
		}
	}
}

// waitJobDone waits, reading as the superuser (no traced round trips),
// until the AI job has finished.
func (e *env) waitJobDone(id string) {
	e.t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for e.scalar(`SELECT count(*)::int FROM ai_jobs WHERE id = $1 AND status IN ('succeeded','failed','cancelled','refused','needs_review')`, id) == 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s did not finish", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
