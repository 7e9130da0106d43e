package trust

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/store"
)

// KillSwitchData is the kill-switch check's Data.
type KillSwitchData struct {
	GlobalActive    bool      `json:"global_active"`
	GlobalChangedAt time.Time `json:"global_changed_at"`
	OrgsActive      int       `json:"organizations_active"`
	CanaryJob       string    `json:"canary_job"`
	// CanaryMillis is the time from sending the notice (the service
	// transaction that commits it) to the synthetic job's cancellation;
	// -1 when it did not arrive.
	CanaryMillis float64 `json:"canary_propagation_ms"`
	// CanarySendMillis is how long the service transaction that sends the
	// notice took (connection, BEGIN, pg_notify, audit event, COMMIT): the
	// part of CanaryMillis before PostgreSQL delivers the notice.
	CanarySendMillis float64 `json:"canary_send_ms"`
	CanaryScope      string  `json:"canary_cancel_scope,omitempty"`
}

func checkKillSwitch(ctx context.Context, env *Env) Result {
	state, err := env.Store.KillSwitchState(ctx)
	if err != nil {
		return failed("read the kill-switch state", err)
	}
	data := KillSwitchData{GlobalActive: state.Global.Active, GlobalChangedAt: state.Global.ChangedAt, OrgsActive: len(state.Orgs), CanaryMillis: -1}
	ev := []string{fmt.Sprintf("global switch: %s (changed %s)", onOff(state.Global.Active), state.Global.ChangedAt.UTC().Format(time.RFC3339)),
		fmt.Sprintf("organizations with their switch on: %d", len(state.Orgs))}
	timeout := env.CanaryTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	// A watcher of this process, like every serve and worker runs, and a
	// synthetic job registered with it: an organization and a job that
	// exist nowhere, so the notice stops nobody's work.
	w, err := killswitch.New(env.Store, killswitch.Options{})
	if err != nil {
		return failed("start a kill-switch watcher", err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(timeout)
	for {
		if listening, _ := w.Healthy(); listening {
			break
		}
		if time.Now().After(deadline) {
			return Result{Status: NotMet, Summary: fmt.Sprintf("the watcher did not start listening on %s within %s", store.KillSwitchChannel, timeout), Evidence: ev, Data: data}
		}
		select {
		case <-ctx.Done():
			return failed("start the watcher", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	job := uuid.New()
	data.CanaryJob = job.String()
	jctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cancelled := make(chan time.Time, 1)
	go func() { <-jctx.Done(); cancelled <- time.Now() }()
	unregister := w.Register(uuid.New(), job, cancel)
	defer unregister()
	sent := time.Now()
	_, err = env.Store.KillSwitchCanary(ctx, job)
	data.CanarySendMillis = float64(time.Since(sent).Microseconds()) / 1000
	if err != nil {
		if strings.Contains(err.Error(), "service path is not configured") {
			return Result{Status: NotConfigured, Summary: "the canary needs the service path: " + err.Error(), Evidence: ev, Data: data}
		}
		return failed("send the canary", err)
	}
	select {
	case at := <-cancelled:
		data.CanaryMillis = float64(at.Sub(sent).Microseconds()) / 1000
		if st, ok := errorsAs[*killswitch.Stopped](context.Cause(jctx)); ok {
			data.CanaryScope = st.Scope
		}
	case <-time.After(timeout):
	}
	if data.CanaryMillis < 0 || data.CanaryScope != "job" {
		ev = append(ev, fmt.Sprintf("canary job %s: not cancelled within %s", job, timeout))
		return Result{Status: NotMet, Summary: fmt.Sprintf("the job-level canary did not cancel its job within %s", timeout), Evidence: ev, Data: data}
	}
	ev = append(ev, fmt.Sprintf("canary job %s (synthetic, no tenant's): job-level notice sent on the service path, received over LISTEN/NOTIFY, job cancelled (scope %s) %.1f ms after sending began (the sending service transaction took %.1f ms)",
		job, data.CanaryScope, data.CanaryMillis, data.CanarySendMillis))
	global := "off"
	if state.Global.Active {
		global = "ON"
	}
	return Result{Status: Met, Summary: fmt.Sprintf("global %s, %d organizations on; canary cancelled in %.1f ms over LISTEN/NOTIFY", global, len(state.Orgs), data.CanaryMillis),
		Evidence: ev, Data: data}
}

var (
	nonceRE     = regexp.MustCompile(`'nonce-([A-Za-z0-9+/=_-]{16,})'`)
	pageNonceRE = regexp.MustCompile(`nonce="([^"]+)"`)
	hstsAgeRE   = regexp.MustCompile(`max-age=(\d+)`)
)

// headerSample is one sampled response.
type headerSample struct {
	Path    string            `json:"path"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Nonce   string            `json:"-"`
}

var sampledHeaders = []string{"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
	"Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Cache-Control"}

func checkHeaders(_ context.Context, env *Env) Result {
	if env.Handler == nil {
		return Result{Status: NotConfigured, Summary: "no HTTP handler was given to sample"}
	}
	var samples []headerSample
	var problems []string
	bad := func(path, format string, args ...any) {
		problems = append(problems, path+": "+fmt.Sprintf(format, args...))
	}
	for _, path := range []string{"/", "/", "/api/health"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:1"
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, req)
		res := rec.Result()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		s := headerSample{Path: path, Status: res.StatusCode, Headers: map[string]string{}}
		for _, h := range sampledHeaders {
			if v := res.Header.Get(h); v != "" {
				s.Headers[h] = v
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		if m := nonceRE.FindStringSubmatch(csp); m != nil {
			s.Nonce = m[1]
		} else {
			bad(path, "no CSP nonce")
		}
		for _, d := range []string{"default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				bad(path, "CSP lacks %s", d)
			}
		}
		if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
			bad(path, "CSP allows unsafe-inline or unsafe-eval")
		}
		if m := hstsAgeRE.FindStringSubmatch(res.Header.Get("Strict-Transport-Security")); m == nil {
			bad(path, "no HSTS")
		} else if age, _ := strconv.Atoi(m[1]); age < 31536000 {
			bad(path, "HSTS max-age %d is under a year", age)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			bad(path, "X-Content-Type-Options is not nosniff")
		}
		if res.Header.Get("X-Frame-Options") != "DENY" {
			bad(path, "X-Frame-Options is not DENY")
		}
		if rp := res.Header.Get("Referrer-Policy"); rp == "" || rp == "unsafe-url" || rp == "no-referrer-when-downgrade" {
			bad(path, "Referrer-Policy %q", rp)
		}
		if res.Header.Get("Permissions-Policy") == "" {
			bad(path, "no Permissions-Policy")
		}
		if res.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" {
			bad(path, "Cross-Origin-Opener-Policy is not same-origin")
		}
		if strings.HasPrefix(path, "/api") && !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			bad(path, "an /api answer without Cache-Control: no-store")
		}
		if strings.Contains(res.Header.Get("Content-Type"), "text/html") && s.Nonce != "" {
			for _, m := range pageNonceRE.FindAllStringSubmatch(string(body), -1) {
				if m[1] != s.Nonce {
					bad(path, "the page carries nonce %q, not the CSP's", m[1])
					break
				}
			}
		}
		samples = append(samples, s)
	}
	if samples[0].Nonce != "" && samples[0].Nonce == samples[1].Nonce {
		bad("/", "the same CSP nonce on two responses")
	}
	var ev []string
	for _, s := range samples {
		var keys []string
		for k := range s.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			v := s.Headers[k]
			if k == "Content-Security-Policy" {
				v = nonceRE.ReplaceAllString(v, "'nonce-…'")
			}
			parts = append(parts, k+": "+v)
		}
		ev = append(ev, fmt.Sprintf("GET %s → %d; %s", s.Path, s.Status, strings.Join(parts, "; ")))
	}
	for _, p := range problems {
		ev = append(ev, "PROBLEM "+p)
	}
	if len(problems) > 0 {
		return Result{Status: NotMet, Summary: fmt.Sprintf("%d header problems; first: %s", len(problems), problems[0]), Evidence: ev, Data: samples}
	}
	return Result{Status: Met, Summary: "page and API answers carry a fresh nonce CSP (no unsafe-inline/eval), HSTS ≥ 1 year, nosniff, DENY, referrer and permissions policies, COOP",
		Evidence: ev, Data: samples}
}

// TierData is one rate-limit tier of the rate-limit check's Data.
type TierData struct {
	Tier          string  `json:"tier"`
	Requests      int     `json:"requests"`
	PerSeconds    float64 `json:"per_seconds"`
	DefaultFactor float64 `json:"times_default"` // rate ÷ the default's rate
}

func checkRateLimits(_ context.Context, env *Env) Result {
	tiers := env.Tiers
	if tiers == nil {
		tiers = ratelimit.DefaultTiers()
	}
	def := ratelimit.DefaultTiers()
	names := make([]string, 0, len(def))
	for n := range def {
		names = append(names, n)
	}
	sort.Strings(names)
	var data []TierData
	var ev, problems, looser []string
	for _, n := range names {
		l, ok := tiers[n]
		if !ok || l.N <= 0 || l.Period <= 0 {
			problems = append(problems, n+": no finite limit")
			continue
		}
		d := def[n]
		factor := (float64(l.N) / l.Period.Seconds()) / (float64(d.N) / d.Period.Seconds())
		data = append(data, TierData{Tier: n, Requests: l.N, PerSeconds: l.Period.Seconds(), DefaultFactor: factor})
		ev = append(ev, fmt.Sprintf("%s: %d per %s (%.2g× the default %d per %s)", n, l.N, l.Period, factor, d.N, d.Period))
		if factor > 1 {
			looser = append(looser, n)
		}
	}
	backend := env.LimiterBackend
	if backend == "" {
		backend = "in-process"
	}
	ev = append(ev, "limiter: "+backend)
	if backend == "in-process" {
		ev = append(ev, "the in-process limiter counts per process: with several instances, each allows the full rate (set RAMPART_REDIS_URL to share counts)")
	}
	if len(problems) > 0 {
		return Result{Status: NotMet, Summary: strings.Join(problems, "; "), Evidence: ev, Data: data}
	}
	sum := fmt.Sprintf("%d tiers limited (%s limiter)", len(data), backend)
	if len(looser) > 0 {
		sum += "; looser than the defaults: " + strings.Join(looser, ", ")
	}
	return Result{Status: Met, Summary: sum, Evidence: ev, Data: data}
}

// KeyData is one key of the key-ring check's Data: ids and dates only.
type KeyData struct {
	Ring     string    `json:"ring"` // audit, session, token, field, secrets
	KeyID    string    `json:"key_id"`
	Role     string    `json:"role"` // "signs"/"seals" (the newest) or "verifies"/"opens"
	Created  time.Time `json:"created,omitzero"`
	FirstUse time.Time `json:"first_use,omitzero"`
	LastUse  time.Time `json:"last_use,omitzero"`
	Uses     int64     `json:"uses"`
	AgeDays  float64   `json:"age_days"` // from Created, else FirstUse; -1 unknown
}

func checkKeyRings(ctx context.Context, env *Env) Result {
	maxAge := env.MaxKeyAge
	if maxAge <= 0 {
		maxAge = DefaultMaxKeyAge
	}
	now := env.now()
	auditUse, fieldUse, err := env.Store.KeyUse(ctx)
	if err != nil {
		return failed("read key use", err)
	}
	var data []KeyData
	var problems []string
	add := func(ring string, ids []string, newest, older string, uses []store.KeyUseSpan) {
		for i, id := range ids {
			k := KeyData{Ring: ring, KeyID: id, Role: older, Created: env.KeysCreated, AgeDays: -1}
			if i == 0 {
				k.Role = newest
			}
			for _, u := range uses {
				if u.KeyID == id {
					k.FirstUse, k.LastUse, k.Uses = u.First, u.Last, u.Count
				}
			}
			from := k.Created
			if from.IsZero() {
				from = k.FirstUse
			}
			if !from.IsZero() {
				k.AgeDays = now.Sub(from).Hours() / 24
				if i == 0 && now.Sub(from) > maxAge {
					problems = append(problems, fmt.Sprintf("%s key %s is %.0f days old (bound %.0f): rotate it", ring, id, k.AgeDays, maxAge.Hours()/24))
				}
			}
			data = append(data, k)
		}
		for _, u := range uses {
			if !slices.Contains(ids, u.KeyID) {
				problems = append(problems, fmt.Sprintf("%d %s values are under key %s, which the ring lacks", u.Count, ring, u.KeyID))
			}
		}
	}
	var missing []string
	if env.AuditKeys != nil {
		add("audit", env.AuditKeys.IDs(), "signs", "verifies", auditUse)
	} else {
		missing = append(missing, "audit")
	}
	if len(env.SessionKeyIDs) > 0 {
		add("session", env.SessionKeyIDs, "signs", "verifies", nil)
	} else {
		missing = append(missing, "session")
	}
	if len(env.TokenKeyIDs) > 0 {
		add("token", env.TokenKeyIDs, "signs", "verifies", nil)
	} else {
		missing = append(missing, "token")
	}
	if env.FieldKeys != nil {
		add("field", env.FieldKeys.IDs(), "seals", "opens", fieldUse)
	} else {
		missing = append(missing, "field")
	}
	if env.SecretsKeys != nil {
		add("secrets", env.SecretsKeys.IDs(), "seals", "opens", nil)
	}
	var ev []string
	for _, k := range data {
		age := "age unknown"
		if k.AgeDays >= 0 {
			age = fmt.Sprintf("%.1f days old", k.AgeDays)
		}
		use := "no recorded use"
		if !k.FirstUse.IsZero() {
			use = fmt.Sprintf("%d uses, first %s, last %s", k.Uses, k.FirstUse.UTC().Format(time.RFC3339), k.LastUse.UTC().Format(time.RFC3339))
		}
		ev = append(ev, fmt.Sprintf("%s %s (%s): %s, %s", k.Ring, k.KeyID, k.Role, age, use))
	}
	if env.KeysCreated.IsZero() {
		ev = append(ev, "keys come from the environment: an age is the key's first use in the data, or unknown")
	} else {
		ev = append(ev, "keys come from the generated key file, written "+env.KeysCreated.UTC().Format(time.RFC3339))
	}
	for _, p := range problems {
		ev = append(ev, "PROBLEM "+p)
	}
	switch {
	case len(problems) > 0:
		return Result{Status: NotMet, Summary: problems[0], Evidence: ev, Data: data}
	case len(missing) > 0:
		return Result{Status: NotConfigured, Summary: "not given to the report: " + strings.Join(missing, ", ") + " keys", Evidence: ev, Data: data}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("%d keys in %d rings; every signing key within %.0f days; no value under a missing key", len(data), countRings(data), maxAge.Hours()/24),
		Evidence: ev, Data: data}
}

func countRings(d []KeyData) int {
	seen := map[string]bool{}
	for _, k := range d {
		seen[k.Ring] = true
	}
	return len(seen)
}

// MaxDrillAge is how old the last passing restore drill may be before its
// line is "not met".
const MaxDrillAge = 31 * 24 * time.Hour

func checkRestoreDrill(ctx context.Context, env *Env) Result {
	if env.Drills == nil {
		return Result{Status: NotConfigured, Summary: "no restore-drill record is available to this binary"}
	}
	d, ok, err := env.Drills.LastRestoreDrill(ctx)
	if err != nil {
		return failed("read the last restore drill", err)
	}
	if !ok {
		return Result{Status: NotConfigured, Summary: "no restore drill has run: `rampart backup --out FILE` then `rampart restore-drill --from FILE`"}
	}
	age := env.now().Sub(d.At)
	ev := []string{fmt.Sprintf("last drill %s (%.1f days ago): passed %t, restore took %.1f s", d.At.UTC().Format(time.RFC3339), age.Hours()/24, d.OK, d.Seconds)}
	if d.Summary != "" {
		ev = append(ev, d.Summary)
	}
	data := map[string]any{"at": d.At, "ok": d.OK, "restore_seconds": d.Seconds, "age_days": age.Hours() / 24}
	switch {
	case !d.OK:
		return Result{Status: NotMet, Summary: "the last restore drill failed: " + d.Summary, Evidence: ev, Data: data}
	case age > MaxDrillAge:
		return Result{Status: NotMet, Summary: fmt.Sprintf("the last passing drill is %.0f days old (bound %.0f)", age.Hours()/24, MaxDrillAge.Hours()/24), Evidence: ev, Data: data}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("passed %.1f days ago; restore took %.1f s", age.Hours()/24, d.Seconds), Evidence: ev, Data: data}
}

// The guard's targets on the committed evaluation sets
// (docs/trust-report.md): issue #13's bar, recall at least MinGuardRecall
// and a false-positive rate of at most MaxGuardFPR on the event-production
// benign set (with its 40 texts, one false positive is already not met).
const (
	MinGuardRecall = 0.90
	MaxGuardFPR    = 0.01
)

// GuardData is the guard check's Data.
type GuardData struct {
	Threshold int                 `json:"threshold"`
	Sets      []string            `json:"sets"`
	Attacks   int                 `json:"attacks"`
	Benign    int                 `json:"benign"`
	Caught    int                 `json:"caught"`
	FalsePos  int                 `json:"false_positives"`
	Recall    float64             `json:"recall"`
	FPR       float64             `json:"false_positive_rate"`
	Sources   []guard.SourceScore `json:"sources"`
}

func checkGuard(_ context.Context, env *Env) Result {
	g, err := guard.New(guard.Options{Threshold: env.GuardThreshold})
	if err != nil {
		return failed("build the guard", err)
	}
	samples, err := guard.EmbeddedSamples()
	if err != nil {
		return failed("read the evaluation sets", err)
	}
	sc := guard.Evaluate(g, samples, 0)
	data := GuardData{Threshold: sc.Threshold, Sets: guard.EvalSetNames(), Attacks: sc.Attacks, Benign: sc.Benign, Caught: sc.Caught,
		FalsePos: sc.FalsePos, Recall: sc.Recall(), FPR: sc.FPR(), Sources: sc.Sources}
	ev := []string{fmt.Sprintf("sets: %s", strings.Join(data.Sets, ", ")),
		fmt.Sprintf("threshold %d: %d of %d attacks flagged (recall %.3f), %d of %d benign flagged (FPR %.3f)", sc.Threshold, sc.Caught, sc.Attacks, sc.Recall(), sc.FalsePos, sc.Benign, sc.FPR())}
	for _, s := range sc.Sources {
		kind := "benign"
		if s.Attack {
			kind = "attacks"
		}
		ev = append(ev, fmt.Sprintf("%s (%s): %d of %d flagged", s.Source, kind, s.Flagged, s.Texts))
	}
	sum := fmt.Sprintf("recall %.3f (target ≥ %.2f), false-positive rate %.3f (target ≤ %.2f) on %d attacks and %d benign texts at threshold %d",
		sc.Recall(), MinGuardRecall, sc.FPR(), MaxGuardFPR, sc.Attacks, sc.Benign, sc.Threshold)
	if sc.Attacks == 0 || sc.Benign == 0 || sc.Recall() < MinGuardRecall || sc.FPR() > MaxGuardFPR {
		return Result{Status: NotMet, Summary: sum, Evidence: ev, Data: data}
	}
	return Result{Status: Met, Summary: sum, Evidence: ev, Data: data}
}

// VersionData is the versions check's Data.
type VersionData struct {
	Binary        string `json:"binary"`
	Go            string `json:"go"`
	PostgreSQL    string `json:"postgresql"`
	Schema        int32  `json:"schema"`
	BinarySchema  int32  `json:"binary_schema"`
	MinPostgreSQL int    `json:"min_postgresql"`
}

func checkVersions(ctx context.Context, env *Env) Result {
	latest, _, err := store.LatestMigration()
	if err != nil {
		return failed("read the embedded migrations", err)
	}
	d := VersionData{Binary: env.Version, Go: runtime.Version(), BinarySchema: latest, MinPostgreSQL: 15}
	if d.PostgreSQL, err = env.Store.ServerVersion(ctx); err != nil {
		return failed("read the PostgreSQL version", err)
	}
	if d.Schema, err = env.Store.SchemaVersion(ctx); err != nil {
		return failed("read the schema version", err)
	}
	ev := []string{"binary " + orDash(d.Binary), "Go " + d.Go, "PostgreSQL " + d.PostgreSQL,
		fmt.Sprintf("schema at migration %d; this binary's latest is %d", d.Schema, d.BinarySchema)}
	major, _ := strconv.Atoi(strings.SplitN(d.PostgreSQL, ".", 2)[0])
	var problems []string
	if d.Schema != d.BinarySchema {
		problems = append(problems, fmt.Sprintf("schema at %d, binary expects %d", d.Schema, d.BinarySchema))
	}
	if major < d.MinPostgreSQL {
		problems = append(problems, fmt.Sprintf("PostgreSQL %s is older than %d", d.PostgreSQL, d.MinPostgreSQL))
	}
	if len(problems) > 0 {
		return Result{Status: NotMet, Summary: strings.Join(problems, "; "), Evidence: ev, Data: d}
	}
	return Result{Status: Met, Summary: fmt.Sprintf("binary %s, %s, PostgreSQL %s, schema %d (current)", orDash(d.Binary), d.Go, d.PostgreSQL, d.Schema), Evidence: ev, Data: d}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
