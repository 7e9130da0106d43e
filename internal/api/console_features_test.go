package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleFeatureFlags: with ai off, the proposal page has no generate
// or drafting button, the staffing page no rank or match form, and the
// chat page no question form — each says a platform operator turned the
// feature off, with the reason — and the forms' POSTs get the refusal
// page with nothing stored; with only chat off the generate button is
// back and the chat form is not; the other organization's pages keep
// every control.
func TestConsoleFeatureFlags(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	gproducer := e.signIn(globex.email(rampart.RoleProducer))
	id := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	gid := e.newProposal(gproducer, map[string]any{"title": "Globex gala", "venue_code": "HALL-A"})

	controls := map[string][]string{
		"/proposals/%s":          {`id="generate"`, `id="draft-bom"`, `id="analyze-budget"`},
		"/proposals/%s/staffing": {`id="rank-form"`, `id="match-form"`},
		"/proposals/%s/chat":     {`id="chat-form"`},
	}
	pageOf := func(c *http.Client, pattern, id string) string {
		t.Helper()
		r := e.page(c, strings.Replace(pattern, "%s", id, 1))
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", pattern, r.status, r.body)
		}
		assertSafePage(t, pattern, r)
		return string(r.body)
	}
	// Every control is there by default (so the checks below can fail).
	for pattern, ids := range controls {
		body := pageOf(producer, pattern, id)
		for _, c := range ids {
			if !strings.Contains(body, c) {
				t.Fatalf("%s lacks %s with every feature on", pattern, c)
			}
		}
	}

	e.setFeatures("acme", "ai=off", "contract <b>paused</b>")
	for pattern, ids := range controls {
		body := pageOf(producer, pattern, id)
		for _, c := range ids {
			if strings.Contains(body, c) {
				t.Errorf("%s still has %s with ai off", pattern, c)
			}
		}
		explained := `id="ai-off"`
		if strings.HasSuffix(pattern, "/chat") {
			explained = `id="chat-feature-off"`
		}
		if !strings.Contains(body, explained) || !strings.Contains(body, "platform operator") ||
			!strings.Contains(body, "contract &lt;b&gt;paused&lt;/b&gt;") {
			t.Errorf("%s does not explain (escaped reason) why the controls are gone", pattern)
		}
		// Globex keeps its controls.
		gbody := pageOf(gproducer, pattern, gid)
		for _, c := range ids {
			if !strings.Contains(gbody, c) {
				t.Errorf("globex's %s lost %s", pattern, c)
			}
		}
	}
	turns := e.scalar(`SELECT count(*)::int FROM proposal_chat_messages WHERE organization_id = $1`, acme.org.ID)
	aps := e.scalar(`SELECT count(*)::int FROM agent_proposals WHERE organization_id = $1`, acme.org.ID)
	for path, v := range map[string]url.Values{
		"/proposals/" + id + "/chat":         {"question": {"How many guests?"}},
		"/proposals/" + id + "/vendors/rank": {"category": {"audio"}},
		"/proposals/" + id + "/crew/match":   {"skills": {"rigging"}},
	} {
		r := e.form(producer, path, v)
		if r.status != http.StatusForbidden || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(r.body), "platform operator") {
			t.Errorf("POST %s with ai off: %d %s", path, r.status, r.body)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM proposal_chat_messages WHERE organization_id = $1`, acme.org.ID); n != turns {
		t.Errorf("chat turns %d → %d with ai off", turns, n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM agent_proposals WHERE organization_id = $1`, acme.org.ID); n != aps {
		t.Errorf("agent proposals %d → %d with ai off", aps, n)
	}

	// Only the chat off: generation is back, the chat form is not.
	e.setFeatures("acme", "ai=on,chat=off", "chat is not in the pilot")
	if body := pageOf(producer, "/proposals/%s", id); !strings.Contains(body, `id="generate"`) || strings.Contains(body, `id="ai-off"`) {
		t.Errorf("proposal page with only chat off:\n%s", body)
	}
	if body := pageOf(producer, "/proposals/%s/chat", id); strings.Contains(body, `id="chat-form"`) || !strings.Contains(body, "chat is not in the pilot") {
		t.Errorf("chat page with chat off:\n%s", body)
	}
}
