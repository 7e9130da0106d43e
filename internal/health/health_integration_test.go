package health_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/api"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/store"
)

type readyBody struct {
	Status     string                      `json:"status"`
	Components map[string]health.Component `json:"components"`
}

func getReady(t *testing.T, client *http.Client, url string) (int, readyBody) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b readyBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, b
}

// The issue 4 acceptance test: /api/health/ready reports degraded (503)
// within 5 s of stopping PostgreSQL and recovers by itself after it
// restarts, on the same store (the pgx pool reconnects).
func TestReadyDegradesAndRecoversWithPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops a PostgreSQL cluster")
	}
	dir, err := os.MkdirTemp("", "rampart-health-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the cluster runs as postgres when we are root
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := pgcluster.Config{Dir: dir, NoSync: true, Settings: map[string]string{"fsync": "off"}}
	purpose := pgcluster.Purpose{Name: "health-test", LongRunning: true}
	cl, err := pgcluster.Open(ctx, cfg, purpose)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	super := func(db string) string { return cl.URL(pgcluster.Superuser, db) }
	if err := store.Prepare(ctx, super, "health", "rampart"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cl.URL("rampart", "health"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	// The exact readiness wiring of `rampart serve`.
	srv := httptest.NewServer(api.Readiness(st, nil, 0).Handler())
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second}

	code, b := getReady(t, client, srv.URL)
	if code != http.StatusOK || b.Status != health.StatusOK {
		t.Fatalf("before: %d %+v", code, b)
	}
	if got := b.Components["database"]; got != (health.Component{Status: "ok", Breaker: "closed"}) {
		t.Fatalf("database before: %+v", got)
	}
	if got := b.Components["migrations"]; got.Status != "ok" {
		t.Fatalf("migrations before: %+v", got)
	}
	for _, name := range []string{"job_queue", "llm", "killswitch_watcher"} {
		if got := b.Components[name]; got.Status != "not_configured" {
			t.Fatalf("%s: %+v", name, got)
		}
	}
	socketBefore := cl.SocketDirectory()

	// Stop PostgreSQL: degraded within 5 s (the bound), counted
	// from the moment the stop is requested.
	stopAt := time.Now()
	if err := cl.Close(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	stopped := time.Since(stopAt)
	degradeBy := stopAt.Add(5 * time.Second)
	var degradedAfter time.Duration
	for {
		code, b = getReady(t, client, srv.URL)
		if code == http.StatusServiceUnavailable && b.Status == health.StatusDegraded && b.Components["database"].Status == "fail" {
			degradedAfter = time.Since(stopAt)
			break
		}
		if time.Now().After(degradeBy) {
			t.Fatalf("still %d %+v 5 s after stopping PostgreSQL", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("PostgreSQL stopped in %v; ready answered 503 %v after the stop began: %+v", stopped.Round(time.Millisecond), degradedAfter.Round(time.Millisecond), b.Components)

	// Keep polling: the breaker opens and readiness then answers at once.
	openBy := time.Now().Add(5 * time.Second)
	for b.Components["database"].Breaker != "open" {
		if time.Now().After(openBy) {
			t.Fatalf("breaker never opened: %+v", b.Components["database"])
		}
		time.Sleep(100 * time.Millisecond)
		code, b = getReady(t, client, srv.URL)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("ready answered %d while PostgreSQL is down", code)
		}
	}
	start := time.Now()
	code, b = getReady(t, client, srv.URL)
	fast := time.Since(start)
	if code != http.StatusServiceUnavailable || b.Components["database"].Detail != "circuit open" {
		t.Fatalf("open breaker: %d %+v", code, b.Components["database"])
	}
	t.Logf("breaker open: ready answers 503 in %v: %+v", fast.Round(time.Microsecond), b.Components["database"])

	// Restart PostgreSQL on the same data directory: ready recovers by
	// itself, with the same store and pool.
	restartAt := time.Now()
	cl2, err := pgcluster.Open(ctx, cfg, purpose)
	if err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = cl2.Close() })
	started := time.Since(restartAt)
	if cl2.SocketDirectory() != socketBefore {
		t.Errorf("the socket moved from %s to %s on restart: the pool cannot reconnect", socketBefore, cl2.SocketDirectory())
	}
	recoverBy := restartAt.Add(30 * time.Second)
	var recoveredAfter time.Duration
	for {
		code, b = getReady(t, client, srv.URL)
		if code == http.StatusOK {
			recoveredAfter = time.Since(restartAt)
			break
		}
		if time.Now().After(recoverBy) {
			t.Fatalf("still %d %+v 30 s after restarting PostgreSQL", code, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b.Status != health.StatusOK || b.Components["database"] != (health.Component{Status: "ok", Breaker: "closed"}) || b.Components["migrations"].Status != "ok" {
		t.Fatalf("recovered: %+v", b)
	}
	t.Logf("PostgreSQL restarted in %v; ready answered 200 %v after the restart began (%v after it accepted connections)",
		started.Round(time.Millisecond), recoveredAfter.Round(time.Millisecond), (recoveredAfter - started).Round(time.Millisecond))
}
