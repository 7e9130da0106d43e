package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestBOMOverHTTP drives the bill of materials through the whole chain
// with real sessions: the roles with full cost access read costs and the
// server's totals; the others' answers carry no cost, sourcing, lead-time
// or total field and no value of one, at any depth; bad input is a 400
// naming the field and writes nothing; another organization's ids are 404.
func TestBOMOverHTTP(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	id := e.newProposal(producer, map[string]any{"title": "Spring gala", "venue_code": "HALL-A"})
	line := map[string]any{"item": "Moving head spot", "category": "lighting", "quantity": 2.5, "unit": "day",
		"cost": map[string]any{"unit_cost": map[string]any{"amount": "480.50", "currency": "GBP"}, "sourcing": "Lite Hire, quote LH-77", "lead_time_days": 21}}
	r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/bom/lines", line)
	if r.status != http.StatusCreated {
		t.Fatalf("add line: %d %s", r.status, r.body)
	}
	created := r.json(t)
	lineID, _ := created["id"].(string)
	if created["quantity"] != 2.5 || !strings.Contains(string(r.body), `"line_total":{"amount":"1201.25","currency":"GBP"}`) {
		t.Fatalf("created line: %s", r.body)
	}
	// The roles with full cost access.
	for _, role := range []rampart.Role{rampart.RoleAdmin, rampart.RoleExecutiveProducer, rampart.RoleProducer} {
		r := e.do(e.signIn(acme.email(role)), http.MethodGet, "/api/proposals/"+id+"/bom", nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"totals":[{"amount":"1201.25","currency":"GBP"}]`) ||
			!strings.Contains(string(r.body), "Lite Hire") || !strings.Contains(string(r.body), `"lead_time_days":21`) {
			t.Errorf("%s reads %d %s", role, r.status, r.body)
		}
	}
	// The others: not a byte of it.
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		c := e.signIn(acme.email(role))
		r := e.do(c, http.MethodGet, "/api/proposals/"+id+"/bom", nil)
		if r.status != 200 || !strings.Contains(string(r.body), "Moving head spot") {
			t.Errorf("%s reads %d %s", role, r.status, r.body)
			continue
		}
		for _, leak := range []string{"cost", "sourcing", "lead", "total", "480.50", "1201.25", "GBP", "Lite Hire", "currency", "amount"} {
			if strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(leak)) {
				t.Errorf("%s's bill contains %q: %s", role, leak, r.body)
			}
		}
	}
	// A technical director edits lines but may not send the sealed fields.
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	before := e.scalar(`SELECT count(*)::int FROM bom_lines`)
	problem(t, e.do(td, http.MethodPost, "/api/proposals/"+id+"/bom/lines", line), http.StatusForbidden)
	problem(t, e.do(td, http.MethodPatch, "/api/bom/lines/"+lineID, map[string]any{"clear_cost_fields": []string{"sourcing"}}), http.StatusForbidden)
	r = e.do(td, http.MethodPatch, "/api/bom/lines/"+lineID, map[string]any{"quantity": 3})
	if r.status != 200 || strings.Contains(string(r.body), "cost") || r.json(t)["quantity"] != 3.0 {
		t.Fatalf("technical director's quantity change: %d %s", r.status, r.body)
	}

	// Bad input: 400 naming the field, nothing written.
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"zero quantity", map[string]any{"item": "x", "category": "audio", "quantity": 0, "unit": "day"}, "quantity"},
		{"negative quantity", map[string]any{"item": "x", "category": "audio", "quantity": -4, "unit": "day"}, "quantity"},
		{"absurd quantity", map[string]any{"item": "x", "category": "audio", "quantity": 1e9, "unit": "day"}, "quantity"},
		{"quantity in exponent form", `{"item":"x","category":"audio","quantity":1e2,"unit":"day"}`, "quantity"},
		{"four decimals", map[string]any{"item": "x", "category": "audio", "quantity": 1.2345, "unit": "day"}, "quantity"},
		{"quantity as a string", map[string]any{"item": "x", "category": "audio", "quantity": "3", "unit": "day"}, "quantity"},
		{"unknown category", map[string]any{"item": "x", "category": "weapons", "quantity": 1, "unit": "day"}, "category"},
		{"missing item", map[string]any{"category": "audio", "quantity": 1, "unit": "day"}, "item"},
		{"unknown field", `{"item":"x","category":"audio","quantity":1,"unit":"day","margin":3}`, "margin"},
		{"unknown currency", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"unit_cost": map[string]any{"amount": "1", "currency": "XXX"}}}, "currency"},
		{"lower-case currency", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"unit_cost": map[string]any{"amount": "1", "currency": "eur"}}}, "currency"},
		{"cents of a currency without", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"unit_cost": map[string]any{"amount": "100.5", "currency": "JPY"}}}, "amount"},
		{"negative cost", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"unit_cost": map[string]any{"amount": "-5", "currency": "EUR"}}}, "amount"},
		{"absurd cost", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"unit_cost": map[string]any{"amount": "99999999999999", "currency": "EUR"}}}, "amount"},
		{"absurd lead time", map[string]any{"item": "x", "category": "audio", "quantity": 1, "unit": "day",
			"cost": map[string]any{"lead_time_days": 99999}}, "lead_time_days"},
	} {
		r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/bom/lines", tc.body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.name, r.status, r.body)
			continue
		}
		if d, _ := problem(t, r, http.StatusBadRequest)["detail"].(string); !strings.Contains(d, tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.name, d, tc.field)
		}
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"clear an unknown field", map[string]any{"clear_cost_fields": []string{"margin"}}, "clear_cost_fields"},
		{"set and clear", map[string]any{"cost": map[string]any{"lead_time_days": 3}, "clear_cost_fields": []string{"lead_time_days"}}, "clear_cost_fields"},
		{"blank unit", map[string]any{"unit": ""}, "unit"},
	} {
		r := e.do(producer, http.MethodPatch, "/api/bom/lines/"+lineID, tc.body)
		if d, _ := problem(t, r, http.StatusBadRequest)["detail"].(string); !strings.Contains(d, tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.name, d, tc.field)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM bom_lines`); n != before {
		t.Fatalf("%d lines after refused requests, want %d", n, before)
	}

	// Another organization: 404 for every route, nothing changed.
	gadmin := e.signIn(globex.email(rampart.RoleAdmin))
	for _, rq := range []struct{ method, path string }{
		{http.MethodGet, "/api/proposals/" + id + "/bom"},
		{http.MethodPost, "/api/proposals/" + id + "/bom/lines"},
		{http.MethodPatch, "/api/bom/lines/" + lineID},
		{http.MethodDelete, "/api/bom/lines/" + lineID},
	} {
		var body any
		if rq.method == http.MethodPost || rq.method == http.MethodPatch {
			body = map[string]any{"item": "pwned", "category": "other", "quantity": 1, "unit": "x"}
		}
		problem(t, e.do(gadmin, rq.method, rq.path, body), http.StatusNotFound)
	}
	// Clearing and deleting.
	r = e.do(producer, http.MethodPatch, "/api/bom/lines/"+lineID, map[string]any{"clear_cost_fields": []string{"sourcing", "lead_time_days"}})
	if r.status != 200 || strings.Contains(string(r.body), "Lite Hire") || strings.Contains(string(r.body), "lead_time_days") {
		t.Fatalf("clear: %d %s", r.status, r.body)
	}
	if r := e.do(producer, http.MethodDelete, "/api/bom/lines/"+lineID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if e.events("bom.line.created") != 1 || e.events("bom.line.updated") != 2 || e.events("bom.line.deleted") != 1 {
		t.Fatalf("bom events: %d created, %d updated, %d deleted", e.events("bom.line.created"), e.events("bom.line.updated"), e.events("bom.line.deleted"))
	}
}

// The bill-of-materials routes are documented with their answers and
// examples in /openapi.json.
func TestBOMRoutesDocumented(t *testing.T) {
	e := setup(t)
	r := e.do(e.client(), http.MethodGet, "/openapi.json", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Summary   string `json:"summary"`
			Responses map[string]struct {
				Content map[string]struct {
					Example map[string]any `json:"example"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, method, status string }{
		{"/api/proposals/{id}/bom", "get", "200"},
		{"/api/proposals/{id}/bom/lines", "post", "201"},
		{"/api/bom/lines/{id}", "patch", "200"},
		{"/api/bom/lines/{id}", "delete", "204"},
	} {
		op := doc.Paths[c.path][c.method]
		resp, ok := op.Responses[c.status]
		if op.Summary == "" || !ok {
			t.Errorf("%s %s: summary %q, responses %v", c.method, c.path, op.Summary, op.Responses)
			continue
		}
		if c.status != "204" && len(resp.Content["application/json"].Example) == 0 {
			t.Errorf("%s %s: no example", c.method, c.path)
		}
	}
	if ex := doc.Paths["/api/proposals/{id}/bom"]["get"].Responses["200"].Content["application/json"].Example; ex["totals"] == nil {
		t.Errorf("the bill's example has no totals: %v", ex)
	}
}
