package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestProposalListPages: ?limit is honoured (default 50, at most 200), a
// page carries no brief or body (the detail route has them), next_cursor
// walks every proposal exactly once newest first, and a bad limit or
// cursor is a precise 400. Another organization's proposals never appear,
// whatever the cursor.
func TestProposalListPages(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	var ids []string
	for _, title := range []string{"One", "Two", "Three", "Four", "Five"} {
		ids = append(ids, e.newProposal(producer, map[string]any{"title": title, "brief": "A <b>brief</b> " + title}))
	}
	other := e.signIn(e.orgs["globex"].email(rampart.RoleProducer))
	theirs := e.newProposal(other, map[string]any{"title": "Theirs"})

	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/api/proposals?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.do(producer, http.MethodGet, path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if strings.Contains(string(r.body), `"brief"`) || strings.Contains(string(r.body), `"body_html"`) {
			t.Fatalf("a list page carries brief or body: %s", r.body)
		}
		m := r.json(t)
		items := m["proposals"].([]any)
		if len(items) > 2 {
			t.Fatalf("page of %d with limit=2", len(items))
		}
		for _, it := range items {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the cursor does not end")
		}
		cursor = next
	}
	if len(seen) != len(ids) {
		t.Fatalf("walked %d proposals, want %d: %v", len(seen), len(ids), seen)
	}
	for i, id := range seen {
		if id != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first %v", seen, ids)
		}
		if id == theirs {
			t.Fatal("another organization's proposal in the list")
		}
	}
	// The detail route keeps brief and body.
	if d := e.do(producer, http.MethodGet, "/api/proposals/"+ids[0], nil).json(t); d["brief"] != "A <b>brief</b> One" {
		t.Fatalf("detail brief %v (written without HTML escaping: <b> stays <b>)", d["brief"])
	}
	if r := e.do(producer, http.MethodGet, "/api/proposals/"+ids[0], nil); !strings.Contains(string(r.body), "<b>brief</b>") {
		t.Fatalf("the JSON escapes HTML: %s", r.body)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "limit=-1", "cursor=abc", "cursor=1_notauuid",
		"cursor=-5_" + ids[0], "cursor=" + strings.Repeat("9", 30) + "_" + ids[0]} {
		r := e.do(producer, http.MethodGet, "/api/proposals?"+q, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "problem") && !strings.Contains(string(r.body), "detail") {
			t.Errorf("?%s: %d %s, want a 400 problem", q, r.status, r.body)
		}
	}
	// Globex's producer, walking with acme's cursor, sees only globex.
	r := e.do(other, http.MethodGet, "/api/proposals?limit=200&cursor=9999999999999999_"+ids[0], nil)
	for _, it := range r.json(t)["proposals"].([]any) {
		if id := it.(map[string]any)["id"].(string); id != theirs {
			t.Fatalf("another organization's proposal %s through a cursor", id)
		}
	}
}
