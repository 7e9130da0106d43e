package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleChatStreamForm: the chat form names the API's chat route for
// the console's script (data-stream) and keeps its own action for
// browsers without it; the role that may not ask has neither. The route
// the script posts to is the API's, with its checks: the same request
// sent cross-site (another site's script, the session cookie attached)
// is refused and nothing is stored.
func TestConsoleChatStreamForm(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	viewer := e.signIn(acme.email(rampart.RoleViewer))
	id := e.newProposal(producer, map[string]any{"title": "Stream gala", "client_name": "Initech", "venue_code": "HALL-A",
		"brief": "An awards gala for 400 guests at the Grand Hall in Oslo on 12 May 2026."})

	p := e.page(producer, "/proposals/"+id+"/chat")
	assertSafePage(t, "chat", p)
	if b := string(p.body); p.status != 200 || !strings.Contains(b, `action="/proposals/`+id+`/chat"`) ||
		!strings.Contains(b, `data-stream="/api/proposals/`+id+`/chat"`) || !strings.Contains(b, `id="chat-status"`) {
		t.Fatalf("producer's chat page: %d\n%s", p.status, b)
	}
	if v := e.page(viewer, "/proposals/"+id+"/chat"); v.status != 200 || strings.Contains(string(v.body), "data-stream") {
		t.Errorf("viewer's chat page: %d", v.status)
	}
	// What the script sends, from another site: refused before the chat.
	r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/chat", map[string]any{"question": "How many guests?"},
		"Accept", "text/event-stream", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden || strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("cross-site stream: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if n := e.scalar(`SELECT count(*)::int FROM proposal_chat_messages WHERE proposal_id = $1`, id); n != 0 {
		t.Errorf("a cross-site question was stored (%d turns)", n)
	}
	// The same request from the console's origin streams.
	_, events := e.askStream(producer, id, "How many guests are expected?")
	if len(events) < 3 || events[0].name != "turn" || events[1].name != "block" || events[len(events)-1].name != "done" {
		t.Errorf("same-origin stream: %+v", events)
	}
}
