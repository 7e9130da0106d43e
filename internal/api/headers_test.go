package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/store"
)

var nonceRE = regexp.MustCompile(`'nonce-([0-9a-f]{32})'`)

// TestSecurityHeadersOnEveryResponse samples every kind of answer — API,
// pages, problem responses, 404 and 405 — and checks the full header set
// and a CSP nonce that differs per response and matches the page's.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	anon := e.client()
	cases := []struct {
		c      *http.Client
		method string
		path   string
		status int
	}{
		{anon, "GET", "/api/health", 200},
		{anon, "GET", "/api/health/ready", 200},
		{admin, "GET", "/api/me", 200},
		{anon, "GET", "/api/me", 401},
		{admin, "GET", "/api/venues", 200},
		{anon, "GET", "/", 200},
		{admin, "GET", "/", 200},
		{anon, "GET", "/auth/confirm", 200},
		{anon, "GET", "/auth/link?token=bad", 401},
		{anon, "GET", "/no/such/route", 404},
		{anon, "PUT", "/api/health", 405},
		{admin, "POST", "/api/venues", 400},
	}
	want := map[string]string{
		"Strict-Transport-Security":  "max-age=63072000; includeSubDomains; preload",
		"X-Frame-Options":            "DENY",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "",
		"Permissions-Policy":         "camera=()",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	seen := map[string]bool{}
	check := func(method, path string, r resp) {
		t.Helper()
		for h, v := range want {
			got := r.header.Get(h)
			if got == "" || (v != "" && !strings.Contains(got, v)) {
				t.Errorf("%s %s (%d): %s = %q", method, path, r.status, h, got)
			}
		}
		csp := r.header.Get("Content-Security-Policy")
		m := nonceRE.FindStringSubmatch(csp)
		complete := true
		for _, part := range []string{"default-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
			complete = complete && strings.Contains(csp, part)
		}
		if m == nil || strings.Contains(csp, "unsafe-") || !complete {
			t.Errorf("%s %s (%d): CSP %q", method, path, r.status, csp)
			return
		}
		if seen[m[1]] {
			t.Errorf("nonce %s reused", m[1])
		}
		seen[m[1]] = true
	}
	// 429: a server with the real auth tier, asked six times.
	limited, _ := e.serverWith(func(o *Options) { o.Tiers = ratelimit.DefaultTiers() })
	var last resp
	for range 6 {
		st, h := postJSON(t, limited.Client(), limited.URL+"/api/auth/login-link", `{"email":"x@y.example"}`)
		last = resp{status: st, header: h}
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("sixth sign-in request: %d", last.status)
	}
	check("POST", "/api/auth/login-link (429)", last)
	// 403: a cross-origin mutation.
	check("POST", "/api/venues (cross-origin)", func() resp {
		r := e.do(admin, "POST", "/api/venues", map[string]any{"code": "X", "name": "x"}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if r.status != http.StatusForbidden {
			t.Fatalf("cross-origin: %d", r.status)
		}
		return r
	}())
	// 500: a server whose database pool is closed.
	broken, err := store.Open(context.Background(), e.db.AppURL, store.Options{ServiceURL: e.db.ServiceURL, Audit: testKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	broken.Close()
	// (A sign-in link request answers before any database work, so the
	// request that fails is an API token's: it is resolved first.)
	tr := e.do(admin, "POST", "/api/tokens", map[string]any{"name": "headers", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1})
	if tr.status != http.StatusCreated {
		t.Fatalf("token: %d %s", tr.status, tr.body)
	}
	bsrv, _ := e.serverWith(func(o *Options) { o.Store = broken })
	req, _ := http.NewRequest("GET", bsrv.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tr.json(t)["token"].(string))
	res, err := bsrv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("closed pool: %d", res.StatusCode)
	}
	check("GET", "/api/me (500)", resp{status: res.StatusCode, header: res.Header})
	for _, tc := range cases {
		var body any
		if tc.method == "POST" {
			body = "{}"
		}
		r := e.do(tc.c, tc.method, tc.path, body)
		if r.status != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, r.status, tc.status)
		}
		for h, v := range want {
			got := r.header.Get(h)
			if got == "" || (v != "" && !strings.Contains(got, v)) {
				t.Errorf("%s %s: %s = %q", tc.method, tc.path, h, got)
			}
		}
		if tc.path == "/auth/link?token=bad" && r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("the link page must not send a referrer: %q", r.header.Get("Referrer-Policy"))
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, part := range []string{"frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'none'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("%s %s: CSP lacks %s: %q", tc.method, tc.path, part, csp)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows unsafe code: %q", csp)
		}
		m := nonceRE.FindStringSubmatch(csp)
		if m == nil {
			t.Errorf("%s %s: no nonce in CSP %q", tc.method, tc.path, csp)
			continue
		}
		if seen[m[1]] {
			t.Errorf("nonce %s reused", m[1])
		}
		seen[m[1]] = true
		if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") && !strings.Contains(string(r.body), `nonce="`+m[1]+`"`) {
			t.Errorf("%s %s: the page's style does not carry the response's nonce", tc.method, tc.path)
		}
	}
}

// TestPanicIsA500Problem: a handler that panics answers 500 problem+json
// with the security headers, and the server keeps serving.
func TestPanicIsA500Problem(t *testing.T) {
	e := setup(t)
	e.api.edge.Public("GET /api/test/panic", edge.PerVisitor, func(w http.ResponseWriter, r *http.Request) error { panic("handler bug") })
	r := e.do(e.client(), "GET", "/api/test/panic", nil)
	p := problem(t, r, http.StatusInternalServerError)
	if p["detail"] != "An internal error occurred." || r.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("panic answer: %v %v", p, r.header)
	}
	if e.do(e.client(), "GET", "/api/health", nil).status != 200 {
		t.Fatal("the server stopped serving after a panic")
	}
}
