package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleApprovalsQueue: the drafting agents' pending proposals in the
// console's queue and on the proposal page; the budget amounts only in the
// pages of roles with full cost access; the decide forms only for roles
// that may decide; a rejection without a reason is a 400 beside the field
// with nothing changed; another organization gets the 404 page for the
// page and the form; approval applies the lines.
func TestConsoleApprovalsQueue(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 2})
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	viewer := e.signIn(acme.email(rampart.RoleViewer))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))

	r := e.do(producer, "POST", "/api/proposals", map[string]any{"title": "Queue gala", "venue_code": "HALL-A",
		"brief": "A gala dinner for 400 guests in Lisbon with a live band and a livestream, budget in EUR."})
	if r.status != http.StatusCreated {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	pid := r.json(t)["id"].(string)
	draft := e.do(td, "POST", "/api/proposals/"+pid+"/bom/draft", nil)
	budget := e.do(producer, "POST", "/api/proposals/"+pid+"/budget/analyze", nil)
	if draft.status != http.StatusAccepted || budget.status != http.StatusAccepted {
		t.Fatalf("agents: %d %s / %d %s", draft.status, draft.body, budget.status, budget.body)
	}
	e.waitJob(td, draft.json(t)["id"].(string))
	e.waitJob(producer, budget.json(t)["id"].(string))
	bomID := e.idOf(`SELECT id::text FROM agent_proposals WHERE proposal_id = $1 AND kind = 'bom_lines'`, pid)
	budgetID := e.idOf(`SELECT id::text FROM agent_proposals WHERE proposal_id = $1 AND kind = 'budget_lines'`, pid)

	// The queue: both, badged, with time left; no amounts in a list.
	q := e.page(td, "/approvals")
	assertSafePage(t, "queue", q)
	if body := string(q.body); q.status != 200 || !strings.Contains(body, "/approvals/"+bomID) || !strings.Contains(body, "/approvals/"+budgetID) ||
		!strings.Contains(body, "AI-generated · pending review") || !strings.Contains(body, "6d 23h") || strings.Contains(body, "planned") {
		t.Errorf("technical director's queue: %d\n%s", q.status, body)
	}
	if r := e.page(outsider, "/approvals"); r.status != 200 || strings.Contains(string(r.body), bomID) {
		t.Errorf("another organization's queue lists acme's: %d", r.status)
	}
	if r := e.page(td, "/approvals?status=maybe"); r.status != http.StatusBadRequest {
		t.Errorf("unknown status filter: %d", r.status)
	}

	// The budget proposal: amounts for the producer, none for the
	// technical director, who may not decide it either.
	pp := e.page(producer, "/approvals/"+budgetID)
	assertSafePage(t, "producer's budget proposal", pp)
	if body := string(pp.body); pp.status != 200 || !strings.Contains(body, "· planned ") || !strings.Contains(body, `id="approve-agent"`) ||
		!strings.Contains(body, `data-expires="`) || !strings.Contains(body, `id="rationale"`) {
		t.Errorf("producer's budget proposal: %d\n%s", pp.status, body)
	}
	// The first amount the producer sees is absent from the technical
	// director's page (the rationale may name the currency).
	_, amount, _ := strings.Cut(string(pp.body), "· planned ")
	amount, _, _ = strings.Cut(amount, "<")
	tp := e.page(td, "/approvals/"+budgetID)
	if body := string(tp.body); tp.status != 200 || amount == "" || strings.Contains(body, "planned") || strings.Contains(body, amount) ||
		strings.Contains(body, `id="approve-agent"`) || !strings.Contains(body, "+ Budget: ") {
		t.Errorf("technical director's budget proposal: %d\n%s", tp.status, body)
	}
	if r := e.page(viewer, "/approvals/"+bomID); r.status != 200 || strings.Contains(string(r.body), `id="approve-agent"`) ||
		!strings.Contains(string(r.body), "+ BOM: ") {
		t.Errorf("viewer's BOM proposal: %d", r.status)
	}

	// The proposal page links the pending proposals and offers the
	// drafting agents the role may run.
	for _, tc := range []struct {
		who            string
		c              *http.Client
		draft, analyze bool
	}{{"producer", producer, true, true}, {"technical director", td, true, false}, {"viewer", viewer, false, false}} {
		r := e.page(tc.c, "/proposals/"+pid)
		body := string(r.body)
		if r.status != 200 || !strings.Contains(body, `href="/approvals/`+bomID+`"`) || strings.Contains(body, `id="draft-bom"`) != tc.draft ||
			strings.Contains(body, `id="analyze-budget"`) != tc.analyze {
			t.Errorf("%s's proposal page: %d draft=%v analyze=%v", tc.who, r.status, strings.Contains(body, `id="draft-bom"`), strings.Contains(body, `id="analyze-budget"`))
		}
	}

	// Refusals: another organization's id is the 404 page for the page
	// and the form; the technical director may not decide budget lines;
	// a rejection needs a reason. Nothing changes.
	if r := e.page(outsider, "/approvals/"+bomID); r.status != http.StatusNotFound || strings.Contains(string(r.body), "Queue gala") {
		t.Errorf("another organization's page: %d", r.status)
	}
	if r := e.form(outsider, "/approvals/"+bomID+"/approve", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("another organization approving: %d", r.status)
	}
	if r := e.form(td, "/approvals/"+budgetID+"/approve", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("technical director approving budget lines: %d", r.status)
	}
	r = e.form(producer, "/approvals/"+budgetID+"/reject", url.Values{"reason": {""}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `id="r-reason-err"`) {
		t.Errorf("rejecting without a reason: %d\n%s", r.status, r.body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM agent_proposals WHERE proposal_id = $1 AND status = 'pending'`, pid); n != 2 {
		t.Fatalf("%d pending after the refusals, want 2", n)
	}

	// Approval applies the drafted lines as the approver.
	r = e.form(td, "/approvals/"+bomID+"/approve", url.Values{"reason": {"Checked against the rider"}})
	if body := string(r.body); r.status != 200 || !strings.Contains(body, "approved by a person") || strings.Contains(body, `id="approve-agent"`) {
		t.Errorf("approve: %d\n%s", r.status, body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM bom_lines WHERE proposal_id = $1 AND ai_generated`, pid); n == 0 {
		t.Error("approval applied no line")
	}
	r = e.form(producer, "/approvals/"+budgetID+"/reject", url.Values{"reason": {"The venue supplies its own PA"}})
	if r.status != 200 || !strings.Contains(string(r.body), "rejected by a person") {
		t.Errorf("reject: %d", r.status)
	}
	if r := e.form(producer, "/approvals/"+budgetID+"/approve", url.Values{}); r.status != http.StatusConflict {
		t.Errorf("approving a rejected proposal: %d", r.status)
	}
}
