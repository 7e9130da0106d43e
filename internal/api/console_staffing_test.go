package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleStaffing: the vendor directory and crew pages by role (the
// day rate and the directory absent, not hidden, for roles without full
// cost access); the rank and match forms run the agents with their checks
// and show each candidate's score and signal table; a technical director's
// match has no day rate anywhere in the HTML; another organization's
// proposal is the 404 page.
func TestConsoleStaffing(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	const rate = "987.65"
	if r := e.do(admin, "POST", "/api/vendors", map[string]any{"name": "Stage Sound Ltd", "category": "audio", "price_band": 2, "lead_time_days": 10}); r.status != 201 {
		t.Fatalf("vendor: %d %s", r.status, r.body)
	}
	if r := e.do(admin, "POST", "/api/crew", map[string]any{"name": "Sam Rigger", "skills": []string{"rigging"},
		"day_rate": map[string]any{"amount": rate, "currency": "EUR"}}); r.status != 201 {
		t.Fatalf("crew: %d %s", r.status, r.body)
	}
	r := e.do(admin, "POST", "/api/proposals", map[string]any{"title": "Staffing gala", "venue_code": "HALL-A"})
	if r.status != 201 {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	pid := r.json(t)["id"].(string)

	if r := e.page(admin, "/vendors"); r.status != 200 || !strings.Contains(string(r.body), "Stage Sound Ltd") {
		t.Errorf("admin's vendors: %d", r.status)
	}
	if r := e.page(td, "/vendors"); r.status != http.StatusForbidden || strings.Contains(string(r.body), "Stage Sound") {
		t.Errorf("technical director's vendors: %d", r.status)
	}
	if r := e.page(admin, "/crew"); r.status != 200 || !strings.Contains(string(r.body), rate) {
		t.Errorf("admin's crew lacks the day rate: %d", r.status)
	}
	if r := e.page(td, "/crew"); r.status != 200 || !strings.Contains(string(r.body), "Sam Rigger") || strings.Contains(string(r.body), rate) ||
		strings.Contains(string(r.body), "Day rate") {
		t.Errorf("technical director's crew: %d\n%s", r.status, r.body)
	}

	// The staffing page: forms by agent tier.
	sp := e.page(td, "/proposals/"+pid+"/staffing")
	assertSafePage(t, "staffing", sp)
	if b := string(sp.body); sp.status != 200 || strings.Contains(b, `id="rank-form"`) || !strings.Contains(b, `id="match-form"`) {
		t.Errorf("technical director's staffing page: %d", sp.status)
	}

	// Ranking: the candidates with the signal table, the proposal linked.
	rk := e.form(admin, "/proposals/"+pid+"/vendors/rank", url.Values{"category": {"audio"}})
	assertSafePage(t, "ranking", rk)
	if b := string(rk.body); rk.status != 200 || !strings.Contains(b, "Stage Sound Ltd") || !strings.Contains(b, "Contribution") ||
		!strings.Contains(b, `id="proposed"`) || !strings.Contains(b, "on_time_rate") {
		t.Errorf("ranking: %d\n%s", rk.status, b)
	}
	if r := e.form(admin, "/proposals/"+pid+"/vendors/rank", url.Values{"category": {"lasers"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(string(r.body), `id="s-category-err"`) {
		t.Errorf("unknown category: %d", r.status)
	}
	// The ranker needs full cost access: refused before anything runs.
	events := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'agent.vendor_ranker.ranked'`)
	if r := e.form(td, "/proposals/"+pid+"/vendors/rank", url.Values{"category": {"audio"}}); r.status != http.StatusForbidden ||
		strings.Contains(string(r.body), "Stage Sound") {
		t.Errorf("technical director ranking vendors: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'agent.vendor_ranker.ranked'`); n != events {
		t.Errorf("a refused ranking ran: %d → %d", events, n)
	}

	// Matching: the day rate is a signal and a column for the admin only.
	m := e.form(admin, "/proposals/"+pid+"/crew/match", url.Values{"skills": {"rigging"}})
	if b := string(m.body); m.status != 200 || !strings.Contains(b, "Sam Rigger") || !strings.Contains(b, rate) || !strings.Contains(b, "day_rate") {
		t.Errorf("admin's match: %d\n%s", m.status, b)
	}
	m = e.form(td, "/proposals/"+pid+"/crew/match", url.Values{"skills": {"rigging"}})
	if b := string(m.body); m.status != 200 || !strings.Contains(b, "Sam Rigger") || !strings.Contains(b, "Contribution") ||
		strings.Contains(b, rate) || strings.Contains(b, "day_rate") || strings.Contains(b, "day rate") {
		t.Errorf("technical director's match: %d\n%s", m.status, b)
	}

	// Another organization's proposal: the 404 page, nothing run.
	if r := e.page(outsider, "/proposals/"+pid+"/staffing"); r.status != http.StatusNotFound || strings.Contains(string(r.body), "Staffing gala") {
		t.Errorf("another organization's staffing page: %d", r.status)
	}
	if r := e.form(outsider, "/proposals/"+pid+"/crew/match", url.Values{"skills": {"rigging"}}); r.status != http.StatusNotFound ||
		strings.Contains(string(r.body), "Sam Rigger") {
		t.Errorf("another organization matching: %d", r.status)
	}
}
