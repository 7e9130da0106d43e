package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestOpenAPIDocumentMatchesValidation: /openapi.json is an OpenAPI 3.1
// document listing every route, with the request schemas that the write
// paths validate against; a body that breaks a documented constraint is
// refused naming the field, and nothing is written.
func TestOpenAPIDocumentMatchesValidation(t *testing.T) {
	e := setup(t)
	r := e.do(e.client(), http.MethodGet, "/openapi.json", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/vnd.oai.openapi+json") {
		t.Fatalf("openapi: %d %v", r.status, r.header)
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
				Required   []string                  `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document: %v %q", err, doc.OpenAPI)
	}
	for _, rt := range e.api.edge.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		if path == "" {
			path = "/"
		}
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in /openapi.json", rt.Pattern)
		}
	}
	var token struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	for name, s := range doc.Components.Schemas {
		if strings.Contains(strings.ToLower(name), "token") {
			token = s
		}
	}
	if token.Properties["expires_in_days"]["maximum"] != float64(366) || token.Properties["role"]["enum"] == nil {
		t.Fatalf("token schema lacks its constraints: %+v", token)
	}
	// The AI pipeline's bodies document the constraints ai_test.go sees enforced.
	schemas := doc.Components.Schemas
	for _, tc := range []struct {
		schema, field, key string
		want               any
	}{
		{"ProposalRequest", "title", "maxLength", float64(rampart.MaxProposalTitle)},
		{"ProposalRequest", "title", "minLength", float64(1)},
		{"ProposalRequest", "venue_code", "pattern", "^[A-Z0-9][A-Z0-9_-]{0,31}$"},
		{"ProposalRequest", "brief", "maxLength", float64(rampart.MaxProposalBrief)},
		{"ProposalPatch", "title", "maxLength", float64(rampart.MaxProposalTitle)},
		{"BudgetRequest", "monthly_tokens", "minimum", float64(1)},
		{"KillSwitchRequest", "reason", "minLength", float64(1)},
		{"CancelRequest", "reason", "maxLength", float64(500)},
	} {
		if got := schemas[tc.schema].Properties[tc.field][tc.key]; got != tc.want {
			t.Errorf("%s.%s %s = %v, want %v", tc.schema, tc.field, tc.key, got, tc.want)
		}
	}
	if typ, _ := schemas["BudgetRequest"].Properties["monthly_tokens"]["type"].([]any); !slices.Contains(typ, any("null")) {
		t.Errorf("monthly_tokens is not documented as nullable (null removes the limit): %v", typ)
	}
	for schema, req := range map[string]string{"ProposalRequest": "title", "KillSwitchRequest": "reason", "BudgetRequest": "monthly_tokens"} {
		if !slices.Contains(schemas[schema].Required, req) {
			t.Errorf("%s does not require %s", schema, req)
		}
	}
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 400}, "expires_in_days"},
		{map[string]any{"name": "", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1}, "name"},
		{map[string]any{"name": "x", "role": "emperor", "venue_codes": []string{}, "expires_in_days": 1}, "role"},
		{map[string]any{"role": "viewer", "venue_codes": []string{}, "expires_in_days": 1}, "name"},
	} {
		p := problem(t, e.do(admin, http.MethodPost, "/api/tokens", tc.body), http.StatusBadRequest)
		if !strings.Contains(p["detail"].(string), tc.field) {
			t.Errorf("%v: detail %q does not name %s", tc.body, p["detail"], tc.field)
		}
	}
	if n := e.scalar("SELECT count(*)::int FROM api_tokens"); n != 0 {
		t.Fatalf("%d tokens written by invalid requests", n)
	}
}
