package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// Regression tests for the review finding "anyone can lock valid users
// out": requests without a credential, and failures of other clients at
// the same address, must not make a valid session or token answer 429;
// guessing credentials is still throttled per address and per credential.
// They run on the default tiers and a fake clock that moves only when a
// test says, so nothing depends on the machine's speed.

// fakeClock is the rate limiter's clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// limited is a server with the default tiers on a fake clock.
type limited struct {
	e     *env
	srv   *httptest.Server
	clock *fakeClock
}

func (e *env) limitedServer(mod func(*Options)) *limited {
	e.t.Helper()
	clock := &fakeClock{t: time.Unix(1_900_000_000, 0)}
	srv, _ := e.serverWith(func(o *Options) {
		o.Limiter = ratelimit.NewLocal(clock.now)
		o.Tiers = ratelimit.DefaultTiers()
		if mod != nil {
			mod(o)
		}
	})
	return &limited{e: e, srv: srv, clock: clock}
}

// browser is a client of l with its own cookie jar.
func (l *limited) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: l.srv.Client().Transport, Jar: jar, Timeout: 30 * time.Second}
}

// bare is a client without a cookie jar: it sends exactly the headers given.
func (l *limited) bare() *http.Client {
	return &http.Client{Transport: l.srv.Client().Transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// call sends one request to l; body "" sends none; hdr are name, value pairs.
func (l *limited) call(c *http.Client, method, path, body string, hdr ...string) resp {
	l.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, l.srv.URL+path, rd)
	if err != nil {
		l.e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		l.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// signIn signs email in on l the way a browser does (link request, the
// mailed link, the confirmation page, the confirmation POST) and returns
// the browser.
func (l *limited) signIn(email string) *http.Client {
	l.e.t.Helper()
	c := l.browser()
	before := l.e.mail.count(email)
	body, _ := json.Marshal(map[string]string{"email": email})
	if r := l.call(c, http.MethodPost, "/api/auth/login-link", string(body)); r.status != http.StatusAccepted {
		l.e.t.Fatalf("login-link for %s: %d %s", email, r.status, r.body)
	}
	l.e.mail.waitCount(l.e.t, email, before+1)
	link := l.e.mail.lastLink(l.e.t, email)
	if !strings.HasPrefix(link, l.srv.URL+"/") {
		l.e.t.Fatalf("link %s is not for %s", link, l.srv.URL)
	}
	res, err := c.Get(link)
	if err != nil {
		l.e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/auth/confirm" {
		l.e.t.Fatalf("GET link ended at %s with %d", res.Request.URL, res.StatusCode)
	}
	if r := l.call(c, http.MethodPost, "/auth/confirm", ""); r.status != http.StatusOK {
		l.e.t.Fatalf("confirm for %s: %d %s", email, r.status, r.body)
	}
	return c
}

// cookie is the session cookie c holds for l.
func (l *limited) cookie(c *http.Client) string {
	l.e.t.Helper()
	u, _ := url.Parse(l.srv.URL)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == auth.SessionCookieName {
			return k.Value
		}
	}
	l.e.t.Fatal("no session cookie in the jar")
	return ""
}

// apiToken creates a viewer API token in acme (through the roomy server:
// tokens verify on every server of the test) and returns it and its id.
func (e *env) apiToken(name string) (string, string) {
	e.t.Helper()
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	out := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": name, "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1})
	if out.status != http.StatusCreated {
		e.t.Fatalf("create token: %d %s", out.status, out.body)
	}
	m := out.json(e.t)
	return m["token"].(string), m["api_token"].(map[string]any)["id"].(string)
}

// Headers of a cross-site <img> and of a cross-site form POST, as a
// browser sends them. The session cookie is SameSite=Lax, so neither
// carries it.
var (
	imgTag        = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image", "Accept", "image/avif,image/webp,*/*"}
	crossSitePost = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Origin", "https://evil.example",
		"Content-Type", "application/x-www-form-urlencoded"}
)

// TestLockoutCrossSiteRequestsDoNotBlockSession: the review's attack. A
// page the victim opens fires cross-site <img> requests at the API and
// posts cross-site forms; then the victim's own session and an API token
// used from the same address must still work, and so must the console.
func TestLockoutCrossSiteRequestsDoNotBlockSession(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(nil)
	victim := l.signIn(e.orgs["acme"].email(rampart.RoleViewer))
	token, _ := e.apiToken("lockout")
	csrfBefore := e.events("auth.csrf.rejected")

	attacker := l.bare()
	for i := range 20 {
		if r := l.call(attacker, http.MethodGet, "/api/me", "", imgTag...); r.status != http.StatusUnauthorized {
			t.Errorf("cross-site <img> %d: %d, want 401 (a request without a credential spends no budget)", i+1, r.status)
		}
	}
	for i := range 20 {
		if r := l.call(attacker, http.MethodPost, "/api/auth/logout", "x=1", crossSitePost...); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST %d: %d, want 403", i+1, r.status)
		}
	}
	// The refusals are audited within a budget of their own (auth: 5/min).
	if n := e.events("auth.csrf.rejected") - csrfBefore; n != 5 {
		t.Errorf("%d cross-origin refusals audited, want 5 (the auth tier's budget)", n)
	}
	if r := l.call(victim, http.MethodGet, "/api/me", ""); r.status != http.StatusOK {
		t.Fatalf("the victim's session after the attack: %d %s", r.status, r.body)
	}
	if r := l.call(l.bare(), http.MethodGet, "/api/me", "", "Authorization", "Bearer "+token); r.status != http.StatusOK {
		t.Fatalf("an API token from the same address after the attack: %d %s", r.status, r.body)
	}
	// One more <img> every 12 s does not change that.
	for range 5 {
		l.clock.add(12 * time.Second)
		l.call(attacker, http.MethodGet, "/api/me", "", imgTag...)
		l.call(attacker, http.MethodPost, "/api/auth/logout", "x=1", crossSitePost...)
		if r := l.call(victim, http.MethodGet, "/api/me", ""); r.status != http.StatusOK {
			t.Fatalf("the victim's session while the attack goes on: %d %s", r.status, r.body)
		}
	}
	// The console's home page: <img> tags spend the address's budget for
	// anonymous pages (api: 60/min), not the victim's.
	for range 61 {
		l.call(attacker, http.MethodGet, "/", "", imgTag...)
	}
	if r := l.call(attacker, http.MethodGet, "/", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("anonymous home page after 61 requests: %d, want 429", r.status)
	}
	if r := l.call(victim, http.MethodGet, "/", "", "Accept", "text/html"); r.status != http.StatusOK {
		t.Fatalf("the victim's home page after the attack: %d", r.status)
	}
}

// TestLockoutFailuresDoNotBlockValidSession: another client at the same
// address (an office NAT, a proxy not listed as trusted) sends bad cookies
// and bad tokens until it is refused; the valid session and token of the
// address are not.
func TestLockoutFailuresDoNotBlockValidSession(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(nil)
	victim := l.signIn(e.orgs["acme"].email(rampart.RoleProducer))
	token, _ := e.apiToken("lockout")
	attacker := l.bare()
	statuses := map[int]int{}
	for i := range 30 {
		var r resp
		if i%2 == 0 {
			r = l.call(attacker, http.MethodGet, "/api/me", "", "Cookie", auth.SessionCookieName+"=v1.k2.garbage.garbage")
		} else {
			r = l.call(attacker, http.MethodGet, "/api/venues", "", "Authorization", "Bearer not-a-token")
		}
		statuses[r.status]++
	}
	if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 25 {
		t.Fatalf("30 bad credentials from one address: %v, want 5×401 then 25×429", statuses)
	}
	if r := l.call(victim, http.MethodGet, "/api/me", ""); r.status != http.StatusOK {
		t.Fatalf("a valid session from the same address: %d %s", r.status, r.body)
	}
	if r := l.call(l.bare(), http.MethodGet, "/api/me", "", "Authorization", "Bearer "+token); r.status != http.StatusOK {
		t.Fatalf("a valid token from the same address: %d %s", r.status, r.body)
	}
	// The victim can still sign in again from there, too.
	l.signIn(e.orgs["acme"].email(rampart.RoleProducer))
}

// TestCredentialBruteForceThrottled: guessing is still throttled per
// address, and replaying one dead credential from many addresses is
// throttled per credential. Refused guesses all get the same 429, are not
// audited and learn nothing about what they sent.
func TestCredentialBruteForceThrottled(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	})
	valid := l.signIn(e.orgs["acme"].email(rampart.RoleViewer))
	// Dead sessions whose cookies are still validly signed: signed out.
	deadSession := func(role rampart.Role) string {
		gone := l.signIn(e.orgs["acme"].email(role))
		cookie := l.cookie(gone)
		if r := l.call(gone, http.MethodPost, "/api/auth/logout", ""); r.status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		return cookie
	}
	// Dead tokens: revoked.
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	deadToken := func(name string) string {
		token, id := e.apiToken(name)
		if r := e.do(admin, http.MethodDelete, "/api/tokens/"+id, nil); r.status != http.StatusNoContent && r.status != http.StatusOK {
			t.Fatalf("revoke token: %d %s", r.status, r.body)
		}
		return token
	}
	deadCookie, deadToken1 := deadSession(rampart.RoleStakeholder), deadToken("revoked 1")
	replayedCookie, replayedToken := deadSession(rampart.RoleTechnicalDirector), deadToken("revoked 2")
	liveToken, _ := e.apiToken("live")

	from := func(addr string, hdr ...string) resp {
		t.Helper()
		return l.call(l.bare(), http.MethodGet, "/api/me", "", append([]string{"X-Forwarded-For", addr}, hdr...)...)
	}
	rejected := func() int { return e.events("auth.token.rejected") + e.events("auth.login.failed") }

	// Per address: five guesses are answered (and audited), then 429.
	const attacker = "203.0.113.7"
	before := rejected()
	for i := range 5 {
		if r := from(attacker, "Authorization", "Bearer guess-"+uuid.NewString()); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, r.status)
		}
	}
	if n := rejected() - before; n != 5 {
		t.Fatalf("%d failed guesses audited, want 5", n)
	}
	for i := range 20 {
		r := from(attacker, "Authorization", "Bearer guess-"+uuid.NewString())
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("guess %d after the budget: %d Retry-After %q %s", i+6, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	// A forged cookie, a dead but validly signed cookie and a revoked
	// token get the very same answer, with nothing written.
	auditBefore := rejected()
	answers := []resp{
		from(attacker, "Cookie", auth.SessionCookieName+"=v1.k2."+strings.Repeat("A", 32)+"."+strings.Repeat("B", 43)),
		from(attacker, "Cookie", auth.SessionCookieName+"="+deadCookie),
		from(attacker, "Authorization", "Bearer "+deadToken1),
	}
	for i, r := range answers {
		if r.status != http.StatusTooManyRequests || r.header.Get("Set-Cookie") != "" {
			t.Fatalf("blocked answer %d: %d Set-Cookie %q", i, r.status, r.header.Get("Set-Cookie"))
		}
		if !bytes.Equal(r.body, answers[0].body) || r.header.Get("Retry-After") != answers[0].header.Get("Retry-After") {
			t.Fatalf("blocked answers differ:\n%s\n%s", answers[0].body, r.body)
		}
	}
	if n := rejected() - auditBefore; n != 0 {
		t.Fatalf("%d audit events written for refused guesses", n)
	}
	// The blocked address's valid session and token still work.
	if r := l.call(valid, http.MethodGet, "/api/me", "", "X-Forwarded-For", attacker); r.status != http.StatusOK {
		t.Fatalf("valid session from the blocked address: %d %s", r.status, r.body)
	}
	if r := from(attacker, "Authorization", "Bearer "+liveToken); r.status != http.StatusOK {
		t.Fatalf("valid token from the blocked address: %d %s", r.status, r.body)
	}

	// Per credential: a dead credential replayed from ten fresh addresses
	// is answered five times, then refused everywhere.
	for _, dead := range []struct {
		name string
		hdr  []string
	}{
		{"signed-out session", []string{"Cookie", auth.SessionCookieName + "=" + replayedCookie}},
		{"revoked token", []string{"Authorization", "Bearer " + replayedToken}},
	} {
		before := rejected()
		got := map[int]int{}
		for i := range 10 {
			got[from("198.51.100."+strconv.Itoa(i+1), dead.hdr...).status]++
		}
		if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 5 {
			t.Errorf("%s from ten addresses: %v, want 5×401 then 5×429", dead.name, got)
		}
		if n := rejected() - before; n != 5 {
			t.Errorf("%s: %d failures audited, want 5", dead.name, n)
		}
	}
	// Other credentials from a fresh address are not affected.
	if r := from("198.51.100.200", "Authorization", "Bearer guess"); r.status != http.StatusUnauthorized {
		t.Fatalf("a guess from a fresh address: %d", r.status)
	}
}

// TestForwardedForWithoutTrustedProxiesWarns: requests that carry
// X-Forwarded-For while no proxy is trusted mean every client behind the
// proxy shares one address (one rate-limit budget, one audit address):
// the server says so in its log, once.
func TestForwardedForWithoutTrustedProxiesWarns(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     bool
		want    int
	}{
		{"no proxy trusted, header present", nil, true, 1},
		{"no proxy trusted, no header", nil, false, 0},
		{"proxy trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}, true, 0},
	} {
		var buf lockedBuffer
		l := e.limitedServer(func(o *Options) {
			o.Logger = slogTo(&buf)
			o.TrustedProxies = tc.trusted
		})
		for range 3 {
			var hdr []string
			if tc.xff {
				hdr = []string{"X-Forwarded-For", "198.51.100.7"}
			}
			l.call(l.bare(), http.MethodGet, "/api/health", "", hdr...)
		}
		if n := strings.Count(buf.String(), "RAMPART_TRUSTED_PROXIES"); n != tc.want {
			t.Errorf("%s: %d warnings, want %d\n%s", tc.name, n, tc.want, buf.String())
		}
	}
}

// lockedBuffer collects a server's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
