package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/refusal"
)

// TestRateLimitRefusalsPerOrganization drives real 429s on an
// authenticated route of acme (a user's budget and the organization's),
// and unauthenticated ones (sign-in and bad credentials, budgets per
// address), flushes the counter, and reads: acme's admin sees acme's two
// refusals by tier on the API and the usage page; globex's admin sees
// none of them; a producer or viewer can read neither; unauthenticated
// refusals reached no table; the flush wrote no audit event.
func TestRateLimitRefusalsPerOrganization(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	mint := func(name string) string {
		r := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": name, "role": "admin", "venue_codes": []string{}, "expires_in_days": 1})
		if r.status != http.StatusCreated {
			t.Fatalf("token: %d %s", r.status, r.body)
		}
		return r.json(t)["token"].(string)
	}
	one, two := mint("one"), mint("two")

	counter := refusal.NewCounter(0)
	now := time.Unix(1_900_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, _ := e.serverWith(func(o *Options) {
		o.Limiter = ratelimit.NewLocal(clock) // one window, whatever the machine's speed
		o.Tiers["api"] = ratelimit.Limit{N: 2, Period: time.Minute}
		o.Tiers["org-api"] = ratelimit.Limit{N: 3, Period: time.Minute}
		o.Tiers["auth"] = ratelimit.Limit{N: 1, Period: time.Minute}
		o.Refusals = counter
	})
	call := func(method, path, body string, headers ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	me := func(tok string) int { return call(http.MethodGet, "/api/me", "", "Authorization", "Bearer "+tok) }
	// Token one: two pass; the third passes the organization's budget
	// (its third of 3) and is refused by the token's own (api). Token
	// two is refused by the organization's budget (org-api), spent.
	got := []int{me(one), me(one), me(one), me(two)}
	if want := []int{200, 200, 429, 429}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	// Unauthenticated refusals: a second sign-in request from this
	// address, a second bad token.
	signin := []int{call(http.MethodPost, "/api/auth/login-link", `{"email":"nobody@nowhere.example"}`),
		call(http.MethodPost, "/api/auth/login-link", `{"email":"nobody@nowhere.example"}`),
		call(http.MethodGet, "/api/me", "", "Authorization", "Bearer not-a-token"),
		call(http.MethodGet, "/api/me", "", "Authorization", "Bearer not-a-token")}
	if signin[1] != 429 || signin[3] != 429 {
		t.Fatalf("unauthenticated statuses %v, want the second of each refused", signin)
	}
	if counter.Pending() != 2 || counter.Dropped() != 0 {
		t.Fatalf("counter holds %d keys (%d dropped), want acme's 2", counter.Pending(), counter.Dropped())
	}
	events := e.scalar(`SELECT count(*)::int FROM audit_events`)
	if err := counter.Flush(context.Background(), e.store); err != nil {
		t.Fatal(err)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events`); n != events {
		t.Fatalf("the flush wrote %d audit events", n-events)
	}
	if n := e.scalar(`SELECT coalesce(sum(refusals), 0)::int FROM rate_limit_refusals WHERE organization_id <> $1`, acme.org.ID); n != 0 {
		t.Fatalf("%d refusals recorded for another organization (or none)", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM rate_limit_refusals WHERE tier NOT IN ('api', 'org-api')`); n != 0 {
		t.Fatalf("%d rows of another tier (an unauthenticated refusal reached the table)", n)
	}

	// The API (2 days: the flush and the read may straddle midnight UTC).
	var rep refusalsReport
	r := e.do(admin, http.MethodGet, "/api/admin/usage/refusals?days=2", nil)
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("refusals: %d %s", r.status, r.body)
	}
	if rep.Days != 2 || len(rep.PerDay) != 2 || rep.Refusals != 2 ||
		len(rep.ByTier) != 2 || rep.ByTier[0] != (refusalTierView{"api", 1}) || rep.ByTier[1] != (refusalTierView{"org-api", 1}) ||
		rep.PerDay[0].Refusals+rep.PerDay[1].Refusals != 2 || rep.To != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("acme's refusals: %s", r.body)
	}
	globexAdmin := e.signIn(globex.email(rampart.RoleAdmin))
	r = e.do(globexAdmin, http.MethodGet, "/api/admin/usage/refusals", nil)
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || rep.Refusals != 0 || len(rep.ByTier) != 0 || len(rep.PerDay) != 30 {
		t.Fatalf("globex sees: %d %s", r.status, r.body)
	}
	for _, q := range []string{"0", "401", "abc", "-3", "2.5"} {
		r := e.do(admin, http.MethodGet, "/api/admin/usage/refusals?days="+q, nil)
		if r.status != 400 || !strings.Contains(string(r.body), "days") {
			t.Errorf("days=%s: %d %s", q, r.status, r.body)
		}
	}

	// The usage page.
	r = e.page(admin, "/admin/usage")
	assertSafePage(t, "usage", r)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, `aria-label="Rate-limit refusals per day: 2 refusals over 30 days, at most `) ||
		!strings.Contains(body, `<table id="usage-ratelimit-tiers">`) || !strings.Contains(body, "<tr><td>api</td><td>1</td></tr>") ||
		!strings.Contains(body, "<tr><td>org-api</td><td>1</td></tr>") || !strings.Contains(body, "(2 in all)") {
		t.Fatalf("acme's usage page: %d\n%s", r.status, body)
	}
	r = e.page(globexAdmin, "/admin/usage")
	if body := string(r.body); r.status != 200 || !strings.Contains(body, `aria-label="Rate-limit refusals per day: 0 refusals over 30 days`) ||
		!strings.Contains(body, `id="usage-ratelimit-none"`) || strings.Contains(body, "usage-ratelimit-tiers") {
		t.Fatalf("globex's usage page shows acme's refusals: %d\n%s", r.status, body)
	}

	// Neither a producer nor a viewer reads them.
	for _, role := range []rampart.Role{rampart.RoleProducer, rampart.RoleViewer} {
		c := e.signIn(acme.email(role))
		if r := e.do(c, http.MethodGet, "/api/admin/usage/refusals", nil); r.status != 403 || strings.Contains(string(r.body), "org-api") {
			t.Errorf("a %s reads the refusals: %d %s", role, r.status, r.body)
		}
		if r := e.page(c, "/admin/usage"); r.status != 403 || strings.Contains(string(r.body), "usage-ratelimit") {
			t.Errorf("a %s's usage page: %d", role, r.status)
		}
	}
}
