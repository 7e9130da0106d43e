package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// Issue 11: rate limits were per user only, so an organization's budget
// grew with its members and tokens. The org-* tiers are the
// organization's own budget, shared by all its principals.
func TestOrganizationBudgetIsShared(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(func(o *Options) {
		o.Tiers["org-api"] = ratelimit.Limit{N: 5, Period: time.Minute}
	})
	acme := e.orgs["acme"]
	a := l.signIn(acme.email(rampart.RoleProducer))
	b := l.signIn(acme.email(rampart.RoleViewer))
	other := l.signIn(e.orgs["globex"].email(rampart.RoleViewer))
	// Each member is well within the per-user 60/min; together they are not.
	for i := range 4 {
		if r := l.call(a, http.MethodGet, "/api/venues", ""); r.status != http.StatusOK {
			t.Fatalf("member A request %d: %d", i+1, r.status)
		}
	}
	if r := l.call(b, http.MethodGet, "/api/venues", ""); r.status != http.StatusOK {
		t.Fatalf("member B's first request: %d", r.status)
	}
	r := l.call(b, http.MethodGet, "/api/venues", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("member B past the organization's budget: %d", r.status)
	}
	if r := l.call(a, http.MethodGet, "/api/venues", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("member A past the organization's budget: %d", r.status)
	}
	// Another organization's budget is its own.
	if r := l.call(other, http.MethodGet, "/api/venues", ""); r.status != http.StatusOK {
		t.Fatalf("another organization: %d", r.status)
	}
	// The window moves on for everyone.
	l.clock.add(time.Minute)
	if r := l.call(b, http.MethodGet, "/api/venues", ""); r.status != http.StatusOK {
		t.Fatalf("after a minute: %d", r.status)
	}
}

// Issue 11: the cross-origin check holds with either signal alone.
func TestCrossOriginRefusedOnEitherSignal(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
	} {
		r := e.do(admin, http.MethodPost, "/api/invites", inviteBody("csrf@evil.example", rampart.RoleAdmin), hdr...)
		problem(t, r, http.StatusForbidden)
	}
	if e.scalar("SELECT count(*)::int FROM invites") != 0 {
		t.Fatal("a cross-origin request wrote")
	}
	// Same-origin signals pass.
	r := e.do(admin, http.MethodPost, "/api/invites", inviteBody("ok@outside.example", rampart.RoleViewer), "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusCreated {
		t.Fatalf("same-origin request: %d %s", r.status, r.body)
	}
}
