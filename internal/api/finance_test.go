package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestFinanceOverHTTP: amounts reach only roles with full cost access; a
// producer's unsign attempt is a 403 and an audit event; unsign needs a
// reason; bad amounts name the field; another organization gets 404.
func TestFinanceOverHTTP(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	ep := e.signIn(acme.email(rampart.RoleExecutiveProducer))
	id := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/sow", map[string]any{"title": "Gala SOW", "terms": "Net 30",
		"amount": map[string]any{"amount": "45000.00", "currency": "EUR"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	sowID, _ := r.json(t)["id"].(string)
	if r := e.do(ep, http.MethodPost, "/api/sows/"+sowID+"/sign", nil); r.status != 200 || r.json(t)["status"] != "signed" {
		t.Fatalf("sign: %d %s", r.status, r.body)
	}
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		r := e.do(e.signIn(acme.email(role)), http.MethodGet, "/api/proposals/"+id+"/sow", nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"status":"signed"`) || strings.Contains(string(r.body), "45000.00") || strings.Contains(string(r.body), "amount") {
			t.Errorf("%s reads %d %s", role, r.status, r.body)
		}
	}
	if r := e.do(ep, http.MethodGet, "/api/proposals/"+id+"/sow", nil); !strings.Contains(string(r.body), `"amount":{"amount":"45000.00","currency":"EUR"}`) {
		t.Errorf("executive producer reads %s", r.body)
	}
	before := e.events("finance.denied")
	problem(t, e.do(producer, http.MethodPost, "/api/sows/"+sowID+"/unsign", map[string]any{"reason": "client asked"}), http.StatusForbidden)
	if e.events("finance.denied") != before+1 {
		t.Error("the producer's unsign attempt was not audited")
	}
	if d, _ := problem(t, e.do(ep, http.MethodPost, "/api/sows/"+sowID+"/unsign", map[string]any{"reason": ""}), http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "reason") {
		t.Errorf("empty reason: %q", d)
	}
	if r := e.do(ep, http.MethodPost, "/api/sows/"+sowID+"/unsign", map[string]any{"reason": "New date"}); r.status != 200 || r.json(t)["status"] != "draft" {
		t.Fatalf("unsign: %d %s", r.status, r.body)
	}
	problem(t, e.do(ep, http.MethodPost, "/api/sows/"+sowID+"/unsign", map[string]any{"reason": "again"}), http.StatusConflict)
	for name, body := range map[string]any{
		"negative planned":  map[string]any{"category": "audio", "description": "PA", "planned": map[string]any{"amount": "-1", "currency": "EUR"}},
		"unknown currency":  map[string]any{"category": "audio", "description": "PA", "planned": map[string]any{"amount": "1", "currency": "ABC"}},
		"too many decimals": map[string]any{"category": "audio", "description": "PA", "planned": map[string]any{"amount": "1.234", "currency": "EUR"}},
	} {
		if d, _ := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/budget/lines", body), http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "planned") {
			t.Errorf("%s: %q does not name planned", name, d)
		}
	}
	gadmin := e.signIn(globex.email(rampart.RoleAdmin))
	for _, rq := range []struct{ method, path string }{
		{http.MethodGet, "/api/proposals/" + id + "/sow"},
		{http.MethodPost, "/api/sows/" + sowID + "/sign"},
		{http.MethodGet, "/api/sows/" + sowID + "/change-orders"},
		{http.MethodGet, "/api/proposals/" + id + "/budget"},
	} {
		problem(t, e.do(gadmin, rq.method, rq.path, nil), http.StatusNotFound)
	}
	if n := e.scalar(`SELECT count(*)::int FROM budget_lines`); n != 0 {
		t.Fatalf("%d budget lines after refused requests", n)
	}
}
