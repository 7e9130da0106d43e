package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Overall statuses.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
)

// Component statuses.
const (
	ComponentOK            = "ok"
	ComponentFail          = "fail"
	ComponentNotConfigured = "not_configured"
)

// DefaultTimeout bounds one check when neither the check nor the Checker
// says otherwise.
const DefaultTimeout = time.Second

// timeoutGrace is how long a timed-out check may take to notice.
const timeoutGrace = 100 * time.Millisecond

// ErrNotConfigured, returned by a check, reports its component as
// "not_configured": not a failure, the component does not exist (yet) in
// this deployment.
var ErrNotConfigured = errors.New("health: not configured")

// ErrCircuitOpen is returned by a breaker-wrapped check while its breaker
// is open (or half-open with its probe already in flight): the dependency
// was not called.
var ErrCircuitOpen = errors.New("health: circuit open")

// Check is one component of the report.
type Check struct {
	Name string
	// Run returns nil when the component is healthy. It must honour ctx;
	// the Checker stops waiting for it when the check's timeout expires.
	Run func(ctx context.Context) error
	// Critical: a failure makes the report (and the endpoint) degraded.
	// A non-critical failure is reported but leaves the status ok.
	Critical bool
	// Timeout overrides the Checker's per-check timeout when positive.
	Timeout time.Duration

	breaker *breaker // set by WithBreaker
}

// NotConfigured is a check for a component this deployment does not have
// yet: it always reports "not_configured".
func NotConfigured(name string) Check {
	return Check{Name: name, Run: func(context.Context) error { return ErrNotConfigured }}
}

// OK is a check that always passes (say, configuration validated at start).
func OK(name string) Check {
	return Check{Name: name, Run: func(context.Context) error { return nil }}
}

// Component is one check's result.
type Component struct {
	Status string `json:"status"`
	// Detail is safe text: never a raw error.
	Detail string `json:"detail,omitempty"`
	// Breaker is the breaker's state after the check ("closed", "open",
	// "half-open"); empty for checks without a breaker.
	Breaker string `json:"breaker,omitempty"`
}

// Report is the outcome of one run of every check.
type Report struct {
	Status     string               `json:"status"`
	Components map[string]Component `json:"components"`
}

// OK reports whether no critical check failed.
func (r Report) OK() bool { return r.Status == StatusOK }

// Options tune a Checker.
type Options struct {
	// Timeout bounds each check (default DefaultTimeout).
	Timeout time.Duration
	// Logger receives failed checks with their raw errors; nil discards.
	Logger *slog.Logger
	// CacheFor, when positive, lets Handler answer from the last report for
	// that long, so an unauthenticated probe cannot become database load.
	CacheFor time.Duration
}

// Checker runs a fixed set of checks.
type Checker struct {
	checks   []Check
	timeout  time.Duration
	log      *slog.Logger
	cacheFor time.Duration

	mu       sync.Mutex
	cachedAt time.Time
	cached   Report
}

// New returns a Checker for checks. It panics on a check without a name or
// Run, or on two checks with the same name: those are wiring mistakes.
func New(opts Options, checks ...Check) *Checker {
	seen := map[string]bool{}
	for _, c := range checks {
		if c.Name == "" || c.Run == nil {
			panic("health: a check needs a name and a Run function")
		}
		if seen[c.Name] {
			panic(fmt.Sprintf("health: two checks named %q", c.Name))
		}
		seen[c.Name] = true
	}
	c := &Checker{checks: append([]Check(nil), checks...), timeout: opts.Timeout, log: opts.Logger, cacheFor: opts.CacheFor}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Run runs every check concurrently and waits for all of them, each for at
// most its timeout. It returns within the longest timeout (plus 100 ms of
// grace) even when a check ignores its context (that check's goroutine is
// then left to finish on its own).
func (c *Checker) Run(ctx context.Context) Report {
	comps := make([]Component, len(c.checks))
	var wg sync.WaitGroup
	for i, chk := range c.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			comps[i] = c.runOne(ctx, chk)
		}()
	}
	wg.Wait()
	r := Report{Status: StatusOK, Components: make(map[string]Component, len(c.checks))}
	for i, chk := range c.checks {
		r.Components[chk.Name] = comps[i]
		if comps[i].Status == ComponentFail && chk.Critical {
			r.Status = StatusDegraded
		}
	}
	return r
}

func (c *Checker) runOne(ctx context.Context, chk Check) Component {
	timeout := c.timeout
	if chk.Timeout > 0 {
		timeout = chk.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1) // buffered: a late check does not block forever
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("health: check panicked: %v", p)
			}
		}()
		done <- chk.Run(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// A check that honours ctx returns at once: wait briefly for it, so
		// its own bookkeeping (a breaker counting the failure) is done
		// before the report is built; a deaf check is abandoned.
		select {
		case err = <-done:
		case <-time.After(timeoutGrace):
			err = ctx.Err()
		}
	}
	comp := Component{Status: ComponentOK}
	var we *warnError
	switch {
	case err == nil:
	case errors.As(err, &we):
		comp.Detail = we.detail
	case errors.Is(err, ErrNotConfigured):
		comp.Status = ComponentNotConfigured
	default:
		comp.Status = ComponentFail
		comp.Detail = detail(err, timeout)
		c.log.Warn("health check failed", "check", chk.Name, "critical", chk.Critical,
			"duration_ms", time.Since(start).Milliseconds(), "error", err)
	}
	if chk.breaker != nil {
		comp.Breaker = chk.breaker.state()
	}
	return comp
}

// failError carries a safe detail for a failed check.
type failError struct {
	detail string
	cause  error
}

func (e *failError) Error() string {
	if e.cause == nil {
		return e.detail
	}
	return e.detail + ": " + e.cause.Error()
}

func (e *failError) Unwrap() error { return e.cause }

// warnError is a passing check with something to say.
type warnError struct{ detail string }

func (e *warnError) Error() string { return e.detail }

// Warn is what a passing check returns to report a warning: the component
// stays "ok" and shows detail (safe text).
func Warn(detail string) error { return &warnError{detail: detail} }

// Fail returns a check failure whose detail, shown in the report, is
// detail (which must be safe text); cause is only logged.
func Fail(detail string, cause error) error {
	return &failError{detail: detail, cause: cause}
}

// detail picks the safe text for err.
func detail(err error, timeout time.Duration) string {
	var fe *failError
	var re *rampart.Error
	switch {
	case errors.As(err, &fe):
		return fe.detail
	case errors.Is(err, ErrCircuitOpen):
		return "circuit open"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &re):
		if msg := rampart.ErrorMessage(err); rampart.ErrorKind(err) != rampart.KindInternal && msg != "An internal error occurred." {
			return msg
		}
		if rampart.ErrorKind(err) == rampart.KindUnavailable {
			return "unavailable"
		}
	}
	return "check failed"
}

// Handler answers with the report as JSON: 200 when ok, 503 when degraded.
// Responses are never cached.
func (c *Checker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := c.report(r.Context())
		code := http.StatusOK
		if !rep.OK() {
			code = http.StatusServiceUnavailable
		}
		body, err := json.Marshal(rep)
		if err != nil { // cannot happen: strings only
			http.Error(w, "health: encode report", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append(body, '\n'))
		}
	})
}

// report is Run, answered from the cache when Options.CacheFor allows.
func (c *Checker) report(ctx context.Context) Report {
	if c.cacheFor <= 0 {
		return c.Run(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cachedAt.IsZero() || time.Since(c.cachedAt) > c.cacheFor {
		c.cached, c.cachedAt = c.Run(ctx), time.Now()
	}
	return c.cached
}
