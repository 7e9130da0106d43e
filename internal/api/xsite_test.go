package api

import (
	"net/http"
	"testing"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Security review of issue 10: a SameSite=Lax cookie rides on cross-site
// top-level GET navigations, so a page that opened one popup could
// navigate it at the API until the victim's own requests got 429. The
// browser's fetch metadata says so (Sec-Fetch-Site: cross-site): such a
// request to an authenticated route is refused before it spends anything,
// and a page it reaches is counted against the address, not the session.
func TestCrossSiteNavigationsDoNotSpendTheVictimsBudget(t *testing.T) {
	e := setup(t)
	l := e.limitedServer(nil) // the default limits
	victim := l.signIn(e.orgs["acme"].email(rampart.RoleViewer))
	nav := []string{"Cookie", auth.SessionCookieName + "=" + l.cookie(victim), "Sec-Fetch-Site", "cross-site",
		"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html"}
	before := e.scalar(`SELECT count(*)::int FROM audit_events`)
	for i := range 80 {
		if r := l.call(l.bare(), http.MethodGet, "/api/me", "", nav...); r.status != http.StatusForbidden {
			t.Fatalf("cross-site navigation %d to the API: %d %s, want 403", i, r.status, r.body)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events`); n != before {
		t.Errorf("refused cross-site navigations wrote %d audit events", n-before)
	}
	for range 80 {
		l.call(l.bare(), http.MethodGet, "/", "", nav...)
	}
	if r := l.call(victim, http.MethodGet, "/api/venues", ""); r.status != http.StatusOK {
		t.Errorf("the victim's own API call after the attack: %d, want 200", r.status)
	}
	if r := l.call(victim, http.MethodGet, "/", ""); r.status != http.StatusOK {
		t.Errorf("the victim's console home after the attack: %d, want 200", r.status)
	}
	// An API token is sent on purpose: fetch metadata does not apply.
	if r := l.call(l.bare(), http.MethodGet, "/api/me", "", "Authorization", "Bearer x", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusUnauthorized {
		t.Errorf("a bearer request marked cross-site: %d, want 401", r.status)
	}
}
