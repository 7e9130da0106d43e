package killswitch_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// fakeSource is a Source in memory. Reads return the state set with set
// (or readErr); the listener, when enabled, delivers payloads sent with
// notify and acknowledges each once the Watcher has handled it.
type fakeSource struct {
	mu      sync.Mutex
	state   store.KillState
	readErr error

	reads    atomic.Int64
	returned atomic.Int64
	listens  atomic.Int64

	// hold, when set, makes each read take its copy of the state and then
	// wait: it sends a channel on held and returns once that is closed.
	hold atomic.Bool
	held chan chan struct{}

	// listen says what ListenKillSwitch does: nil = connect and deliver
	// notes; otherwise return the error at once (a refused connection).
	listenErr func(attempt int64) error
	notes     chan string
	handled   chan struct{}
}

func newFakeSource() *fakeSource {
	return &fakeSource{state: store.KillState{Orgs: map[uuid.UUID]time.Time{}},
		notes: make(chan string), handled: make(chan struct{}), held: make(chan chan struct{}, 8)}
}

func (f *fakeSource) set(global bool, reason string, orgs ...uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = store.KillState{Global: store.KillSwitchLevel{Active: global, Reason: reason}, Orgs: map[uuid.UUID]time.Time{}}
	for _, o := range orgs {
		f.state.Orgs[o] = time.Now()
	}
}

func (f *fakeSource) failReads(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readErr = err
}

func (f *fakeSource) KillSwitchState(context.Context) (store.KillState, error) {
	f.reads.Add(1)
	defer f.returned.Add(1)
	f.mu.Lock()
	if err := f.readErr; err != nil {
		f.mu.Unlock()
		return store.KillState{}, err
	}
	st := f.state
	st.Orgs = make(map[uuid.UUID]time.Time, len(f.state.Orgs))
	for o, at := range f.state.Orgs {
		st.Orgs[o] = at
	}
	f.mu.Unlock()
	if f.hold.Load() {
		release := make(chan struct{})
		f.held <- release
		<-release
	}
	return st, nil
}

// nextHeld returns the release channel of the next held read.
func (f *fakeSource) nextHeld(t *testing.T) chan struct{} {
	t.Helper()
	select {
	case r := <-f.held:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no read was held")
		return nil
	}
}

func (f *fakeSource) ListenKillSwitch(ctx context.Context, connected func(), notify func(string)) error {
	n := f.listens.Add(1)
	if f.listenErr != nil {
		if err := f.listenErr(n); err != nil {
			return err
		}
	}
	connected()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-f.notes:
			notify(p)
			select {
			case f.handled <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// notify delivers one payload and waits until the Watcher has handled it.
func (f *fakeSource) notify(t *testing.T, payload string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	select {
	case f.notes <- payload:
	case <-timeout:
		t.Fatal("the watcher is not listening")
	}
	select {
	case <-f.handled:
	case <-timeout:
		t.Fatal("the notification was not handled")
	}
}

// clock is a settable clock for Options.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time              { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration)     { c.ns.Add(int64(d)) }
func (c *clock) options() killswitch.Options { return killswitch.Options{Now: c.now} }

func newWatcher(t testing.TB, src killswitch.Source, opts killswitch.Options) *killswitch.Watcher {
	t.Helper()
	w, err := killswitch.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// run starts w.Run until the test ends.
func run(t testing.TB, w *killswitch.Watcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// job is a registered in-flight job.
type job struct {
	org, id uuid.UUID
	ctx     context.Context
	done    func()
}

func register(t *testing.T, w *killswitch.Watcher, org uuid.UUID) job {
	ctx, cancel := context.WithCancelCause(context.Background())
	t.Cleanup(func() { cancel(nil) })
	j := job{org: org, id: uuid.New(), ctx: ctx}
	j.done = w.Register(org, j.id, cancel)
	return j
}

// stoppedBy returns the scope of the *Stopped that cancelled j, "" if j
// runs on.
func stoppedBy(t *testing.T, j job) string {
	t.Helper()
	if j.ctx.Err() == nil {
		return ""
	}
	var st *killswitch.Stopped
	if !errors.As(context.Cause(j.ctx), &st) {
		t.Fatalf("job cancelled with %v, want a *killswitch.Stopped", context.Cause(j.ctx))
	}
	return st.Scope
}

func scopeOf(err error) string {
	var st *killswitch.Stopped
	switch {
	case err == nil:
		return ""
	case errors.As(err, &st):
		return st.Scope
	case errors.Is(err, killswitch.ErrStateUnknown):
		return "unknown"
	}
	return "unexpected: " + err.Error()
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts killswitch.Options
		ok   bool
	}{
		{"defaults", killswitch.Options{}, true},
		{"fast refresh", killswitch.Options{Refresh: 10 * time.Millisecond}, true},
		{"refresh below 10ms", killswitch.Options{Refresh: 5 * time.Millisecond}, false},
		{"refresh above 1m", killswitch.Options{Refresh: 2 * time.Minute, StaleAfter: 5 * time.Minute}, false},
		{"stale bound below twice the refresh", killswitch.Options{Refresh: time.Second, StaleAfter: 1500 * time.Millisecond}, false},
		{"default stale bound below twice a long refresh", killswitch.Options{Refresh: 3 * time.Second}, false},
		{"stale bound exactly twice", killswitch.Options{Refresh: time.Second, StaleAfter: 2 * time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := killswitch.New(newFakeSource(), tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%+v) error = %v, want ok=%v", tc.opts, err, tc.ok)
			}
		})
	}
}

func TestCheckFailsClosedUntilFirstRead(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	w := newWatcher(t, src, killswitch.Options{})
	org := uuid.New()
	if err := w.Check(org); !errors.Is(err, killswitch.ErrStateUnknown) {
		t.Fatalf("Check before any read = %v, want ErrStateUnknown", err)
	}
	src.failReads(errors.New("connection refused"))
	if err := w.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh with a failing source succeeded")
	}
	if err := w.Check(org); !errors.Is(err, killswitch.ErrStateUnknown) {
		t.Fatalf("Check after a failed read = %v, want ErrStateUnknown", err)
	}
	src.failReads(nil)
	if err := w.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Check(org); err != nil {
		t.Fatalf("Check after a read = %v, want nil", err)
	}
}

func TestCheckAnswersFromMemory(t *testing.T) {
	t.Parallel()
	killed, other := uuid.New(), uuid.New()
	for _, tc := range []struct {
		name          string
		global        bool
		reason        string
		orgs          []uuid.UUID
		org           uuid.UUID
		want, reason2 string
	}{
		{name: "nothing on", org: killed},
		{name: "own organization on", orgs: []uuid.UUID{killed}, org: killed, want: "organization"},
		{name: "another organization on", orgs: []uuid.UUID{killed}, org: other},
		{name: "global on", global: true, reason: "provider incident", org: other, want: "global", reason2: "provider incident"},
		{name: "global wins over the organization", global: true, reason: "x", orgs: []uuid.UUID{killed}, org: killed, want: "global", reason2: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newFakeSource()
			src.set(tc.global, tc.reason, tc.orgs...)
			w := newWatcher(t, src, killswitch.Options{})
			if err := w.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			reads := src.reads.Load()
			err := w.Check(tc.org)
			if got := scopeOf(err); got != tc.want {
				t.Fatalf("Check = %v (scope %q), want scope %q", err, got, tc.want)
			}
			var st *killswitch.Stopped
			if errors.As(err, &st) && st.Reason != tc.reason2 {
				t.Fatalf("reason = %q, want %q", st.Reason, tc.reason2)
			}
			if src.reads.Load() != reads {
				t.Fatal("Check read the source")
			}
		})
	}
}

func TestCheckFailsClosedWhenStale(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	clk := newClock()
	opts := clk.options()
	opts.Refresh, opts.StaleAfter = time.Second, 3*time.Second
	w := newWatcher(t, src, opts)
	ctx := context.Background()
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	org := uuid.New()
	clk.advance(3 * time.Second)
	if err := w.Check(org); err != nil {
		t.Fatalf("Check at exactly StaleAfter = %v, want nil", err)
	}
	if _, age := w.Healthy(); age != 3*time.Second {
		t.Fatalf("Healthy age = %s, want 3s", age)
	}
	clk.advance(time.Nanosecond)
	if err := w.Check(org); !errors.Is(err, killswitch.ErrStateUnknown) {
		t.Fatalf("Check past StaleAfter = %v, want ErrStateUnknown", err)
	}
	// A failed re-read confirms nothing.
	src.failReads(errors.New("database unreachable"))
	if err := w.Refresh(ctx); err == nil {
		t.Fatal("Refresh with a failing source succeeded")
	}
	if err := w.Check(org); !errors.Is(err, killswitch.ErrStateUnknown) {
		t.Fatalf("Check after a failed re-read = %v, want ErrStateUnknown", err)
	}
	src.failReads(nil)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Check(org); err != nil {
		t.Fatalf("Check after a successful re-read = %v, want nil", err)
	}
}

func TestRefreshCancelsWhatItStops(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	w := newWatcher(t, src, killswitch.Options{})
	ctx := context.Background()
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	orgA, orgB := uuid.New(), uuid.New()
	a, b := register(t, w, orgA), register(t, w, orgB)
	gone := register(t, w, orgA)
	gone.done() // finished before the switch: never cancelled
	if n := w.Running(); n != 2 {
		t.Fatalf("Running = %d, want 2", n)
	}

	src.set(false, "", orgA)
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stoppedBy(t, a); got != "organization" {
		t.Fatalf("job of the killed organization: stopped by %q, want organization", got)
	}
	if got := stoppedBy(t, b); got != "" {
		t.Fatalf("job of another organization stopped by %q", got)
	}
	if got := stoppedBy(t, gone); got != "" {
		t.Fatalf("an unregistered job was stopped by %q", got)
	}

	src.set(true, "provider incident")
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stoppedBy(t, b); got != "global" {
		t.Fatalf("job under the global switch: stopped by %q, want global", got)
	}
	var st *killswitch.Stopped
	if errors.As(context.Cause(b.ctx), &st); st.Reason != "provider incident" {
		t.Fatalf("global reason = %q", st.Reason)
	}
}

// TestNotificationActsAtOnce checks the fast path: with every re-read
// failing after the first, only the notification can cancel the jobs and
// change Check's answer.
func TestNotificationActsAtOnce(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	w := newWatcher(t, src, killswitch.Options{})
	run(t, w)
	eventually(t, "the listener is up", func() bool { l, _ := w.Healthy(); return l })
	eventually(t, "the first read", func() bool { return w.Check(uuid.New()) == nil })
	src.failReads(errors.New("database unreachable"))

	orgA, orgB := uuid.New(), uuid.New()
	a1, a2, b := register(t, w, orgA), register(t, w, orgA), register(t, w, orgB)
	src.notify(t, fmt.Sprintf(`{"scope":"organization","organization_id":%q,"active":true}`, orgA))
	for _, j := range []job{a1, a2} {
		if got := stoppedBy(t, j); got != "organization" {
			t.Fatalf("job of the killed organization: stopped by %q, want organization", got)
		}
	}
	if got := stoppedBy(t, b); got != "" {
		t.Fatalf("job of another organization stopped by %q", got)
	}
	if got := scopeOf(w.Check(orgA)); got != "organization" {
		t.Fatalf("Check(killed org) scope %q, want organization", got)
	}

	// A payload never lowers a switch (NOTIFY needs no privilege, so
	// anyone who can connect could send one): with reads failing, an "off"
	// notice changes nothing...
	off := fmt.Sprintf(`{"scope":"organization","organization_id":%q,"active":false}`, orgA)
	src.notify(t, off)
	if got := scopeOf(w.Check(orgA)); got != "organization" {
		t.Fatalf("Check after a notice alone switched the organization off: scope %q, want still organization", got)
	}
	// ...only the re-read that follows a notice does.
	src.failReads(nil)
	src.notify(t, off)
	eventually(t, "the re-read lowers the organization's switch", func() bool { return w.Check(orgA) == nil })

	jb := register(t, w, orgB)
	src.notify(t, fmt.Sprintf(`{"scope":"job","organization_id":%q,"job_id":%q,"active":true}`, orgB, jb.id))
	if got := stoppedBy(t, jb); got != "job" {
		t.Fatalf("cancelled job: stopped by %q, want job", got)
	}
	if got := stoppedBy(t, b); got != "" {
		t.Fatalf("another job of the organization stopped by %q", got)
	}
	if err := w.Check(orgB); err != nil {
		t.Fatalf("a job-level cancel changed the organization's answer: %v", err)
	}

	src.set(true, "")
	src.notify(t, `{"scope":"global","active":true}`)
	if got := stoppedBy(t, b); got != "global" {
		t.Fatalf("job under the global switch: stopped by %q, want global", got)
	}
	if got := scopeOf(w.Check(orgB)); got != "global" {
		t.Fatalf("Check under the global switch: scope %q", got)
	}
	src.set(false, "")
	src.notify(t, `{"scope":"global","active":false}`)
	eventually(t, "the re-read after the notice lowers the global switch", func() bool { return w.Check(orgB) == nil })
}

// TestSlowReadDoesNotUndoNotification: a re-read that took its copy of the
// state before an activation committed, and returns after the activation's
// notification was applied, must not switch the organization back on.
func TestSlowReadDoesNotUndoNotification(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	// No periodic re-read during the test: only the reads it starts.
	w := newWatcher(t, src, killswitch.Options{Refresh: time.Minute, StaleAfter: 2 * time.Minute})
	run(t, w)
	eventually(t, "the listener is up and the first reads are done", func() bool {
		l, _ := w.Healthy()
		return l && src.returned.Load() >= 2
	})
	org := uuid.New()
	src.hold.Store(true)
	slow := make(chan error, 1)
	go func() { slow <- w.Refresh(context.Background()) }()
	releaseSlow := src.nextHeld(t) // has read "nothing on"

	src.set(false, "", org) // the activation commits, then notifies
	src.notify(t, fmt.Sprintf(`{"scope":"organization","organization_id":%q,"active":true}`, org))
	releaseAfter := src.nextHeld(t) // the re-read the notification started: "org on"
	close(releaseAfter)
	eventually(t, "the re-read after the notification returns", func() bool { return src.returned.Load() >= 3 })
	time.Sleep(10 * time.Millisecond) // let it install its state before the slow read does

	j := register(t, w, org)
	close(releaseSlow)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if got := scopeOf(w.Check(org)); got != "organization" {
		t.Fatalf("after the slow read, Check scope %q: the read undid the activation", got)
	}
	if got := stoppedBy(t, j); got != "" {
		t.Fatalf("a job registered after the activation was stopped by %q (Check is what refuses it)", got)
	}
}

func TestMalformedNotificationReReads(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	w := newWatcher(t, src, killswitch.Options{})
	run(t, w)
	eventually(t, "the listener is up", func() bool { l, _ := w.Healthy(); return l })
	org := uuid.New()
	j := register(t, w, org)
	src.set(false, "", org)
	before := src.reads.Load()
	src.notify(t, `{"scope":`)
	if src.reads.Load() == before {
		t.Fatal("a malformed notification did not re-read the state")
	}
	if got := stoppedBy(t, j); got != "organization" {
		t.Fatalf("after the re-read the job was stopped by %q, want organization", got)
	}
}

func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.listenErr = func(attempt int64) error {
		if attempt == 1 {
			return errors.New("connection refused")
		}
		return nil
	}
	w := newWatcher(t, src, killswitch.Options{})
	run(t, w)
	eventually(t, "the listener reconnects", func() bool { l, _ := w.Healthy(); return l })
	if n := src.listens.Load(); n != 2 {
		t.Fatalf("listen attempts = %d, want 2", n)
	}
	// Connecting re-reads the whole state (anything missed meanwhile).
	org := uuid.New()
	src.set(false, "", org)
	src.notify(t, fmt.Sprintf(`{"scope":"organization","organization_id":%q,"active":true}`, org))
	if got := scopeOf(w.Check(org)); got != "organization" {
		t.Fatalf("Check scope %q, want organization", got)
	}
}

// TestRefreshPeriodWithoutListener: with no listener at all, the periodic
// re-read alone brings activation (and cancellation) within a period.
func TestRefreshPeriodWithoutListener(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.listenErr = func(int64) error { return errors.New("LISTEN refused") }
	w := newWatcher(t, src, killswitch.Options{Refresh: 20 * time.Millisecond, StaleAfter: time.Second})
	run(t, w)
	org := uuid.New()
	eventually(t, "the first read", func() bool { return w.Check(org) == nil })
	j := register(t, w, org)
	src.set(false, "", org)
	eventually(t, "the re-read stops the job", func() bool { return j.ctx.Err() != nil })
	if got := stoppedBy(t, j); got != "organization" {
		t.Fatalf("stopped by %q, want organization", got)
	}
	if l, _ := w.Healthy(); l {
		t.Fatal("Healthy reports a listener that never connected")
	}
}

func TestRefuse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		err       error
		orgReason string
		kind      rampart.Kind
		contains  string
	}{
		{name: "allowed", err: nil},
		{name: "global with reason", err: &killswitch.Stopped{Scope: "global", Reason: "provider incident"},
			kind: rampart.KindLocked, contains: "platform: provider incident"},
		{name: "global without reason", err: &killswitch.Stopped{Scope: "global"}, kind: rampart.KindLocked, contains: "switched off for this platform"},
		{name: "organization with its own reason", err: &killswitch.Stopped{Scope: "organization", Reason: "ignored"}, orgReason: "audit week",
			kind: rampart.KindLocked, contains: "organization: audit week"},
		{name: "organization without reason", err: &killswitch.Stopped{Scope: "organization"}, kind: rampart.KindLocked, contains: "switched off for this organization"},
		{name: "state unknown", err: killswitch.ErrStateUnknown, kind: rampart.KindUnavailable, contains: "cannot be confirmed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := killswitch.Refuse("test.Op", tc.err, tc.orgReason)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("Refuse(nil) = %v", got)
				}
				return
			}
			if k := rampart.ErrorKind(got); k != tc.kind {
				t.Fatalf("kind = %v, want %v", k, tc.kind)
			}
			if msg := rampart.ErrorMessage(got); !strings.Contains(msg, tc.contains) {
				t.Fatalf("message %q does not contain %q", msg, tc.contains)
			}
			if tc.orgReason == "" && strings.Contains(rampart.ErrorMessage(got), "ignored") {
				t.Fatal("an organization's refusal shows a reason it was not given")
			}
		})
	}
}

// BenchmarkKillSwitchCheck measures Watcher.Check on a warm state holding
// 1,000 killed organizations, for an organization that may run and one
// that is killed. Each op is 10 timed batches of 1,000 checks, so that
// even a run of -benchtime=1x measures something: ns/check is the mean,
// best-ns/check the fastest batch (on a shared machine, the cost without
// the time the thread spent descheduled). The source counts its calls:
// Check must make none.
func BenchmarkKillSwitchCheck(b *testing.B) {
	const batches, perBatch = 10, 1000
	const checksPerOp = batches * perBatch
	src := newFakeSource()
	killed := make([]uuid.UUID, 1000)
	for i := range killed {
		killed[i] = uuid.New()
	}
	src.set(false, "", killed...)
	// A long stale bound: the state stays confirmed for the whole run
	// (Check still reads the real clock on every call, as in production).
	w := newWatcher(b, src, killswitch.Options{StaleAfter: time.Hour})
	if err := w.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		org  uuid.UUID
		want string
	}{{"org=allowed", uuid.New(), ""}, {"org=killed", killed[500], "organization"}} {
		b.Run(bc.name, func(b *testing.B) {
			if got := scopeOf(w.Check(bc.org)); got != bc.want {
				b.Fatalf("Check scope %q, want %q", got, bc.want)
			}
			allocs := testing.AllocsPerRun(1000, func() { _ = w.Check(bc.org) })
			calls := src.reads.Load() + src.listens.Load()
			best := time.Duration(math.MaxInt64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for range batches {
					t0 := time.Now()
					for range perBatch {
						if err := w.Check(bc.org); (err == nil) != (bc.want == "") {
							b.Fatal(err)
						}
					}
					best = min(best, time.Since(t0))
				}
			}
			b.StopTimer()
			if n := src.reads.Load() + src.listens.Load() - calls; n != 0 {
				b.Fatalf("Check called the source %d times", n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*checksPerOp), "ns/check")
			b.ReportMetric(float64(best.Nanoseconds())/perBatch, "best-ns/check")
			b.ReportMetric(allocs, "allocs/check")
			b.ReportMetric(0, "db-calls/check")
		})
	}
	b.Run("org=allowed/parallel", func(b *testing.B) {
		org := uuid.New()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				for range checksPerOp {
					if err := w.Check(org); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*checksPerOp), "ns/check")
	})
}

// TestForgedNotificationsCannotLowerASwitch: a stream of forged "off"
// notices (NOTIFY needs no privilege) never lets work through while the
// database says the switch is on.
func TestForgedNotificationsCannotLowerASwitch(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	org := uuid.New()
	src.set(true, "provider incident", org)
	w := newWatcher(t, src, killswitch.Options{})
	run(t, w)
	eventually(t, "the listener is up", func() bool { l, _ := w.Healthy(); return l })
	eventually(t, "the first read", func() bool { return scopeOf(w.Check(org)) == "global" })
	for range 200 {
		src.notify(t, `{"scope":"global","active":false}`)
		src.notify(t, fmt.Sprintf(`{"scope":"organization","organization_id":%q,"active":false}`, org))
		if err := w.Check(org); err == nil {
			t.Fatal("a forged notice let new work start while the database says the switch is on")
		}
	}
	// The real deactivation: the database changes, a notice prompts the re-read.
	src.set(false, "")
	src.notify(t, `{"scope":"global","active":false}`)
	eventually(t, "the re-read lowers both switches", func() bool { return w.Check(org) == nil })
}
