package api

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// walkKeys calls visit for every object key at any depth of v, with its value.
func walkKeys(v any, visit func(key string, val any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			visit(k, val)
			walkKeys(val, visit)
		}
	case []any:
		for _, val := range x {
			walkKeys(val, visit)
		}
	}
}

// checkSignals asserts every candidate's score is the sum of its signals'
// contributions, each contribution is normalized × weight, and returns the
// signal names of the first candidate.
func checkSignals(t *testing.T, body map[string]any) []string {
	t.Helper()
	cands, _ := body["candidates"].([]any)
	if len(cands) == 0 {
		t.Fatalf("no candidates: %v", body)
	}
	var names []string
	for i, c := range cands {
		cm := c.(map[string]any)
		sum := 0.0
		for _, s := range cm["signals"].([]any) {
			sm := s.(map[string]any)
			for _, k := range []string{"name", "raw", "normalized", "weight", "contribution"} {
				if _, ok := sm[k]; !ok {
					t.Fatalf("signal without %s: %v", k, sm)
				}
			}
			n, w, ctb := sm["normalized"].(float64), sm["weight"].(float64), sm["contribution"].(float64)
			if math.Abs(n*w-ctb) > 0.0001 {
				t.Errorf("contribution %v ≠ %v × %v", ctb, n, w)
			}
			sum += ctb
			if i == 0 {
				names = append(names, sm["name"].(string))
			}
		}
		if math.Abs(sum-cm["score"].(float64)) > 0.0002 {
			t.Errorf("score %v ≠ sum of contributions %v", cm["score"], sum)
		}
	}
	return names
}

// TestStaffingOverHTTP: vendor ranking and crew matching carry their
// signals; the vendor directory is full-cost-access only; a technical
// director's crew match contains no day rate at any depth (no key, no
// signal, no amount), while a producer's does; choices are made by
// people with edit rights; another organization's ids are 404 and bad
// input names its field, with nothing written.
func TestStaffingOverHTTP(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	vm := e.signIn(acme.email(rampart.RoleVenueManager))
	gadmin := e.signIn(globex.email(rampart.RoleAdmin))
	// The venue's coordinates, set through the venue API.
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	var hallA string
	for _, v := range e.do(admin, http.MethodGet, "/api/venues", nil).json(t)["venues"].([]any) {
		if vm := v.(map[string]any); vm["code"] == "HALL-A" {
			hallA, _ = vm["id"].(string)
		}
	}
	if r := e.do(admin, http.MethodPatch, "/api/venues/"+hallA, map[string]any{"name": "Hall A", "location": map[string]any{"latitude": 51.752, "longitude": -1.2577}}); r.status != 200 ||
		!strings.Contains(string(r.body), `"location":{"latitude":51.752,"longitude":-1.2577}`) {
		t.Fatalf("venue location: %d %s", r.status, r.body)
	}
	problem(t, e.do(admin, http.MethodPatch, "/api/venues/"+hallA, map[string]any{"name": "Hall A", "location": map[string]any{"latitude": 91, "longitude": 0}}), http.StatusBadRequest)
	id := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})

	var near, far string
	for _, v := range []map[string]any{
		{"name": "Near Sound", "category": "audio", "price_band": 3, "lead_time_days": 5, "on_time_count": 9, "late_count": 1, "depot": map[string]any{"latitude": 51.75, "longitude": -1.25}},
		{"name": "Far Sound", "category": "audio", "price_band": 3, "lead_time_days": 5, "on_time_count": 9, "late_count": 1, "depot": map[string]any{"latitude": 55.95, "longitude": -3.19}},
		{"name": "Lights Co", "category": "lighting", "price_band": 1, "lead_time_days": 2},
	} {
		r := e.do(producer, http.MethodPost, "/api/vendors", v)
		if r.status != http.StatusCreated {
			t.Fatalf("vendor: %d %s", r.status, r.body)
		}
		switch v["name"] {
		case "Near Sound":
			near, _ = r.json(t)["id"].(string)
		case "Far Sound":
			far, _ = r.json(t)["id"].(string)
		}
	}

	// Ranking: only audio vendors, nearer first (all else equal), signals explain it.
	r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/vendors/rank", map[string]any{"category": "audio"})
	if r.status != 200 {
		t.Fatalf("rank: %d %s", r.status, r.body)
	}
	body := r.json(t)
	names := checkSignals(t, body)
	if strings.Join(names, ",") != "on_time_rate,price_band,lead_time,distance" {
		t.Errorf("vendor signals %v", names)
	}
	cands := body["candidates"].([]any)
	if len(cands) != 2 || cands[0].(map[string]any)["vendor"].(map[string]any)["id"] != near {
		t.Errorf("ranking %s, want Near Sound first of two", r.body)
	}
	// The same request gives the same answer (deterministic).
	again := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/vendors/rank", map[string]any{"category": "audio"}).json(t)
	a, _ := json.Marshal(again["candidates"])
	b, _ := json.Marshal(body["candidates"])
	if string(a) != string(b) {
		t.Error("ranking is not deterministic")
	}

	// The vendor directory and ranking are sourcing: a technical director
	// and a venue manager are refused, and nothing leaks in the refusal.
	for _, c := range []*http.Client{td, vm} {
		for _, rq := range []struct{ method, path string }{{http.MethodGet, "/api/vendors"}, {http.MethodGet, "/api/vendors/" + near}} {
			if r := e.do(c, rq.method, rq.path, nil); r.status != http.StatusForbidden || strings.Contains(string(r.body), "Sound") {
				t.Errorf("%s %s: %d %s", rq.method, rq.path, r.status, r.body)
			}
		}
		if r := e.do(c, http.MethodPost, "/api/proposals/"+id+"/vendors/rank", map[string]any{"category": "audio"}); r.status != http.StatusForbidden || strings.Contains(string(r.body), "Sound") {
			t.Errorf("rank by a role without cost access: %d %s", r.status, r.body)
		}
	}

	// Crew with day rates.
	var sam string
	for _, m := range []map[string]any{
		{"name": "Sam Rigger", "skills": []string{"Rigging", "follow spot"}, "certifications": []map[string]any{{"name": "IPAF", "expires_on": "2028-01-31"}},
			"availability": []map[string]any{{"from": "2027-03-01", "to": "2027-03-31"}}, "day_rate": map[string]any{"amount": "987.65", "currency": "EUR"}},
		{"name": "Alex Sound", "skills": []string{"audio"}, "day_rate": map[string]any{"amount": "543.21", "currency": "EUR"}},
	} {
		r := e.do(producer, http.MethodPost, "/api/crew", m)
		if r.status != http.StatusCreated {
			t.Fatalf("crew: %d %s", r.status, r.body)
		}
		if m["name"] == "Sam Rigger" {
			sam, _ = r.json(t)["id"].(string)
		}
	}
	match := map[string]any{"skills": []string{"rigging"}, "certifications": []string{"ipaf"}, "dates": map[string]any{"from": "2027-03-14", "to": "2027-03-16"}}
	r = e.do(producer, http.MethodPost, "/api/proposals/"+id+"/crew/match", match)
	if r.status != 200 || !strings.Contains(string(r.body), `"day_rate"`) || !strings.Contains(string(r.body), "987.65") {
		t.Fatalf("producer's match: %d %s", r.status, r.body)
	}
	if names := checkSignals(t, r.json(t)); strings.Join(names, ",") != "skills,certifications,availability,day_rate" {
		t.Errorf("producer's crew signals %v", names)
	}
	// Roles without full cost access: no day rate at any depth.
	for role, c := range map[rampart.Role]*http.Client{rampart.RoleTechnicalDirector: td, rampart.RoleVenueManager: vm} {
		r := e.do(c, http.MethodPost, "/api/proposals/"+id+"/crew/match", match)
		if r.status != 200 {
			t.Fatalf("%s match: %d %s", role, r.status, r.body)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		// No key or text about a rate, and neither rate as a decimal
		// string ("987.65") or a number (987.65 or 98765 minor units).
		walkKeys(v, func(k string, val any) {
			if strings.Contains(strings.ToLower(k), "rate") {
				t.Errorf("%s: key %q in the match", role, k)
			}
			switch x := val.(type) {
			case string:
				if strings.Contains(x, "rate") || strings.Contains(x, "987.65") || strings.Contains(x, "543.21") {
					t.Errorf("%s: value %q under %q", role, x, k)
				}
			case float64:
				if x == 987.65 || x == 98765 || x == 543.21 || x == 54321 {
					t.Errorf("%s: value %v under %q", role, x, k)
				}
			}
		})
		if strings.Contains(string(r.body), "987.65") || strings.Contains(string(r.body), "543.21") {
			t.Errorf("%s: an amount in %s", role, r.body)
		}
		names := checkSignals(t, v.(map[string]any))
		if strings.Join(names, ",") != "skills,certifications,availability" {
			t.Errorf("%s crew signals %v", role, names)
		}
		if first := v.(map[string]any)["candidates"].([]any)[0].(map[string]any)["crew_member"].(map[string]any)["id"]; first != sam {
			t.Errorf("%s: %v first, want Sam", role, first)
		}
		// The crew list and one member read without a rate too.
		if r := e.do(c, http.MethodGet, "/api/crew/"+sam, nil); role == rampart.RoleTechnicalDirector && (r.status != 200 || strings.Contains(string(r.body), "987.65") || strings.Contains(string(r.body), "rate")) {
			t.Errorf("%s reads a member: %d %s", role, r.status, r.body)
		}
	}
	// A technical director may not set a day rate (nor add crew).
	if r := e.do(td, http.MethodPatch, "/api/crew/"+sam, map[string]any{"day_rate": map[string]any{"amount": "1.00", "currency": "EUR"}}); r.status != http.StatusForbidden {
		t.Errorf("td sets a day rate: %d %s", r.status, r.body)
	}

	// Choices: a person with edit rights and cost access; category must match.
	if r := e.do(td, http.MethodPost, "/api/proposals/"+id+"/vendor-choices", map[string]any{"category": "audio", "vendor_id": far}); r.status != http.StatusForbidden {
		t.Errorf("td chooses: %d %s", r.status, r.body)
	}
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/vendor-choices", map[string]any{"category": "lighting", "vendor_id": far}), http.StatusBadRequest)
	r = e.do(producer, http.MethodPost, "/api/proposals/"+id+"/vendor-choices", map[string]any{"category": "audio", "vendor_id": far})
	if r.status != 200 {
		t.Fatalf("choose: %d %s", r.status, r.body)
	}
	choiceID, _ := r.json(t)["id"].(string)
	// A technical director cannot see the vendor behind a choice, so the
	// choice is not found for them; either way nothing is removed.
	if r := e.do(td, http.MethodDelete, "/api/vendor-choices/"+choiceID, nil); r.status != http.StatusNotFound && r.status != http.StatusForbidden {
		t.Errorf("td removes a choice: %d %s", r.status, r.body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM vendor_choices WHERE id = $1`, choiceID); n != 1 {
		t.Errorf("the choice is gone after a refused removal (%d rows)", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM learned_weights WHERE organization_id = $1 AND ranker = 'vendor_ranker'`, acme.org.ID); n != 4 {
		t.Errorf("the manual choice taught %d features, want 4", n)
	}
	if r := e.do(vm, http.MethodPost, "/api/proposals/"+id+"/crew-assignments", map[string]any{"crew_member_id": sam,
		"dates": map[string]any{"from": "2027-03-14", "to": "2027-03-16"}, "request": match}); r.status != http.StatusCreated {
		t.Fatalf("venue manager assigns on their venue: %d %s", r.status, r.body)
	}
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/crew-assignments", map[string]any{"crew_member_id": sam,
		"dates": map[string]any{"from": "2027-03-14", "to": "2027-03-16"}}), http.StatusConflict)

	// Bad input names the rule; nothing written.
	before := e.scalar(`SELECT count(*)::int FROM crew_assignments`)
	if d, _ := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/crew-assignments", map[string]any{"crew_member_id": sam,
		"dates": map[string]any{"from": "2027-03-16", "to": "2027-03-14"}}), http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "dates.to") {
		t.Errorf("reversed dates: %q", d)
	}
	if d, _ := problem(t, e.do(producer, http.MethodPost, "/api/vendors", map[string]any{"name": "X", "category": "audio", "price_band": 9, "lead_time_days": 1}),
		http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "price_band") {
		t.Errorf("price band: %q", d)
	}
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/vendors/rank", map[string]any{"category": "spaceships"}), http.StatusBadRequest)
	if n := e.scalar(`SELECT count(*)::int FROM crew_assignments`); n != before {
		t.Errorf("%d assignments after refused input, want %d", n, before)
	}

	// Another organization: 404 for every id, nothing changed.
	choices := e.scalar(`SELECT count(*)::int FROM vendor_choices`)
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/vendors/" + near, nil},
		{http.MethodPatch, "/api/vendors/" + near, map[string]any{"name": "Mine"}},
		{http.MethodDelete, "/api/vendors/" + near, nil},
		{http.MethodGet, "/api/crew/" + sam, nil},
		{http.MethodDelete, "/api/crew/" + sam, nil},
		{http.MethodPost, "/api/proposals/" + id + "/vendors/rank", map[string]any{"category": "audio"}},
		{http.MethodPost, "/api/proposals/" + id + "/crew/match", match},
		{http.MethodPost, "/api/proposals/" + id + "/vendor-choices", map[string]any{"category": "audio", "vendor_id": near}},
		{http.MethodGet, "/api/proposals/" + id + "/crew-assignments", nil},
		{http.MethodDelete, "/api/vendor-choices/" + choiceID, nil},
	} {
		problem(t, e.do(gadmin, rq.method, rq.path, rq.body), http.StatusNotFound)
	}
	if n := e.scalar(`SELECT count(*)::int FROM vendor_choices`); n != choices {
		t.Errorf("vendor choices changed under another organization: %d, want %d", n, choices)
	}
	if n := e.scalar(`SELECT count(*)::int FROM vendors WHERE name = 'Mine'`); n != 0 {
		t.Error("another organization renamed a vendor")
	}
}

// TestLearnedPatternsReset: the reset is admin only, clears the calling
// organization's learned state with one audit event per table, and leaves
// the other organization's untouched.
func TestLearnedPatternsReset(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	for _, o := range []orgFixture{acme, globex} {
		e.exec(`INSERT INTO learned_weights (organization_id, ranker, feature, adjustment, observations) VALUES
($1, 'vendor_ranker', 'price_band', 0.1, 2), ($1, 'crew_matcher', 'skills', -0.05, 1)`, o.org.ID)
		e.exec(`INSERT INTO learning_feedback (organization_id, ranker, approved, signals, actor_id) VALUES ($1, 'vendor_ranker', true, '{"price_band": 1}', $2)`,
			o.org.ID, o.users[rampart.RoleAdmin].ID)
	}
	for _, role := range []rampart.Role{rampart.RoleExecutiveProducer, rampart.RoleProducer, rampart.RoleViewer} {
		problem(t, e.do(e.signIn(acme.email(role)), http.MethodDelete, "/api/admin/learned-patterns", nil), http.StatusForbidden)
	}
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	got := e.do(admin, http.MethodGet, "/api/admin/learned-patterns", nil)
	if got.status != 200 || !strings.Contains(string(got.body), `"adjustment":0.1`) {
		t.Fatalf("read: %d %s", got.status, got.body)
	}
	before := e.events("learning.reset")
	r := e.do(admin, http.MethodDelete, "/api/admin/learned-patterns", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"learned_weights":2`) || !strings.Contains(string(r.body), `"learning_feedback":1`) {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if n := e.events("learning.reset") - before; n != 2 {
		t.Errorf("%d reset events, want one per table (2)", n)
	}
	for _, tbl := range []string{"learned_weights", "learning_feedback"} {
		if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'learning.reset' AND target_id = $1 AND organization_id = $2`, tbl, acme.org.ID); n != 1 {
			t.Errorf("%s: %d reset events", tbl, n)
		}
		if n := e.scalar(`SELECT count(*)::int FROM `+tbl+` WHERE organization_id = $1`, acme.org.ID); n != 0 {
			t.Errorf("%s: %d acme rows left", tbl, n)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM learned_weights WHERE organization_id = $1 AND adjustment IN (0.1, -0.05)`, globex.org.ID); n != 2 {
		t.Errorf("globex's learned weights changed: %d of 2 left", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM learning_feedback WHERE organization_id = $1`, globex.org.ID); n != 1 {
		t.Errorf("globex's feedback changed: %d of 1 left", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'learning.reset' AND organization_id = $1`, globex.org.ID); n != 0 {
		t.Errorf("%d reset events in globex", n)
	}
}
