package access

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// bomJSON is a bill of materials as an API would return it to a role with
// full cost access.
const bomJSON = `{
  "id": "bom-1",
  "title": "Main stage rig",
  "venue_code": "LON1",
  "serial": 12345678901234567890,
  "lines": [
    {
      "item": "Truss 3m", "qty": 12, "unit_cost": "149.50", "total_cost": 1794.0,
      "supplier": {"name": "Acme Rigging", "quote_ref": "Q-77"},
      "sourcing": {"region": "EU", "sourced_from": "Acme"},
      "lead_time_days": 14,
      "notes": [{"text": "check load", "Unit-Cost": 1, "LEAD TIME": "2w"}]
    },
    {
      "item": "Moving head", "qty": 24, "unit_cost": "310.00", "total_cost": 7440,
      "supplier": {"name": "Lights Ltd", "quote_ref": "Q-78"},
      "sourcing": {"region": "UK"},
      "lead_time_days": 21,
      "notes": []
    }
  ],
  "totals": {"cost": 9234.0, "currency": "GBP", "line_count": 2},
  "grid": [[{"label": "A1", "price": 1, "Rate": 2, "vendorQuote": "x"}], [], null, "price"],
  "empty": {}
}`

// bomFilteredJSON is bomJSON with every sensitive key removed and nothing
// else changed: the exact expectation for roles without full cost access.
const bomFilteredJSON = `{
  "id": "bom-1",
  "title": "Main stage rig",
  "venue_code": "LON1",
  "serial": 12345678901234567890,
  "lines": [
    {"item": "Truss 3m", "qty": 12, "notes": [{"text": "check load"}]},
    {"item": "Moving head", "qty": 24, "notes": []}
  ],
  "grid": [[{"label": "A1"}], [], null, "price"],
  "empty": {}
}`

// fixtureSensitiveKeys are the sensitive keys the fixtures use, listed
// independently of IsSensitiveKey.
var fixtureSensitiveKeys = []string{
	"unit_cost", "total_cost", "supplier", "sourcing", "sourced_from", "lead_time_days",
	"Unit-Cost", "LEAD TIME", "cost", "price", "Rate", "vendorQuote", "Markup", "LeadTime", "totals", "quote_ref",
}

type bomSupplier struct {
	Name     string `json:"name"`
	QuoteRef string `json:"quote_ref"`
}

type bomLine struct {
	Item         string            `json:"item"`
	Qty          int               `json:"qty"`
	UnitCost     float64           `json:"unit_cost"`
	TotalCost    float64           `json:"total_cost"`
	Supplier     bomSupplier       `json:"supplier"`
	Sourcing     map[string]string `json:"sourcing"`
	LeadTimeDays int               `json:"lead_time_days"`
	Markup       float64           // no tag: the key is "Markup"
	LeadTime     string            // no tag: the key is "LeadTime"
	Tags         []string          `json:"tags"`
}

type bomTotals struct {
	Cost     float64 `json:"cost"`
	Currency string  `json:"currency"`
}

type billOfMaterials struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	VenueCode string    `json:"venue_code"`
	Lines     []bomLine `json:"lines"`
	Totals    bomTotals `json:"totals"`
}

func bomStruct() billOfMaterials {
	return billOfMaterials{
		ID: "bom-2", Title: "Foyer screens", VenueCode: "MAN2",
		Lines: []bomLine{{
			Item: "LED wall", Qty: 2, UnitCost: 5000.25, TotalCost: 10000.5,
			Supplier:     bomSupplier{Name: "Pixel Co", QuoteRef: "Q-9"},
			Sourcing:     map[string]string{"region": "NL"},
			LeadTimeDays: 30, Markup: 0.2, LeadTime: "4w", Tags: []string{"video", "cost-centre-7"},
		}},
		Totals: bomTotals{Cost: 10000.5, Currency: "EUR"},
	}
}

const bomStructFilteredJSON = `{
  "id": "bom-2", "title": "Foyer screens", "venue_code": "MAN2",
  "lines": [{"item": "LED wall", "qty": 2, "tags": ["video", "cost-centre-7"]}]
}`

func decodeGeneric(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// sensitiveKeysIn walks a generic value and returns the path of every key
// that is sensitive by IsSensitiveKey or by the fixtures' own list.
func sensitiveKeysIn(v any, path string) []string {
	var found []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if IsSensitiveKey(k) || slices.Contains(fixtureSensitiveKeys, k) {
				found = append(found, path+"."+k)
			}
			found = append(found, sensitiveKeysIn(e, path+"."+k)...)
		}
	case []any:
		for i, e := range v {
			found = append(found, sensitiveKeysIn(e, path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return found
}

var (
	filteredRoles   = []rampart.Role{rampart.RoleViewer, rampart.RoleStakeholder, rampart.RoleTechnicalDirector, rampart.RoleVenueManager, "", "owner"}
	fullAccessRoles = []rampart.Role{rampart.RoleAdmin, rampart.RoleExecutiveProducer, rampart.RoleProducer}
)

func TestHasFullCostAccess(t *testing.T) {
	t.Parallel()
	for _, r := range fullAccessRoles {
		if !HasFullCostAccess(r) {
			t.Errorf("HasFullCostAccess(%q) = false", r)
		}
	}
	for _, r := range filteredRoles {
		if HasFullCostAccess(r) {
			t.Errorf("HasFullCostAccess(%q) = true", r)
		}
	}
}

func TestFilterForRole(t *testing.T) {
	t.Parallel()
	fixtures := []struct {
		name  string
		value func(t *testing.T) any
		want  string
	}{
		{"generic", func(t *testing.T) any { return decodeGeneric(t, bomJSON) }, bomFilteredJSON},
		{"struct", func(*testing.T) any { return bomStruct() }, bomStructFilteredJSON},
		{"pointer to struct", func(*testing.T) any { b := bomStruct(); return &b }, bomStructFilteredJSON},
		{"raw message", func(*testing.T) any { return json.RawMessage(bomJSON) }, bomFilteredJSON},
	}
	for _, f := range fixtures {
		// Before filtering, the fixture really does carry sensitive keys.
		if len(sensitiveKeysIn(decodeGeneric(t, mustMarshal(t, f.value(t))), "$")) == 0 {
			t.Fatalf("fixture %s has no sensitive keys", f.name)
		}
		for _, role := range filteredRoles {
			t.Run(f.name+"/"+string(role), func(t *testing.T) {
				t.Parallel()
				got, err := FilterForRole(role, f.value(t))
				if err != nil {
					t.Fatal(err)
				}
				if keys := sensitiveKeysIn(got, "$"); len(keys) > 0 {
					t.Fatalf("sensitive keys survived: %v", keys)
				}
				if want := decodeGeneric(t, f.want); !reflect.DeepEqual(got, want) {
					t.Fatalf("filtered value\n got %s\nwant %s", mustMarshal(t, got), mustMarshal(t, want))
				}
				var buf bytes.Buffer
				if err := EncodeJSON(&buf, role, f.value(t)); err != nil {
					t.Fatal(err)
				}
				if enc := decodeGeneric(t, buf.String()); !reflect.DeepEqual(enc, decodeGeneric(t, f.want)) {
					t.Fatalf("EncodeJSON wrote %s", buf.String())
				}
			})
		}
		for _, role := range fullAccessRoles {
			t.Run(f.name+"/"+string(role), func(t *testing.T) {
				t.Parallel()
				v := f.value(t)
				got, err := FilterForRole(role, v)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, v) {
					t.Fatalf("full access role got a changed value: %#v", got)
				}
				var buf bytes.Buffer
				if err := EncodeJSON(&buf, role, v); err != nil {
					t.Fatal(err)
				}
				if want := mustMarshal(t, v) + "\n"; buf.String() != want {
					t.Fatalf("EncodeJSON wrote\n%s\nwant\n%s", buf.String(), want)
				}
			})
		}
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFilterForRoleScalarsAndErrors(t *testing.T) {
	t.Parallel()
	for _, v := range []any{nil, "cost", 42, []string{"price"}} {
		got, err := FilterForRole(rampart.RoleViewer, v)
		if err != nil {
			t.Fatalf("FilterForRole(%#v) error %v", v, err)
		}
		if mustMarshal(t, got) != mustMarshal(t, v) {
			t.Errorf("FilterForRole(%#v) = %#v; values are not keys and must survive", v, got)
		}
	}
	if _, err := FilterForRole(rampart.RoleViewer, make(chan int)); rampart.ErrorKind(err) != rampart.KindInternal {
		t.Errorf("FilterForRole(chan) error = %v, want KindInternal", err)
	}
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, rampart.RoleViewer, make(chan int)); rampart.ErrorKind(err) != rampart.KindInternal || buf.Len() != 0 {
		t.Errorf("EncodeJSON(chan) = %v, wrote %q", err, buf.String())
	}
}

func TestIsSensitiveKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want bool
	}{
		{"Unit-Cost", true},
		{"LEAD TIME", true},
		{"lead-time", true},
		{"lead_time_days", true},
		{"leadTimeDays", true},
		{"LeadTime", true},
		{"unitCost", true},
		{"cost", true},
		{"COST_CENTRE", true},
		{"list_price", true},
		{"PRICE", true},
		{"Gross Margin", true},
		{"MarkUp", true},
		{"mark-up", true}, // separators are ignored: "mark_up" squashes to "markup"
		{"Sourcing", true},
		{"supplier_name", true},
		{"vendor_quote", true},
		{"Vendor-Quote", true},
		{"vendorQuote", true},
		{"rate", true},
		{"Rate", true},
		{"RATES", true},
		{"sourced_from", true},
		{"Sourced From", true},
		{"sourcedFrom", true},
		// vendor*, *quote*
		{"vendor", true},
		{"vendor_name", true},
		{"preferredVendorId", true},
		{"quote", true},
		{"quote_ref", true},
		{"QuotedPrice", true},
		// rate as a word, or a word ending in rate (over-filtering documented)
		{"unit_rate", true},
		{"day_rate", true},
		{"hourlyRate", true},
		{"HOURLY-RATE", true},
		{"dayrate", true},
		{"rate_card", true},
		{"rateCard", true},
		{"ratecard", true},
		{"exchange_rates", true},
		{"frame_rate", true},
		{"frameRate", true},
		// totals, amounts, fees
		{"subtotal", true},
		{"SubTotal", true},
		{"total", true},
		{"Total", true},
		{"grand_total", true},
		{"grandTotal", true},
		{"total_eur", true},
		{"totals", true},
		{"amount", true},
		{"amountDue", true},
		{"fee", true},
		{"fees", true},
		{"booking_fee", true},
		{"bookingFee", true},
		{"MSRP", true},
		{"msrp_eur", true},
		{"MSRPValue", true},
		// lead time and delivery
		{"lead", true},
		{"lead_days", true},
		{"leadDays", true},
		{"LEAD-WEEKS", true},
		{"leadweeks", true},
		{"delivery", true},
		{"delivery_weeks", true},
		{"deliveryDate", true},
		{"delivered_at", true},
		{"eta", true},
		{"ETA", true},
		{"eta_date", true},
		{"deliveryEta", true},
		// source and manufacturer
		{"source", true},
		{"sources", true},
		{"data_source", true},
		{"sourced", true},
		{"sourcedBy", true},
		{"manufacturer", true},
		{"manufacturer_part_no", true},
		// kept: no sensitive word
		{"title", false},
		{"item", false},
		{"qty", false},
		{"currency", false},
		{"venue_code", false},
		{"rated_power", false},
		{"ratio", false},
		{"resource", false},
		{"resource_type", false},
		{"beta", false},
		{"metadata", false},
		{"feedback", false},
		{"feed", false},
		{"team_lead", false},
		{"lead_engineer", false},
		{"line_count", false},
		{"created_at", false},
		{"expires_at", false},
		{"operator", false},
		{"organizations", false},
		{"session_expires_at", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsSensitiveKey(tt.key); got != tt.want {
			t.Errorf("IsSensitiveKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestFilterCatchesKeyVariants(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"Unit-Cost": 1, "LEAD TIME": "2w", "unitPrice": 3, "Sourced From": "x",
		"nested": []any{map[string]any{"Lead-Time": 1, "keep": true}},
		"keep":   "yes",
	}
	got, err := FilterForRole(rampart.RoleStakeholder, v)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"nested": []any{map[string]any{"keep": true}}, "keep": "yes"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if _, ok := v["Unit-Cost"]; !ok {
		t.Fatal("FilterForRole modified its input")
	}
}

func TestFilterTable(t *testing.T) {
	t.Parallel()
	header := []string{"item", "qty", "Unit Cost", "Supplier", "lead-time", "notes"}
	rows := [][]string{
		{"Truss", "12", "149.50", "Acme", "14", "check"},
		{"Cable", "3", "2.00"},                                   // short row
		{"Lamp", "1", "9", "Lights", "7", "ok", "extra", "9.99"}, // cells beyond the header
	}
	wantHeader := []string{"item", "qty", "notes"}
	wantRows := [][]string{{"Truss", "12", "check"}, {"Cable", "3"}, {"Lamp", "1", "ok"}}
	for _, role := range filteredRoles {
		h, r := FilterTable(role, header, rows)
		if !slices.Equal(h, wantHeader) || !reflect.DeepEqual(r, wantRows) {
			t.Errorf("FilterTable(%q) = %v %v, want %v %v", role, h, r, wantHeader, wantRows)
		}
	}
	if header[2] != "Unit Cost" || len(rows[0]) != 6 {
		t.Fatal("FilterTable modified its input")
	}
	for _, role := range fullAccessRoles {
		h, r := FilterTable(role, header, rows)
		if !slices.Equal(h, header) || !reflect.DeepEqual(r, rows) {
			t.Errorf("FilterTable(%q) changed the table", role)
		}
	}
}
