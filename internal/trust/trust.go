package trust

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/store"
)

// Status is a control's verdict.
type Status string

// The verdicts. NotConfigured is for a control that this install does not
// have set up (no restore drill has run, no HTTP handler to sample): it is
// neither claimed nor failed.
const (
	Met           Status = "met"
	NotMet        Status = "not met"
	NotConfigured Status = "not configured"
)

// FormatVersion names the JSON format of Report (docs/trust-report.md).
const FormatVersion = "rampart.trust-report/v1"

// Result is one control's line of the report.
type Result struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Summary is the one-line verdict with the numbers that matter.
	Summary string `json:"summary"`
	// Evidence lists what was exercised and what it answered.
	Evidence []string `json:"evidence"`
	// Data is the structured evidence (each check documents its own).
	Data any `json:"data,omitempty"`
	// OWASP lists OWASP LLM Top 10 (2025) ids, e.g. "LLM01:2025".
	OWASP []string `json:"owasp_llm_2025"`
	// SOC2 lists SOC 2 Trust Services Criteria, e.g. "CC6.1".
	SOC2 []string `json:"soc2_tsc"`
	// Seconds is how long the check took.
	Seconds float64 `json:"seconds"`
}

// Check is one control: an entry of Checks.
type Check struct {
	ID    string
	Title string
	OWASP []string
	SOC2  []string
	// Proves and Limits say what a "met" shows and what it cannot (the
	// documentation in docs/trust-report.md says the same at length).
	Proves string
	Limits string
	Run    func(ctx context.Context, env *Env) Result
}

// Drill is the last restore drill's outcome, as the drill records it.
type Drill struct {
	At      time.Time
	OK      bool
	Seconds float64 // measured restore time
	Summary string  // the drill's own one line (mismatches, when any)
}

// DrillSource reads the last restore drill (`rampart restore-drill`). ok
// is false when no drill has run.
type DrillSource interface {
	LastRestoreDrill(ctx context.Context) (d Drill, ok bool, err error)
}

// Env is what the checks exercise: the live install, as the command
// composed it.
type Env struct {
	Store *store.Store
	// Handler is the real HTTP handler (api.New), served in-process for
	// the security-header sample; nil: not configured.
	Handler http.Handler
	// Tiers are the rate-limit tiers in force; LimiterBackend is
	// "redis" or "in-process".
	Tiers          ratelimit.Tiers
	LimiterBackend string
	// AuditKeys signs audit events and this report.
	AuditKeys *audit.Keyring
	// FieldKeys and SecretsKeys are the field and integration-secret rings
	// (nil: not configured); SessionKeyIDs and TokenKeyIDs the ids of the
	// session and API-token keys, signing key first.
	FieldKeys     *fieldcrypt.Ring
	SecretsKeys   *fieldcrypt.Ring
	SessionKeyIDs []string
	TokenKeyIDs   []string
	// KeysCreated is when the generated key file of an embedded install was
	// written (zero: keys come from the environment, whose age Rampart
	// cannot know).
	KeysCreated time.Time
	// MaxKeyAge is the oldest a signing key may be before its line is
	// "not met" (0: DefaultMaxKeyAge).
	MaxKeyAge time.Duration
	// Drills reads the last restore drill; nil: not configured.
	Drills DrillSource
	// GuardThreshold is the running guard's threshold (0: the default).
	GuardThreshold int
	// Version is the binary's version.
	Version string
	// CanaryTimeout bounds the kill-switch canary (0: 5 s).
	CanaryTimeout time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	catalogOnce sync.Once
	catalog     rlsaudit.Snapshot
	catalogErr  error
}

// DefaultMaxKeyAge is a signing key's rotation bound: one year.
const DefaultMaxKeyAge = 365 * 24 * time.Hour

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// snapshot reads the live catalog once for the checks that need it.
func (e *Env) snapshot(ctx context.Context) (rlsaudit.Snapshot, error) {
	e.catalogOnce.Do(func() { e.catalog, e.catalogErr = e.Store.Catalog(ctx) })
	return e.catalog, e.catalogErr
}

// Summary counts the verdicts.
type Summary struct {
	Met           int `json:"met"`
	NotMet        int `json:"not_met"`
	NotConfigured int `json:"not_configured"`
}

// Report is the whole trust report (the JSON format's "report").
type Report struct {
	Format      string    `json:"format"`
	ID          string    `json:"id"`
	GeneratedAt time.Time `json:"generated_at"`
	Seconds     float64   `json:"seconds"`
	Binary      string    `json:"binary_version"`
	Database    string    `json:"database"`
	Login       string    `json:"runtime_login"`
	Summary     Summary   `json:"summary"`
	Controls    []Result  `json:"controls"`
}

// OK reports whether no control is "not met".
func (r Report) OK() bool { return r.Summary.NotMet == 0 }

// Control returns the result of the control id.
func (r Report) Control(id string) (Result, bool) {
	for _, c := range r.Controls {
		if c.ID == id {
			return c, true
		}
	}
	return Result{}, false
}

// Run runs checks against env in order and returns the report. A check
// that panics is recovered and reported "not met" with the panic: the
// report always has one line per check.
func Run(ctx context.Context, env *Env, checks []Check) Report {
	start := env.now()
	rep := Report{Format: FormatVersion, ID: uuid.Must(uuid.NewV7()).String(), GeneratedAt: start.UTC(), Binary: env.Version}
	if rep.Binary == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			rep.Binary = bi.Main.Version
		}
	}
	for _, c := range checks {
		t0 := time.Now()
		r := runOne(ctx, env, c)
		r.ID, r.Title, r.OWASP, r.SOC2 = c.ID, c.Title, nonNil(c.OWASP), nonNil(c.SOC2)
		r.Evidence = nonNil(r.Evidence)
		r.Seconds = roundSeconds(time.Since(t0))
		switch r.Status {
		case Met:
			rep.Summary.Met++
		case NotConfigured:
			rep.Summary.NotConfigured++
		default:
			r.Status = NotMet
			rep.Summary.NotMet++
		}
		rep.Controls = append(rep.Controls, r)
	}
	if snap, err := env.snapshot(ctx); err == nil {
		rep.Database, rep.Login = snap.Database, snap.Login
	}
	rep.Seconds = roundSeconds(env.now().Sub(start))
	return rep
}

func runOne(ctx context.Context, env *Env, c Check) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Status: NotMet, Summary: fmt.Sprintf("the check failed: %v", p)}
		}
	}()
	return c.Run(ctx, env)
}

// failed is the result of a check that could not run: not met, since
// what could not be shown is not claimed.
func failed(what string, err error) Result {
	return Result{Status: NotMet, Summary: fmt.Sprintf("could not %s: %v", what, err)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Second)
}
