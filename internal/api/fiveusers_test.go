package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestFiveUsersOneAddressNo429 is an office behind one NAT: five people
// sign in from one address, over real HTTPS with real cookies, and use the
// API while something at the same address sends bad cookies, bad tokens,
// wrong ids, malformed JSON, requests without credentials and cross-site
// POSTs. With the default limits, and a clock that never moves (all of it
// happens in one window), no request made with a valid session may get a
// 429. Bad requests may; they are only counted.
func TestFiveUsersOneAddressNo429(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(nil)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	emails := []string{acme.email(rampart.RoleAdmin), acme.email(rampart.RoleProducer), acme.email(rampart.RoleVenueManager),
		acme.email(rampart.RoleViewer), globex.email(rampart.RoleAdmin)}

	type outcome struct {
		who, what string
		status    int
	}
	var valid, bad []outcome
	anon := l.bare()
	n := 0
	// badRequest sends the next bad request of the cycle. The sign-in
	// phase leaves out the kinds that spend the address's sign-in budgets
	// (which are meant to stop a flood of link requests and confirmations).
	badRequest := func(signingIn bool) {
		t.Helper()
		kinds := []struct {
			what string
			do   func() resp
		}{
			{"garbage session cookie", func() resp {
				return l.call(anon, http.MethodGet, "/api/me", "", "Cookie", auth.SessionCookieName+"=v1.k2.garbage.garbage")
			}},
			{"garbage bearer token", func() resp {
				return l.call(anon, http.MethodGet, "/api/venues", "", "Authorization", "Bearer not.a.token")
			}},
			{"basic auth", func() resp {
				return l.call(anon, http.MethodGet, "/api/tokens", "", "Authorization", "Basic YWRtaW46YWRtaW4=")
			}},
			{"cross-site <img>", func() resp { return l.call(anon, http.MethodGet, "/api/me", "", imgTag...) }},
			{"cross-site POST", func() resp { return l.call(anon, http.MethodPost, "/api/venues", "code=X", crossSitePost...) }},
			{"no credential", func() resp { return l.call(anon, http.MethodGet, "/api/sessions", "") }},
			{"cookie of an unknown key", func() resp {
				return l.call(anon, http.MethodGet, "/api/me", "", "Cookie", auth.SessionCookieName+"=v1.zz."+strings.Repeat("A", 32)+"."+strings.Repeat("B", 43))
			}},
			{"confirmation without a link", func() resp { return l.call(anon, http.MethodPost, "/auth/confirm", "") }},
			{"malformed link", func() resp { return l.call(anon, http.MethodGet, "/auth/link?token=bogus", "") }},
			{"malformed sign-in JSON", func() resp { return l.call(anon, http.MethodPost, "/api/auth/login-link", `{"email":`) }},
		}
		k := kinds[n%len(kinds)]
		if signingIn {
			k = kinds[n%7]
		}
		n++
		r := k.do()
		if r.status < 400 {
			t.Errorf("bad request %q: %d", k.what, r.status)
		}
		bad = append(bad, outcome{"anonymous", k.what, r.status})
	}

	// Sign in all five, with bad requests in between.
	browsers := make([]*http.Client, len(emails))
	for i, email := range emails {
		badRequest(true)
		browsers[i] = l.signIn(email)
		badRequest(true)
	}

	// Learn each organization's venue ids (the admins see all of them).
	venueIDs := map[string][]string{}
	for i, org := range []string{"acme", "globex"} {
		admin := browsers[[]int{0, 4}[i]]
		r := l.call(admin, http.MethodGet, "/api/venues", "")
		valid = append(valid, outcome{org + " admin", "GET /api/venues", r.status})
		for _, v := range r.json(t)["venues"].([]any) {
			venueIDs[org] = append(venueIDs[org], v.(map[string]any)["id"].(string))
		}
	}
	if len(venueIDs["acme"]) != 2 || len(venueIDs["globex"]) != 2 {
		t.Fatalf("venues: %v", venueIDs)
	}

	// Explore: every user, two rounds, a bad request after every call.
	for round := range 2 {
		for i, c := range browsers {
			own, other := venueIDs["acme"], venueIDs["globex"]
			if i == 4 {
				own, other = other, own
			}
			calls := []struct{ method, path, body string }{
				{"GET", "/api/me", ""},
				{"GET", "/api/sessions", ""},
				{"GET", "/api/agents", ""},
				{"GET", "/api/venues", ""},
				{"GET", "/api/venues/" + own[0], ""},
				{"GET", "/api/venues/" + other[0], ""},           // another tenant's id: 404
				{"GET", "/api/venues/" + uuid.NewString(), ""},   // no such id: 404
				{"GET", "/api/venues/not-a-uuid", ""},            // 400 or 404
				{"POST", "/api/venues", `{"code":`},              // malformed JSON
				{"POST", "/api/venues", `{"code":"X","name":1}`}, // wrong type
				{"POST", "/api/venues", fmt.Sprintf(`{"code":"R%dU%d","name":"Room"}`, round, i)},
				{"PATCH", "/api/members/" + uuid.NewString(), `{"role":"viewer","venue_codes":[]}`},
				{"DELETE", "/api/tokens/" + uuid.NewString(), ""},
				{"POST", "/api/auth/switch-org", `{"organization_id":"` + uuid.NewString() + `"}`},
				{"GET", "/api/members", ""},
				{"GET", "/api/invites", ""},
				{"GET", "/api/tokens", ""},
				{"GET", "/api/audit/events", ""},
				{"GET", "/api/proposals", ""},
				{"GET", "/", ""},
				{"GET", "/openapi.json", ""},
			}
			for _, call := range calls {
				r := l.call(c, call.method, call.path, call.body)
				valid = append(valid, outcome{emails[i], call.method + " " + call.path, r.status})
				badRequest(false)
			}
		}
	}
	// And everyone is still signed in.
	for i, c := range browsers {
		r := l.call(c, http.MethodGet, "/api/me", "")
		valid = append(valid, outcome{emails[i], "GET /api/me (final)", r.status})
		if r.status != http.StatusOK {
			t.Errorf("%s at the end: %d %s", emails[i], r.status, r.body)
		}
	}

	count := func(os []outcome) string {
		m := map[int]int{}
		for _, o := range os {
			m[o.status]++
		}
		var parts []string
		for s, c := range m {
			parts = append(parts, fmt.Sprintf("%d×%d", c, s))
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	t.Logf("%d valid-session requests: %s", len(valid), count(valid))
	t.Logf("%d bad requests: %s", len(bad), count(bad))
	for _, o := range valid {
		if o.status == http.StatusTooManyRequests {
			t.Errorf("valid session of %s got 429 on %s", o.who, o.what)
		}
		if o.status >= 500 && o.status != http.StatusServiceUnavailable { // the AI endpoints answer 503 without a pipeline
			t.Errorf("valid session of %s got %d on %s", o.who, o.status, o.what)
		}
	}
}
