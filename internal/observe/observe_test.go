package observe

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// secrets is one set of fake credentials; every field must vanish from
// scrubbed output. They are made per test from fixed, clearly fake bytes:
// no real token is ever committed.
type secrets struct {
	email, emailEnc, jwt, cookie, magic, magicURL, apiKey string
	costs                                                 []string
}

func b64(n int, seed byte) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newSecrets() secrets {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"4b1c","org":"9f2e","exp":1900000000}`))
	magic := b64(32, 11) // 43 characters, as the login-link token
	return secrets{
		email:    "alice.liddell+test@wonderland.example.com",
		emailEnc: "bob%40builder.example.org",
		jwt:      header + "." + claims + "." + b64(32, 3),
		cookie:   "v1.k1." + b64(24, 5) + "." + b64(32, 9),
		magic:    magic,
		magicURL: "https://rampart.example/auth/callback?token=" + magic + "&next=%2Fapp",
		apiKey:   "rk_" + b64(30, 21),
		costs:    []string{"31.41592653", "2718281828", "0.0073311"},
	}
}

// list returns every secret substring that must not survive.
func (s secrets) list() []string {
	out := []string{s.email, "wonderland.example.com", s.emailEnc, "builder.example.org", s.jwt, s.cookie, s.magic, s.apiKey}
	// Also no fragment of the tokens: the scrubber must not cut them in half.
	for _, t := range []string{s.jwt, s.cookie, s.apiKey} {
		for part := range strings.SplitSeq(t, ".") {
			if len(part) >= 12 {
				out = append(out, part)
			}
		}
	}
	return append(out, s.costs...)
}

func assertClean(t *testing.T, out string, s secrets) {
	t.Helper()
	for _, secret := range s.list() {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q survived in:\n%s", secret, out)
		}
	}
}

func TestScrubbingHandler(t *testing.T) {
	t.Parallel()
	s := newSecrets()
	var buf bytes.Buffer
	log := slog.New(NewScrubbingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))

	orgID := "0b5a7e0e-6a4f-4d8f-9a43-2b1f7a9c6d10"
	log = log.With("org_id", orgID, "user_email", s.email, slog.Group("auth", "session_cookie", s.cookie))
	log.Warn("sign-in from "+s.email+" with Bearer "+s.jwt+" via "+s.magicURL,
		"request_id", "3f9a0c1d2b4e5f60718293a4",
		"route", "POST /api/auth/login-link",
		"status", 429,
		"elapsed", 1500*time.Millisecond,
		"note", "link "+s.magicURL,
		"header", "Authorization: Bearer "+s.jwt,
		"raw_cookie_line", "rampart_session="+s.cookie,
		"api", "key="+s.apiKey,
		"free_text", "standalone secret "+s.magic+" here",
		"encoded", "mailto?to="+s.emailEnc,
		"err", errors.New("token "+s.jwt+" expired for "+s.email),
		"password", "hunter2-but-longer",
		"prompt", "summarise the contract for "+s.email,
		"completion", "Sure! The contract ...",
		slog.Group("billing",
			slog.Group("llm",
				slog.Float64("unit_cost", 31.41592653),
				slog.Int64("amount", 2718281828),
				slog.String("model", "offline-1"),
			),
			slog.String("price", s.costs[2]),
			slog.Any("detail", map[string]any{"fee": 31.41592653, "contact": s.email, "tier": "pro"}),
		),
		slog.Any("payload", struct {
			Name  string  `json:"name"`
			Email string  `json:"email"`
			Cost  float64 `json:"total_cost"`
			Note  string  `json:"note"`
		}{"Alice", s.email, 2718281828, "see " + s.magicURL}),
	)
	log.WithGroup("cost").Info("usage", "total", 31.41592653, "currency", "EUR")
	log.Debug("plain", "rate", s.costs[2], "rate_limit_tier", "auth")

	out := buf.String()
	assertClean(t, out, s)

	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	// Non-sensitive attributes, level and time survive.
	for k, want := range map[string]any{
		"level": "WARN", "org_id": orgID, "request_id": "3f9a0c1d2b4e5f60718293a4",
		"route": "POST /api/auth/login-link", "status": float64(429), "elapsed": float64(1500 * time.Millisecond),
		"password": "[redacted]", "user_email": "[redacted]", "prompt": "[redacted]",
	} {
		if first[k] != want {
			t.Errorf("%s = %v, want %v", k, first[k], want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(first["time"])); err != nil {
		t.Errorf("time lost: %v", first["time"])
	}
	billing := first["billing"].(map[string]any)
	if llm := billing["llm"].(map[string]any); llm["model"] != "offline-1" || llm["unit_cost"] != "[redacted]" {
		t.Errorf("billing.llm = %v", llm)
	}
	if d := billing["detail"].(map[string]any); d["tier"] != "pro" || d["contact"] != "[email]" {
		t.Errorf("billing.detail = %v", d)
	}
	if p := first["payload"].(map[string]any); p["name"] != "Alice" {
		t.Errorf("payload = %v", p)
	}
	if !strings.Contains(lines[1], `"cost":{"total":"[redacted]","currency":"[redacted]"}`) {
		t.Errorf("WithGroup(cost) not redacted: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"rate_limit_tier":"auth"`) || !strings.Contains(lines[2], `"rate":"[redacted]"`) {
		t.Errorf("rate keys: %s", lines[2])
	}
}

func TestScrubbingHandlerEnabled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewScrubbingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log.Info("dropped")
	log.WithGroup("g").With("a", 1).Warn("kept", "b", 2)
	if got := strings.TrimSpace(buf.String()); !strings.Contains(got, `"g":{"a":1,"b":2}`) || strings.Contains(got, "dropped") {
		t.Errorf("got %s", got)
	}
}

func TestSensitiveKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"password": true, "access_token": true, "X-Csrf-Token": true, "Set-Cookie": true, "authorization": true,
		"system_prompt": true, "completion": true, "userEmail": true, "unit_cost": true, "totalCost": true,
		"price_cents": true, "margin": true, "fee": true, "amount": true, "rate": true, "hourly_rate": true,
		"org_id": false, "user_id": false, "route": false, "status": false, "rate_limit_tier": false,
		"duration": false, "request_id": false, "generated": false, "accurate": false,
	} {
		if got := SensitiveKey(key); got != want {
			t.Errorf("SensitiveKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func fullEvent(s secrets) *sentry.Event {
	e := sentry.NewEvent()
	e.Message = "failed for " + s.email + " token=" + s.magic
	e.Transaction = "GET /auth/callback?token=" + s.magic
	e.Fingerprint = []string{"{{ default }}", s.email}
	e.Exception = []sentry.Exception{{
		Type:  "*errors.errorString",
		Value: "bad session " + s.cookie + " bearer " + s.jwt,
		Stacktrace: &sentry.Stacktrace{Frames: []sentry.Frame{{
			Function: "api.signIn", ContextLine: `token := "` + s.apiKey + `"`,
			Vars: map[string]any{"email": s.email, "unit_cost": 31.41592653, "u": s.magicURL},
		}}},
		Mechanism: &sentry.Mechanism{Type: "generic", Description: s.email, Data: map[string]any{"cookie": s.cookie}},
	}}
	e.Breadcrumbs = []*sentry.Breadcrumb{{
		Category: "http", Message: "GET " + s.magicURL,
		Data: map[string]any{"url": s.magicURL, "amount": 2718281828, "who": s.email, "nested": map[string]any{"price": s.costs[2], "jwt": s.jwt}},
	}}
	e.Tags = map[string]string{"route": "GET /auth/callback", "user_email": s.email, "note": "key=" + s.apiKey, "cost": s.costs[0]}
	e.Contexts = map[string]sentry.Context{
		"extra":    {"session": s.cookie, "body": `{"email":"` + s.email + `"}`, "billing": map[string]any{"total_cost": 31.41592653}},
		"llm_cost": {"x": s.costs[1]},
	}
	e.User = sentry.User{ID: "0b5a7e0e-6a4f-4d8f-9a43-2b1f7a9c6d10", Email: s.email, IPAddress: "203.0.113.77", Username: s.email,
		Name: "Alice Liddell", Data: map[string]string{"email": s.email, "plan": "pro"}}
	e.Request = &sentry.Request{
		URL:         s.magicURL,
		Method:      "GET",
		Data:        `{"email":"` + s.email + `","prompt":"secret plans"}`,
		QueryString: "token=" + s.magic + "&code=" + s.apiKey + "&next=%2Fapp&to=" + s.emailEnc,
		Cookies:     "rampart_session=" + s.cookie,
		Headers: map[string]string{
			"Authorization": "Bearer " + s.jwt, "Cookie": "rampart_session=" + s.cookie, "Referer": s.magicURL,
			"X-Forwarded-For": "203.0.113.77", "User-Agent": "test-agent/1.0", "X-Api-Key": s.apiKey,
		},
		Env: map[string]string{"REMOTE_ADDR": "203.0.113.77", "SERVER_NAME": "rampart"},
	}
	e.Spans = []*sentry.Span{{Name: "db", Description: "select where email='" + s.email + "'", Data: map[string]any{"fee": 31.41592653}}}
	return e
}

func TestScrubEvent(t *testing.T) {
	t.Parallel()
	s := newSecrets()
	e := ScrubEvent(fullEvent(s))
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	assertClean(t, out, s)
	for _, gone := range []string{"203.0.113.77", "Alice Liddell", "secret plans", "rampart_session"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q survived", gone)
		}
	}
	// Walk every string in the event's JSON: none may contain a secret,
	// whatever field it ended up in.
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	walkStrings(doc, func(path, v string) {
		for _, secret := range s.list() {
			if strings.Contains(v, secret) {
				t.Errorf("%s carries %q", path, secret)
			}
		}
	})
	if e.User.ID == "" || e.Request.Headers["User-Agent"] != "test-agent/1.0" || e.Tags["route"] != "GET /auth/callback" {
		t.Errorf("useful fields lost: user=%+v headers=%v tags=%v", e.User, e.Request.Headers, e.Tags)
	}
	if !strings.Contains(e.Request.QueryString, "next=%2Fapp") {
		t.Errorf("query string = %q", e.Request.QueryString)
	}
	if ScrubEvent(nil) != nil {
		t.Error("nil event")
	}
}

func walkStrings(v any, f func(path, s string)) {
	var walk func(string, any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			f(path, x)
		case map[string]any:
			for k, e := range x {
				f(path+"{key}", k)
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case float64:
			f(path, fmt.Sprint(x))
		}
	}
	walk("$", v)
}

func TestScrubStringKeepsIDs(t *testing.T) {
	t.Parallel()
	for _, keep := range []string{
		"0b5a7e0e-6a4f-4d8f-9a43-2b1f7a9c6d10",
		"3f9a0c1d2b4e5f60718293a4",
		"GET /api/organizations/{org}/venues/{id}",
		"api.rampart.example.com",
		"internal/api.(*Server).authedTier.func1",
	} {
		if got := scrubString(keep); got != keep {
			t.Errorf("scrubString(%q) = %q", keep, got)
		}
	}
}

func TestSampleRate(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]float64{
		"/api/auth/login-link":                1,
		"POST /api/auth/login-link":           1,
		"/api/auth":                           1,
		"/auth/callback?token=x":              1,
		"GET /auth/callback":                  1,
		"/api/agents/{id}/run":                1,
		"POST /api/agents":                    1,
		"/api/organizations/{org}/agent/runs": 1,
		"/api/venues/{id}/sync":               1,
		"/internal/cron/nightly":              1,
		"/api/authors":                        0.2,
		"/authority":                          0.2,
		"/api/venues":                         0.2,
		"GET /api/health":                     0.2,
		"/":                                   0.2,
		"":                                    0.2,
		"unmatched":                           0.2,
	} {
		if got := SampleRate(path); got != want {
			t.Errorf("SampleRate(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestInitSentry(t *testing.T) {
	t.Parallel()
	flush, err := InitSentry("", "test", "v0")
	if err != nil || flush == nil {
		t.Fatalf("empty DSN: %v", err)
	}
	flush()
	_, err = InitSentry("::not a dsn::", "test", "v0")
	if err == nil || !strings.Contains(err.Error(), "RAMPART_SENTRY_DSN") {
		t.Fatalf("invalid DSN error = %v", err)
	}
}

func TestBeforeSendSamplesByRoute(t *testing.T) {
	t.Parallel()
	s := newSecrets()
	kept := 0
	for range 200 {
		e := fullEvent(s) // route tag is under /auth: always kept
		if got := beforeSend(e, nil); got != nil {
			kept++
		}
	}
	if kept != 200 {
		t.Errorf("auth route kept %d/200", kept)
	}
	kept = 0
	for range 2000 {
		e := sentry.NewEvent()
		e.Tags = map[string]string{"route": "GET /api/venues"}
		if beforeSend(e, nil) != nil {
			kept++
		}
	}
	if kept < 250 || kept > 550 { // 20% of 2000 = 400, wide margin
		t.Errorf("20%% route kept %d/2000", kept)
	}
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		SetPrincipal(r.Context(), "org-1", "user-1")
		_, _ = io.WriteString(w, "thing "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /api/things", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	return mux
}

func TestMetricsMiddleware(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	// The mux receives a derived request (as in api.Server), so the pattern
	// reaches the middleware through RoutePattern.
	derive := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r.WithContext(r.Context())) })
	}
	direct := httptest.NewServer(m.Middleware(newMux()))
	t.Cleanup(direct.Close)
	derived := httptest.NewServer(m.Middleware(derive(RoutePattern(newMux()))))
	t.Cleanup(derived.Close)

	for _, srv := range []*httptest.Server{direct, derived} {
		for _, p := range []string{"/api/things/1", "/api/things/2?token=abc", "/nowhere/" + b64(32, 1)} {
			resp, err := http.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		resp, err := http.Post(srv.URL+"/api/things", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	m.RateLimited("auth")

	const token = "test-scrape-credential" // not a real credential
	metrics := httptest.NewServer(m.Handler(token))
	t.Cleanup(metrics.Close)

	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x"} {
		req, _ := http.NewRequest(http.MethodGet, metrics.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "http_requests_total") {
			t.Errorf("Authorization %q: status %d", auth, resp.StatusCode)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, metrics.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`http_requests_total{method="GET",route="GET /api/things/{id}",status="200"} 4`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`http_requests_total{method="POST",route="POST /api/things",status="500"} 2`,
		`http_request_duration_seconds_count{method="GET",route="GET /api/things/{id}"} 4`,
		`ratelimit_rejections_total{tier="auth"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "/nowhere") || strings.Contains(text, "token=abc") {
		t.Error("a raw path became a label")
	}

	open := httptest.NewServer(m.Handler(""))
	t.Cleanup(open.Close)
	resp, err = http.Get(open.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("tokenless handler: %d", resp.StatusCode)
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	s := newSecrets()
	var buf bytes.Buffer
	log := slog.New(NewScrubbingHandler(slog.NewJSONHandler(&buf, nil)))
	info := func(r *http.Request) (string, string, string) { return "rid-123", "", "" }
	srv := httptest.NewServer(RequestLog(log, newMux(), info))
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/things/7?token="+s.magic+"&q=plain-query-value", nil)
	req.Header.Set("Authorization", "Bearer "+s.jwt)
	req.Header.Set("Cookie", "rampart_session="+s.cookie)
	req.Header.Set("X-Custom", "plain-header-value")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	resp, err = http.Post(srv.URL+"/api/things?email="+s.emailEnc, "application/json", strings.NewReader(`{"secret-body":"plain-body-value"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	out := buf.String()
	assertClean(t, out, s)
	for _, leak := range []string{"?", "token", "plain-query-value", "plain-header-value", "plain-body-value", "rampart_session", "/api/things/7", "email"} {
		if strings.Contains(out, leak) {
			t.Errorf("request log carries %q:\n%s", leak, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines:\n%s", out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "route": "GET /api/things/{id}", "status": float64(200),
		"bytes": float64(len("thing 7")), "request_id": "rid-123", "org_id": "org-1", "user_id": "user-1",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v", got["duration_ms"])
	}
	if !strings.Contains(lines[1], `"level":"ERROR"`) || !strings.Contains(lines[1], `"status":500`) {
		t.Errorf("5xx line: %s", lines[1])
	}
}
