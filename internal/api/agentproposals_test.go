package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestAgentProposalsOverHTTP: the drafting agents answer with a job, never
// with lines; the job ends in a pending agent proposal; a technical
// director's responses (the agent route's and the proposal's) carry no
// cost, sourcing, lead-time or amount key at any depth; approval applies
// the lines; the roles outside an agent's tier get 403, another
// organization 404.
func TestAgentProposalsOverHTTP(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 2})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	viewer := e.signIn(acme.email(rampart.RoleViewer))
	outsider := e.signIn(globex.email(rampart.RoleAdmin))

	r := e.do(producer, "POST", "/api/proposals", map[string]any{"title": "Gala", "venue_code": "HALL-A",
		"brief": "A gala dinner for 400 guests in Lisbon with a live band and a livestream, budget in EUR."})
	if r.status != http.StatusCreated {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	pid := r.json(t)["id"].(string)

	// Role tiers: a viewer may run no agent; a technical director drafts
	// bills of materials but is outside budget_analyst's tier.
	if r := e.do(viewer, "POST", "/api/proposals/"+pid+"/bom/draft", nil); r.status != http.StatusForbidden {
		t.Errorf("viewer drafting: %d %s", r.status, r.body)
	}
	if r := e.do(td, "POST", "/api/proposals/"+pid+"/budget/analyze", nil); r.status != http.StatusForbidden {
		t.Errorf("technical director asking the budget analyst: %d %s", r.status, r.body)
	}
	if r := e.do(outsider, "POST", "/api/proposals/"+pid+"/bom/draft", nil); r.status != http.StatusNotFound {
		t.Errorf("another organization drafting: %d %s", r.status, r.body)
	}

	draft := e.do(td, "POST", "/api/proposals/"+pid+"/bom/draft", nil)
	if draft.status != http.StatusAccepted {
		t.Fatalf("technical director drafting: %d %s", draft.status, draft.body)
	}
	assertNoCostKeys(t, "the agent route's answer", draft.json(t))
	e.waitJob(td, draft.json(t)["id"].(string))
	// A venue manager drafts for their venue; the answer is as clean.
	vm := e.signIn(acme.email(rampart.RoleVenueManager))
	vmDraft := e.do(vm, "POST", "/api/proposals/"+pid+"/bom/draft", nil)
	if vmDraft.status != http.StatusAccepted {
		t.Fatalf("venue manager drafting for HALL-A: %d %s", vmDraft.status, vmDraft.body)
	}
	assertNoCostKeys(t, "the venue manager's agent route answer", vmDraft.json(t))
	e.waitJob(vm, vmDraft.json(t)["id"].(string))
	budget := e.do(producer, "POST", "/api/proposals/"+pid+"/budget/analyze", nil)
	if budget.status != http.StatusAccepted {
		t.Fatalf("producer asking the budget analyst: %d %s", budget.status, budget.body)
	}
	e.waitJob(producer, budget.json(t)["id"].(string))

	list := e.do(td, "GET", "/api/agent-proposals?status=pending&proposal_id="+pid, nil)
	if list.status != http.StatusOK {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	assertNoCostKeys(t, "the technical director's list", list.json(t))
	items := list.json(t)["agent_proposals"].([]any)
	if len(items) != 3 {
		t.Fatalf("%d pending agent proposals, want 3: %s", len(items), list.body)
	}
	ids := map[string]string{}
	for _, it := range items {
		m := it.(map[string]any)
		if m["ai_generated"] != true || m["review"] != "pending review" {
			t.Errorf("item not labelled as pending AI output: %v", m)
		}
		if _, seen := ids[m["kind"].(string)]; !seen {
			ids[m["kind"].(string)] = m["id"].(string)
		}
	}
	// Every reading of the budget proposal by the technical director is
	// without amounts; the producer's has them.
	tdView := e.do(td, "GET", "/api/agent-proposals/"+ids["budget_lines"], nil)
	assertNoCostKeys(t, "the technical director's budget proposal", tdView.json(t))
	if pv := e.do(producer, "GET", "/api/agent-proposals/"+ids["budget_lines"], nil); !strings.Contains(string(pv.body), `"planned"`) {
		t.Errorf("the producer's view lacks the amounts: %s", pv.body)
	}
	if r := e.do(outsider, "GET", "/api/agent-proposals/"+ids["bom_lines"], nil); r.status != http.StatusNotFound {
		t.Errorf("another organization reading: %d", r.status)
	}
	if r := e.do(outsider, "GET", "/api/agent-proposals", nil); !strings.Contains(string(r.body), `"agent_proposals":[]`) {
		t.Errorf("another organization's list: %s", r.body)
	}

	// The technical director may not decide the budget proposal (BOM only)…
	if r := e.do(td, "POST", "/api/agent-proposals/"+ids["budget_lines"]+"/approve", map[string]any{}); r.status != http.StatusForbidden {
		t.Errorf("technical director approving budget lines: %d %s", r.status, r.body)
	}
	// …but approves the drafted bill, which applies it.
	lines := e.scalar(`SELECT count(*)::int FROM bom_lines WHERE proposal_id = $1`, pid)
	ap := e.do(td, "POST", "/api/agent-proposals/"+ids["bom_lines"]+"/approve", map[string]any{"reason": "Checked against the rider"})
	if ap.status != http.StatusOK || ap.json(t)["status"] != "approved" {
		t.Fatalf("approve: %d %s", ap.status, ap.body)
	}
	assertNoCostKeys(t, "the approval's answer", ap.json(t))
	if n := e.scalar(`SELECT count(*)::int FROM bom_lines WHERE proposal_id = $1 AND ai_generated`, pid); lines != 0 || n < 3 {
		t.Errorf("%d lines before and %d AI-generated lines after approval", lines, n)
	}
	if r := e.do(td, "POST", "/api/agent-proposals/"+ids["bom_lines"]+"/approve", map[string]any{}); r.status != http.StatusConflict {
		t.Errorf("approving twice: %d %s", r.status, r.body)
	}
	if r := e.do(producer, "POST", "/api/agent-proposals/"+ids["budget_lines"]+"/reject", map[string]any{}); r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
		t.Errorf("rejecting without a reason: %d %s", r.status, r.body)
	}
	if r := e.do(producer, "GET", "/api/agent-proposals?status=maybe", nil); r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown status filter: %d %s", r.status, r.body)
	}
}

// assertNoCostKeys fails when v holds, at any depth, a key the output
// filter treats as cost, sourcing or lead time, or an amount.
func assertNoCostKeys(t *testing.T, what string, v any) {
	t.Helper()
	for _, p := range keyPaths(v) {
		last := p[strings.LastIndexAny(p, ".]")+1:]
		if access.IsSensitiveKey(last) || last == "planned" || last == "cost" || last == "amount" {
			t.Errorf("%s carries %s", what, p)
		}
	}
}
