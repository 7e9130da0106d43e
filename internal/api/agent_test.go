package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// bomShaped is a bill of materials as the BOM endpoints will return it,
// with cost, sourcing and lead-time fields under many spellings.
func bomShaped() map[string]any {
	return map[string]any{
		"id": "bom-1", "title": "Main stage", "venue_code": "HALL-A", "currency": "EUR",
		"subtotal": 23000, "total": 25000, "grand_total": 27500, "fees": 500, "msrp": 30000,
		"lines": []any{
			map[string]any{"item": "LED wall", "qty": 12, "notes": "front of house",
				"unit_cost": 1800.5, "total_cost": 21606, "unit_rate": 150, "amount": 21606, "msrp": 2000,
				"supplier": map[string]any{"name": "Acme AV", "quote_ref": "Q-77"}, "sourcing": map[string]any{"region": "EU"},
				"vendor": "Acme AV", "vendor_quote": "Q-77", "quote": 1800, "manufacturer": "Pixelworks",
				"source": "EU stock", "sourced_from": "Berlin",
				"lead_time_days": 21, "lead_days": 21, "delivery_weeks": 3, "eta": "2026-05-01"},
			map[string]any{"item": "Truss", "qty": 40, "notes": "black",
				"unitCost": 75, "dayRate": 20, "hourly_rate": 5, "booking_fee": 30, "line_total": 3000,
				"Lead-Time": "2w", "deliveryDate": "2026-04-20", "sourcedBy": "Pat"},
			map[string]any{"item": "Crew", "qty": 6, "notes": "two shifts",
				"day_rate": 350, "fee": 100, "eta_date": "2026-04-30", "vendorName": "Crew Co"},
		},
		"totals": map[string]any{"cost": 25000, "currency": "EUR", "margin": 0.2},
	}
}

// bomAllKeys is every key path of bomShaped ("[]" for array elements):
// what a role with full cost access receives.
var bomAllKeys = []string{
	"currency", "fees", "grand_total", "id", "lines",
	"lines[].Lead-Time", "lines[].amount", "lines[].booking_fee", "lines[].dayRate", "lines[].day_rate",
	"lines[].deliveryDate", "lines[].delivery_weeks", "lines[].eta", "lines[].eta_date", "lines[].fee",
	"lines[].hourly_rate", "lines[].item", "lines[].lead_days", "lines[].lead_time_days", "lines[].line_total",
	"lines[].manufacturer", "lines[].msrp", "lines[].notes", "lines[].qty", "lines[].quote",
	"lines[].source", "lines[].sourcedBy", "lines[].sourced_from", "lines[].sourcing", "lines[].sourcing.region",
	"lines[].supplier", "lines[].supplier.name", "lines[].supplier.quote_ref", "lines[].total_cost",
	"lines[].unitCost", "lines[].unit_cost", "lines[].unit_rate", "lines[].vendor", "lines[].vendorName",
	"lines[].vendor_quote",
	"msrp", "subtotal", "title", "total", "totals", "totals.cost", "totals.currency", "totals.margin", "venue_code",
}

// bomViewerKeys is the exact key set a role without full cost access
// receives: no cost, sourcing or lead-time key at all. Written out by hand
// (not derived from access.IsSensitiveKey), so a rule that stops matching
// fails here.
var bomViewerKeys = []string{
	"currency", "id", "lines", "lines[].item", "lines[].notes", "lines[].qty", "title", "venue_code",
}

// keyPaths lists the key paths of a decoded JSON value, sorted, each once.
func keyPaths(v any) []string {
	seen := map[string]bool{}
	var walk func(v any, prefix string)
	walk = func(v any, prefix string) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				seen[p] = true
				walk(val, p)
			}
		case []any:
			for _, val := range x {
				walk(val, prefix+"[]")
			}
		}
	}
	walk(v, "")
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// diffKeys describes how got differs from want.
func diffKeys(got, want []string) string {
	var extra, missing []string
	for _, k := range got {
		if !slices.Contains(want, k) {
			extra = append(extra, k)
		}
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			missing = append(missing, k)
		}
	}
	return fmt.Sprintf("unexpected keys %v, missing keys %v", extra, missing)
}

// TestAgentRoutesAreGuardedAndFiltered mounts an agent route the only way
// there is and checks the three layers over real HTTPS: role tier, venue
// scope, and the output filter on a BOM-shaped answer.
func TestAgentRoutesAreGuardedAndFiltered(t *testing.T) {
	e := setup(t)
	calls := 0
	e.api.edge.Agent("POST /api/test/bom-drafter", access.AgentBOMDrafter,
		func(r *http.Request) (string, error) { return r.URL.Query().Get("venue"), nil },
		func(w http.ResponseWriter, r *http.Request, call edge.AgentCall) error {
			if !call.Checked() {
				t.Error("handler got an unchecked edge.AgentCall")
			}
			calls++
			return edge.Respond(w, call.Claims, http.StatusOK, bomShaped())
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
		wantKeys := bomViewerKeys
		if tc.full {
			wantKeys = bomAllKeys
		}
		if got := keyPaths(r.json(t)); !slices.Equal(got, wantKeys) {
			t.Errorf("%s: %s", tc.role, diffKeys(got, wantKeys))
		}
	}
	if calls != want {
		t.Fatalf("handler ran %d times, want %d (refused calls must not reach it)", calls, want)
	}
}

// TestOutputFilterOnBOMForViewer is the done-when check: the filter every
// authenticated JSON response uses leaves exactly the non-sensitive keys of
// a BOM-shaped value for a viewer — no cost, sourcing or lead-time key —
// and their values intact; for a role with full cost access it removes
// nothing.
func TestOutputFilterOnBOMForViewer(t *testing.T) {
	t.Parallel()
	if got := keyPaths(bomShaped()); !slices.Equal(got, bomAllKeys) {
		t.Fatalf("fixture and bomAllKeys disagree: %s", diffKeys(got, bomAllKeys))
	}
	out, err := access.FilterForRole(rampart.RoleViewer, bomShaped())
	if err != nil {
		t.Fatal(err)
	}
	if got := keyPaths(out); !slices.Equal(got, bomViewerKeys) {
		t.Fatalf("viewer: %s", diffKeys(got, bomViewerKeys))
	}
	m := out.(map[string]any)
	lines := m["lines"].([]any)
	if m["title"] != "Main stage" || m["currency"] != "EUR" || len(lines) != 3 ||
		lines[1].(map[string]any)["notes"] != "black" || lines[2].(map[string]any)["item"] != "Crew" {
		t.Fatalf("non-sensitive fields damaged: %v", m)
	}
	full, err := access.FilterForRole(rampart.RoleProducer, bomShaped())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(full)
	var back any
	_ = json.Unmarshal(js, &back)
	if got := keyPaths(back); !slices.Equal(got, bomAllKeys) {
		t.Fatalf("producer: %s", diffKeys(got, bomAllKeys))
	}
}
