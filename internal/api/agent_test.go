package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// bomShaped is a bill of materials as the BOM endpoints will return it.
func bomShaped() map[string]any {
	return map[string]any{
		"id": "bom-1", "title": "Main stage", "venue_code": "HALL-A",
		"lines": []any{
			map[string]any{"item": "LED wall", "qty": 12, "unit_cost": 1800.5, "total_cost": 21606,
				"supplier": map[string]any{"name": "Acme AV", "quote_ref": "Q-77"}, "sourcing": map[string]any{"region": "EU"}, "lead_time_days": 21},
			map[string]any{"item": "Truss", "qty": 40, "unitCost": 75, "Lead-Time": "2w", "notes": "black"},
		},
		"totals": map[string]any{"cost": 25000, "currency": "EUR", "margin": 0.2},
	}
}

// sensitiveLeft walks a decoded JSON value and lists sensitive keys.
func sensitiveLeft(v any, path string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if access.IsSensitiveKey(k) {
				*out = append(*out, path+"."+k)
			}
			sensitiveLeft(val, path+"."+k, out)
		}
	case []any:
		for _, val := range x {
			sensitiveLeft(val, path+"[]", out)
		}
	}
}

// TestAgentRoutesAreGuardedAndFiltered mounts an agent route the only way
// there is and checks the three layers over real HTTPS: role tier, venue
// scope, and the output filter on a BOM-shaped answer.
func TestAgentRoutesAreGuardedAndFiltered(t *testing.T) {
	e := setup(t)
	calls := 0
	e.api.agentRoute("POST /api/test/bom-drafter", access.AgentBOMDrafter,
		func(r *http.Request) (string, error) { return r.URL.Query().Get("venue"), nil },
		func(w http.ResponseWriter, r *http.Request, call AgentCall) error {
			if !call.checked {
				t.Error("handler got an unchecked AgentCall")
			}
			calls++
			return respond(w, call.Claims, http.StatusOK, bomShaped())
		})
	acme := e.orgs["acme"]
	cases := []struct {
		role   rampart.Role
		venue  string
		status int
		full   bool
	}{
		{rampart.RoleAdmin, "HALL-B", 200, true},
		{rampart.RoleProducer, "", 200, true},
		{rampart.RoleTechnicalDirector, "HALL-A", 200, false},
		{rampart.RoleVenueManager, "HALL-A", 200, false},
		{rampart.RoleVenueManager, "HALL-B", 403, false},
		{rampart.RoleVenueManager, "", 403, false},
		{rampart.RoleStakeholder, "HALL-A", 403, false},
		{rampart.RoleViewer, "HALL-A", 403, false},
	}
	want := 0
	for _, tc := range cases {
		c := e.signIn(acme.email(tc.role))
		r := e.do(c, http.MethodPost, "/api/test/bom-drafter?venue="+tc.venue, nil)
		if r.status != tc.status {
			t.Errorf("%s at %q: status %d, want %d (%s)", tc.role, tc.venue, r.status, tc.status, r.body)
			continue
		}
		if tc.status != 200 {
			continue
		}
		want++
		var left []string
		sensitiveLeft(r.json(t), "", &left)
		if tc.full && len(left) == 0 {
			t.Errorf("%s: cost fields missing for a role with full cost access", tc.role)
		}
		if !tc.full && len(left) > 0 {
			t.Errorf("%s: sensitive keys leaked: %s", tc.role, strings.Join(left, ", "))
		}
	}
	if calls != want {
		t.Fatalf("handler ran %d times, want %d (refused calls must not reach it)", calls, want)
	}
}

// TestOutputFilterOnBOMForViewer is the done-when check: the filter every
// authenticated JSON response uses leaves no cost, sourcing or lead-time
// key in a BOM-shaped value for a viewer.
func TestOutputFilterOnBOMForViewer(t *testing.T) {
	t.Parallel()
	out, err := access.FilterForRole(rampart.RoleViewer, bomShaped())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	sensitiveLeft(out, "", &left)
	if len(left) > 0 {
		t.Fatalf("sensitive keys left for a viewer: %v", left)
	}
	m := out.(map[string]any)
	lines := m["lines"].([]any)
	if m["title"] != "Main stage" || len(lines) != 2 || lines[1].(map[string]any)["notes"] != "black" || m["totals"].(map[string]any)["currency"] != "EUR" {
		t.Fatalf("non-sensitive fields damaged: %v", m)
	}
}
