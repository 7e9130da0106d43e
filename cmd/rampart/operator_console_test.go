package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/operator"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

// The operator console refuses a listen address that is not loopback,
// before it opens anything.
func TestOperatorConsoleRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://nobody@192.0.2.1/none"}
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.10:8099", "[::]:0", "example.com:80", "nonsense"} {
		code, _, errOut := run(t, env, "operator", "console", "--listen", addr)
		if code != exitUsage || !strings.Contains(errOut, "--listen") {
			t.Errorf("--listen %s: exit %d, %q; want a usage error naming --listen", addr, code, errOut)
		}
	}
}

// Decision 0027: the operator console on a real database. Without the
// token or the cookie nothing is shown; the token works once and becomes
// an HttpOnly SameSite=Strict cookie, removed from the address by a
// redirect; another Host is refused; a cross-site POST, a POST without
// the CSRF token and one without a reason change nothing and write no
// event; raising and lowering the global switch with a reason each write
// exactly one kill-switch event (the CLI's use case and audit), and the
// page shows the state, the reason and the history.
func TestOperatorConsole(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	st := openTestStore(t, db)
	ctx := context.Background()
	if err := st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		_, err := tx.Provision().CreateOrganization(ctx, "Acme Events", "acme")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })

	r := start(t, env, "operator", "console")
	addr := r.waitListen(t).String()
	m := regexp.MustCompile(`open: (http://\S+)`).FindStringSubmatch(r.out.String())
	if m == nil {
		t.Fatalf("no URL printed:\n%s", r.out)
	}
	signIn, err := url.Parse(m[1])
	if err != nil || signIn.Host != addr || signIn.Query().Get("token") == "" {
		t.Fatalf("printed URL %q (listening on %s)", m[1], addr)
	}
	base := "http://" + addr
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	do := func(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		return res, string(b)
	}
	global := func() (active bool, reason string) {
		t.Helper()
		if err := admin.QueryRow(ctx, `SELECT active, reason FROM platform_kill_switch`).Scan(&active, &reason); err != nil {
			t.Fatal(err)
		}
		return active, reason
	}
	events := func(action string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = $1`, action).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// No token, no cookie: 401 and nothing of the switch.
	for _, path := range []string{"/", "/killswitch", "/organizations"} {
		res, body := do("GET", path, nil, nil)
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "Acme") || strings.Contains(body, "csrf") {
			t.Errorf("GET %s without a session: %d", path, res.StatusCode)
		}
	}
	if res, _ := do("POST", "/killswitch/global", url.Values{"action": {"on"}, "reason": {"no session"}}, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", res.StatusCode)
	}
	if res, _ := do("GET", "/?token="+strings.Repeat("0", 64), nil, nil); res.StatusCode != http.StatusUnauthorized || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("a wrong token: %d %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}

	// The token: a cookie and a redirect to the address without it.
	res, _ := do("GET", "/killswitch?"+signIn.RawQuery, nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/killswitch" {
		t.Fatalf("token exchange: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == operator.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || len(cookie.Value) < 32 {
		t.Fatalf("session cookie %+v (Set-Cookie %q)", cookie, res.Header.Get("Set-Cookie"))
	}
	if res, _ := do("GET", "/?"+signIn.RawQuery, nil, nil); res.StatusCode != http.StatusUnauthorized || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("the token a second time: %d %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	sess := map[string]string{"Cookie": operator.CookieName + "=" + cookie.Value}
	withSess := func(extra map[string]string) map[string]string {
		h := map[string]string{"Cookie": sess["Cookie"]}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	if res, _ := do("GET", "/killswitch", nil, map[string]string{"Cookie": operator.CookieName + "=" + strings.Repeat("a", 64)}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged cookie: %d", res.StatusCode)
	}
	// DNS rebinding: the right cookie under another name is refused.
	if res, body := do("GET", "/killswitch", nil, withSess(map[string]string{"Host": "rebind.example:" + signIn.Port()})); res.StatusCode != http.StatusMisdirectedRequest ||
		strings.Contains(body, "csrf") || strings.Contains(body, "<nav>") {
		t.Errorf("another Host: %d", res.StatusCode)
	}

	res, page := do("GET", "/killswitch", nil, sess)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "off — AI runs") {
		t.Fatalf("kill switch page: %d\n%s", res.StatusCode, page)
	}
	csp := res.Header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`'nonce-([0-9a-f]+)'`).FindStringSubmatch(csp)
	if nonce == nil || strings.Contains(csp, "unsafe-") || res.Header.Get("X-Frame-Options") != "DENY" ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(page, `nonce="`+nonce[1]+`"`) || strings.Contains(page, "style=") {
		t.Errorf("headers: CSP %q, XFO %q; page nonce present: %v", csp, res.Header.Get("X-Frame-Options"), nonce != nil && strings.Contains(page, nonce[1]))
	}
	cm := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if cm == nil {
		t.Fatalf("no CSRF token in the form:\n%s", page)
	}
	csrf := cm[1]

	// Refusals change nothing and write nothing.
	for _, c := range []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"cross-site", url.Values{"csrf": {csrf}, "action": {"on"}, "reason": {"attack"}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"no CSRF token", url.Values{"action": {"on"}, "reason": {"attack"}}, nil, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"csrf": {strings.Repeat("0", 64)}, "action": {"on"}, "reason": {"attack"}}, nil, http.StatusForbidden},
		{"no reason", url.Values{"csrf": {csrf}, "action": {"on"}, "reason": {"  "}}, nil, http.StatusBadRequest},
		{"bad action", url.Values{"csrf": {csrf}, "action": {"maybe"}, "reason": {"x"}}, nil, http.StatusBadRequest},
	} {
		res, body := do("POST", "/killswitch/global", c.form, withSess(c.hdr))
		if res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, res.StatusCode, c.want, body)
		}
		if active, _ := global(); active || events("killswitch.activated") != 0 {
			t.Fatalf("%s changed the switch or wrote an event", c.name)
		}
	}

	// Raise, then lower: one kill-switch event each, as the operator.
	for i, step := range []struct{ action, reason, event string }{
		{"on", "provider incident from the console", "killswitch.activated"},
		{"off", "provider recovered", "killswitch.deactivated"},
	} {
		before := events(step.event)
		res, _ := do("POST", "/killswitch/global", url.Values{"csrf": {csrf}, "action": {step.action}, "reason": {step.reason}},
			withSess(map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", step.action, res.StatusCode)
		}
		active, reason := global()
		if active != (step.action == "on") || reason != step.reason {
			t.Fatalf("after %s: active %v reason %q", step.action, active, reason)
		}
		if n := events(step.event); n != before+1 {
			t.Fatalf("%s wrote %d %s events, want 1", step.action, n-before, step.event)
		}
		var actor, evReason string
		if err := admin.QueryRow(ctx, `SELECT actor_id, reason FROM audit_events WHERE action = $1 ORDER BY id DESC LIMIT 1`, step.event).Scan(&actor, &evReason); err != nil ||
			!strings.HasPrefix(actor, "operator:") || evReason != step.reason {
			t.Fatalf("event %d: actor %q reason %q %v", i, actor, evReason, err)
		}
	}
	if n := events("killswitch.activated") + events("killswitch.deactivated"); n != 2 {
		t.Fatalf("%d kill-switch events in all, want 2", n)
	}
	res, page = do("GET", "/killswitch", nil, sess)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "provider incident from the console") || !strings.Contains(page, "provider recovered") ||
		!strings.Contains(page, "No live process is registered") {
		t.Fatalf("history:\n%s", page)
	}
	res, page = do("GET", "/organizations", nil, sess)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Acme Events") || !strings.Contains(page, "<code>acme</code>") {
		t.Fatalf("organizations: %d\n%s", res.StatusCode, page)
	}
	// One organization: its switch and the processes' acknowledgements;
	// an unknown or malformed id is 404.
	var orgID string
	if err := admin.QueryRow(ctx, `SELECT id::text FROM organizations WHERE slug = 'acme'`).Scan(&orgID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, `href="/organizations/`+orgID+`"`) {
		t.Errorf("the list does not link to the organization:\n%s", page)
	}
	if code, out, errOut := run(t, env, "killswitch", "on", "--org", "acme", "--reason", "customer asked"); code != 0 {
		t.Fatalf("killswitch on --org: %d %s %s", code, out, errOut)
	}
	res, page = do("GET", "/organizations/"+orgID, nil, sess)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "ON — AI is stopped for this organization (locked by the platform)") ||
		!strings.Contains(page, "customer asked") || !strings.Contains(page, "0 live processes") {
		t.Fatalf("organization page: %d\n%s", res.StatusCode, page)
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
		if res, body := do("GET", "/organizations/"+id, nil, sess); res.StatusCode != http.StatusNotFound || strings.Contains(body, "Acme") {
			t.Errorf("organization %s: %d", id, res.StatusCode)
		}
	}
}
