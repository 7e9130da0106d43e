package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

var errSecret = errors.New(`dial unix /srv/secret/run/.s.PGSQL.5432: password=hunter2 user=admin`)

func fails(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func TestStatusesAndDetails(t *testing.T) {
	c := New(Options{},
		OK("configuration"),
		NotConfigured("job_queue"),
		Check{Name: "optional", Run: fails(errSecret)},
		Check{Name: "raw", Run: fails(errSecret), Critical: true},
		Check{Name: "safe", Run: fails(Fail("schema behind", errSecret)), Critical: true},
		Check{Name: "domain", Run: fails(rampart.Errorf("store.CheckSchema", rampart.KindUnavailable, "database schema is at migration 3, this binary needs 4")), Critical: true},
		Check{Name: "unavailable", Run: fails(rampart.Wrap("store.Ping", rampart.KindUnavailable, errSecret)), Critical: true},
		Check{Name: "panics", Run: func(context.Context) error { panic("boom " + errSecret.Error()) }},
	)
	r := c.Run(context.Background())
	if r.Status != StatusDegraded || r.OK() {
		t.Fatalf("status = %q, want degraded", r.Status)
	}
	want := map[string]Component{
		"configuration": {Status: ComponentOK},
		"job_queue":     {Status: ComponentNotConfigured},
		"optional":      {Status: ComponentFail, Detail: "check failed"},
		"raw":           {Status: ComponentFail, Detail: "check failed"},
		"safe":          {Status: ComponentFail, Detail: "schema behind"},
		"domain":        {Status: ComponentFail, Detail: "database schema is at migration 3, this binary needs 4"},
		"unavailable":   {Status: ComponentFail, Detail: "unavailable"},
		"panics":        {Status: ComponentFail, Detail: "check failed"},
	}
	if len(r.Components) != len(want) {
		t.Fatalf("components = %v", r.Components)
	}
	for name, w := range want {
		if got := r.Components[name]; got != w {
			t.Errorf("%s = %+v, want %+v", name, got, w)
		}
	}
	body, _ := json.Marshal(r)
	for _, secret := range []string{"hunter2", "admin", "/srv/secret", "boom"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("report leaks %q: %s", secret, body)
		}
	}
}

func TestNonCriticalFailureStaysOK(t *testing.T) {
	c := New(Options{}, OK("a"), NotConfigured("llm"), Check{Name: "b", Run: fails(errSecret)})
	if r := c.Run(context.Background()); r.Status != StatusOK {
		t.Fatalf("status = %q, want ok: %+v", r.Status, r)
	}
}

func TestNewRejectsBadWiring(t *testing.T) {
	for name, checks := range map[string][]Check{
		"duplicate": {OK("a"), OK("a")},
		"no name":   {{Run: fails(nil)}},
		"no run":    {{Name: "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("New did not panic")
				}
			}()
			New(Options{}, checks...)
		})
	}
}

// Checks run concurrently, each under its own timeout, and a check that
// ignores its context does not hold the report past the timeout.
func TestConcurrencyAndTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleep := func(d time.Duration) func(context.Context) error {
			return func(ctx context.Context) error {
				select {
				case <-time.After(d):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		c := New(Options{},
			Check{Name: "a", Run: sleep(800 * time.Millisecond), Critical: true},
			Check{Name: "b", Run: sleep(800 * time.Millisecond), Critical: true},
			Check{Name: "c", Run: sleep(800 * time.Millisecond), Critical: true},
		)
		start := time.Now()
		if r := c.Run(context.Background()); !r.OK() {
			t.Fatalf("report = %+v", r)
		}
		if d := time.Since(start); d != 800*time.Millisecond {
			t.Fatalf("three 800 ms checks took %v: not concurrent", d)
		}

		c = New(Options{},
			Check{Name: "slow", Run: sleep(time.Hour), Critical: true},
			Check{Name: "deaf", Run: func(context.Context) error { time.Sleep(5 * time.Second); return nil }, Critical: true},
			Check{Name: "patient", Run: sleep(2 * time.Second), Timeout: 3 * time.Second, Critical: true},
		)
		start = time.Now()
		r := c.Run(context.Background())
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("report took %v, want 2s (the longest check within its timeout)", d)
		}
		if r.Status != StatusDegraded {
			t.Fatalf("status = %q", r.Status)
		}
		for _, name := range []string{"slow", "deaf"} {
			if got := r.Components[name]; got != (Component{Status: ComponentFail, Detail: "timed out after 1s"}) {
				t.Errorf("%s = %+v", name, got)
			}
		}
		if got := r.Components["patient"]; got.Status != ComponentOK {
			t.Errorf("patient = %+v", got)
		}

		c = New(Options{Timeout: 250 * time.Millisecond}, Check{Name: "slow", Run: sleep(time.Hour)})
		start = time.Now()
		r = c.Run(context.Background())
		if d := time.Since(start); d != 250*time.Millisecond || r.Components["slow"].Detail != "timed out after 250ms" {
			t.Fatalf("after %v: %+v", d, r)
		}
		time.Sleep(5 * time.Second) // let the deaf check finish inside the bubble
	})
}

// The breaker goes closed → open after 3 consecutive failures → half-open
// after its timeout → closed when the probe succeeds, and reports it.
func TestBreakerTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var healthy atomic.Bool
		var calls atomic.Int32
		var transitions []string
		chk := WithBreaker("database", func(context.Context) error {
			calls.Add(1)
			if healthy.Load() {
				return nil
			}
			return Fail("cannot reach PostgreSQL", errSecret)
		}, BreakerSettings{OnStateChange: func(name, from, to string) {
			transitions = append(transitions, name+":"+from+"->"+to)
		}})
		if !chk.Critical {
			t.Fatal("WithBreaker check is not critical")
		}
		c := New(Options{}, chk)
		db := func() Component { return c.Run(context.Background()).Components["database"] }

		healthy.Store(true)
		if got := db(); got != (Component{Status: ComponentOK, Breaker: "closed"}) {
			t.Fatalf("healthy: %+v", got)
		}
		healthy.Store(false)
		for i, wantBreaker := range []string{"closed", "closed", "open"} {
			got := db()
			if got != (Component{Status: ComponentFail, Detail: "cannot reach PostgreSQL", Breaker: wantBreaker}) {
				t.Fatalf("failure %d: %+v", i+1, got)
			}
		}
		before := calls.Load()
		start := time.Now()
		for range 5 {
			if got := db(); got != (Component{Status: ComponentFail, Detail: "circuit open", Breaker: "open"}) {
				t.Fatalf("open: %+v", got)
			}
		}
		if calls.Load() != before || time.Since(start) != 0 {
			t.Fatalf("an open breaker called the dependency (%d calls) or waited (%v)", calls.Load()-before, time.Since(start))
		}

		// Half-open after the timeout; a failed probe opens it again.
		time.Sleep(DefaultBreakerOpenTimeout + time.Millisecond)
		if s := chk.BreakerState(); s != "half-open" {
			t.Fatalf("after the timeout: %q", s)
		}
		if got := db(); got.Status != ComponentFail || got.Breaker != "open" || got.Detail != "cannot reach PostgreSQL" {
			t.Fatalf("failed probe: %+v", got)
		}
		if calls.Load() != before+1 {
			t.Fatalf("half-open let %d probes through, want 1", calls.Load()-before)
		}

		// Recovery is detected by itself on the next probe.
		healthy.Store(true)
		if got := db(); got.Breaker != "open" || got.Detail != "circuit open" {
			t.Fatalf("before the timeout: %+v", got)
		}
		time.Sleep(DefaultBreakerOpenTimeout + time.Millisecond)
		r := c.Run(context.Background())
		if !r.OK() || r.Components["database"] != (Component{Status: ComponentOK, Breaker: "closed"}) {
			t.Fatalf("recovered: %+v", r)
		}
		want := []string{
			"database:closed->open", "database:open->half-open", "database:half-open->open",
			"database:open->half-open", "database:half-open->closed",
		}
		if strings.Join(transitions, " ") != strings.Join(want, " ") {
			t.Fatalf("transitions = %v, want %v", transitions, want)
		}
	})
}

// A hanging dependency costs a timeout per report only until the breaker
// opens; then the report is immediate.
func TestBreakerOpensOnTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		c := New(Options{}, WithBreaker("database", hang, BreakerSettings{Failures: 2, OpenTimeout: 10 * time.Second}))
		for i := range 2 {
			start := time.Now()
			r := c.Run(context.Background())
			if d := time.Since(start); d != time.Second || r.Components["database"].Detail != "timed out after 1s" {
				t.Fatalf("report %d after %v: %+v", i+1, d, r)
			}
		}
		start := time.Now()
		r := c.Run(context.Background())
		if d := time.Since(start); d != 0 || r.Status != StatusDegraded || r.Components["database"] != (Component{Status: ComponentFail, Detail: "circuit open", Breaker: "open"}) {
			t.Fatalf("after %v: %+v", d, r)
		}
	})
}

// Reports whose caller went away do not count against the dependency.
func TestBreakerIgnoresCancelledCallers(t *testing.T) {
	c := New(Options{}, WithBreaker("database", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, BreakerSettings{}))
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := c.Run(ctx)
		if got := r.Components["database"]; got.Status != ComponentFail || got.Breaker != "closed" {
			t.Fatalf("cancelled: %+v", got)
		}
	}
}

// While a half-open probe is in flight, other reports fail at once.
func TestBreakerHalfOpenSingleProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var fail atomic.Bool
		fail.Store(true)
		chk := WithBreaker("database", func(ctx context.Context) error {
			if fail.Load() {
				return errSecret
			}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, BreakerSettings{Failures: 1, OpenTimeout: time.Second})
		c := New(Options{Timeout: 5 * time.Second}, chk)
		c.Run(context.Background())
		time.Sleep(time.Second + time.Millisecond)
		fail.Store(false)
		probe := make(chan Report)
		go func() { probe <- c.Run(context.Background()) }()
		synctest.Wait() // the probe is blocked in the dependency
		r := c.Run(context.Background())
		if got := r.Components["database"]; got != (Component{Status: ComponentFail, Detail: "circuit half-open, probe in progress", Breaker: "half-open"}) {
			t.Fatalf("during the probe: %+v", got)
		}
		close(release)
		if r := <-probe; !r.OK() || r.Components["database"].Breaker != "closed" {
			t.Fatalf("probe: %+v", r)
		}
	})
}

func TestHandler(t *testing.T) {
	var down atomic.Bool
	c := New(Options{},
		Check{Name: "database", Critical: true, Run: func(context.Context) error {
			if down.Load() {
				return Fail("cannot reach PostgreSQL", errSecret)
			}
			return nil
		}},
		NotConfigured("llm"),
	)
	h := c.Handler()
	get := func(method string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/api/health/ready", nil))
		return w
	}
	type body struct {
		Status     string               `json:"status"`
		Components map[string]Component `json:"components"`
	}
	check := func(w *httptest.ResponseRecorder, code int, status string) body {
		t.Helper()
		if w.Code != code {
			t.Fatalf("code = %d, want %d", w.Code, code)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var b body
		dec := json.NewDecoder(w.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			t.Fatal(err)
		}
		if b.Status != status {
			t.Fatalf("status = %q, want %q", b.Status, status)
		}
		return b
	}
	b := check(get(http.MethodGet), http.StatusOK, StatusOK)
	if b.Components["llm"].Status != ComponentNotConfigured || b.Components["database"].Status != ComponentOK {
		t.Fatalf("components = %+v", b.Components)
	}
	down.Store(true)
	w := get(http.MethodGet)
	raw := w.Body.String()
	b = check(w, http.StatusServiceUnavailable, StatusDegraded)
	if b.Components["database"] != (Component{Status: ComponentFail, Detail: "cannot reach PostgreSQL"}) {
		t.Fatalf("database = %+v", b.Components["database"])
	}
	if strings.Contains(raw, "hunter2") || strings.Contains(raw, "/srv/secret") {
		t.Fatalf("body leaks the cause: %s", raw)
	}
	if w := get(http.MethodHead); w.Code != http.StatusServiceUnavailable || w.Body.Len() != 0 {
		t.Fatalf("HEAD: %d %q", w.Code, w.Body.String())
	}
}

func TestHandlerCache(t *testing.T) {
	t.Parallel()
	runs := 0
	c := New(Options{CacheFor: time.Hour}, Check{Name: "db", Critical: true, Run: func(context.Context) error { runs++; return nil }})
	for range 5 {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if runs != 1 {
		t.Fatalf("checks ran %d times within the cache period, want 1", runs)
	}
	uncached := New(Options{}, Check{Name: "db", Run: func(context.Context) error { runs++; return nil }})
	uncached.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ready", nil))
	uncached.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ready", nil))
	if runs != 3 {
		t.Fatalf("without a cache every request runs the checks (runs=%d)", runs)
	}
}

func TestWarnKeepsTheComponentOK(t *testing.T) {
	t.Parallel()
	c := New(Options{}, Check{Name: "configuration", Run: func(context.Context) error { return Warn("mail is not sent") }})
	rep := c.Run(context.Background())
	if comp := rep.Components["configuration"]; comp.Status != ComponentOK || comp.Detail != "mail is not sent" || !rep.OK() {
		t.Fatalf("%+v", rep)
	}
}
