package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/agentproposal"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// agentProposalAPI is the approvals queue: what agents proposed, and a
// person's approval or rejection. The agents that propose are started by
// their agent routes (POST /api/proposals/{id}/bom/draft and
// /budget/analyze, in ai.go).
type agentProposalAPI struct{ *Server }

type decisionRequest struct {
	Reason string `json:"reason,omitempty" required:"false" maxLength:"500" doc:"why; recorded in the audit event (required to reject)" example:"Matches the rider; quantities checked"`
}

type rejectRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"500" doc:"why; recorded in the audit event" example:"The venue supplies its own PA"`
}

func (s agentProposalAPI) register(r *edge.Router) {
	r.Authed("GET /api/agent-proposals", s.list)
	r.Authed("GET /api/agent-proposals/{id}", s.get)
	edge.AuthedJSON(r, "POST /api/agent-proposals/{id}/approve", s.approve)
	edge.AuthedJSON(r, "POST /api/agent-proposals/{id}/reject", s.reject)

	bomEx, budgetEx := agentProposalExamples()
	approved := bomEx
	at := bomEx.CreatedAt.Add(2 * time.Hour)
	approved.Status, approved.DecidedBy, approved.DecidedAt = rampart.AgentProposalApproved, &bomEx.RequestedBy, &at
	approved.Applied = &rampart.AgentApplied{BOMLines: []uuid.UUID{uuid.MustParse("0c1d2e3f-7777-4a8b-9c0d-1e2f3a4b5c6d")}}
	approved.Labels()
	job := rampart.AIJob{OrganizationID: bomEx.OrganizationID, ID: *bomEx.JobID, Kind: rampart.JobKindBOMDraft, ProposalID: bomEx.ProposalID,
		AgentType: "bom_drafter", RequestedBy: bomEx.RequestedBy, Status: rampart.JobQueued, GuardRules: []string{},
		CreatedAt: bomEx.CreatedAt, UpdatedAt: bomEx.CreatedAt}
	budgetJob := job
	budgetJob.Kind, budgetJob.AgentType = rampart.JobKindBudgetAnalysis, "budget_analyst"
	lifecycle := " Pending proposals expire 7 days after they were made; an expired or decided proposal is 409 (rule expired / already_decided)."
	for _, d := range []struct {
		pattern, summary, desc string
		status                 int
		ex                     any
	}{
		{"POST /api/proposals/{id}/bom/draft", "Ask bom_drafter to draft the bill of materials",
			"An agent route (role tier, venue scope, output filter). Queues an AI job; its answer becomes a pending agent proposal of bill-of-materials lines (no prices), never lines in the bill itself. Progress on /api/jobs/{id} and the job stream.", http.StatusAccepted, job},
		{"POST /api/proposals/{id}/budget/analyze", "Ask budget_analyst to propose budget lines",
			"An agent route for roles with full cost access. Queues an AI job; its answer becomes a pending agent proposal of planned budget lines. Agents never write a budget: a person approves.", http.StatusAccepted, budgetJob},
		{"GET /api/agent-proposals", "List agent proposals",
			"Newest first; ?status=pending|approved|rejected|expired, ?proposal_id=, ?limit=1..200 (default 50), ?cursor=<next_cursor>. Items carry no amounts: GET /api/agent-proposals/{id} gives them to roles with full cost access. Every item is labelled ai_generated, with its review state.", 0,
			map[string]any{"agent_proposals": []rampart.AgentProposal{bomEx}, "next_cursor": nil}},
		{"GET /api/agent-proposals/{id}", "Read an agent proposal",
			"With the amounts of its change (cost) for roles with full cost access; without them for the others.", 0, budgetEx},
		{"POST /api/agent-proposals/{id}/approve", "Approve and apply",
			"Applies the change as you, in your transaction, with your permissions: the applied lines and the decision commit together, each audited. Technical directors approve bills of materials only; venue managers their venues'. 409 rule approver_cannot_make_change when you could not make the change by hand (audited as agent_proposal.denied)." + lifecycle, 0, approved},
		{"POST /api/agent-proposals/{id}/reject", "Reject, with a reason", "The reason is recorded in the audit event." + lifecycle, 0, bomEx},
	} {
		r.Document(d.pattern, edge.Doc{Summary: d.summary, Description: d.desc, Status: d.status, Example: d.ex})
	}
}

func agentProposalExamples() (rampart.AgentProposal, rampart.PricedAgentProposal) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	org, user := uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d")
	prop, job := uuid.MustParse("5a6b7c8d-2222-4e3f-9a0b-1c2d3e4f5a6b"), uuid.MustParse("8e9f0a1b-8888-4c2d-9e3f-4a5b6c7d8e9f")
	venue := "HALL-A"
	bomEx := rampart.AgentProposal{OrganizationID: org, ID: uuid.MustParse("6f7a8b9c-9999-4d0e-8f1a-2b3c4d5e6f7a"), ProposalID: prop,
		VenueCode: &venue, JobID: &job, AgentType: "bom_drafter", Kind: rampart.ProposeBOMLines,
		Change: rampart.AgentChange{BOMLines: []rampart.ProposedBOMLine{{Item: "Line array PA system", Category: "audio", Quantity: 1000, Unit: "sets"},
			{Item: "Wireless handheld microphones", Category: "audio", Quantity: 4000, Unit: "pcs"}}},
		Rationale: "Sized for 300 guests at Hall A. The venue's rigging limits must be confirmed on a site visit.",
		Status:    rampart.AgentProposalPending, RequestedBy: user, CreatedAt: at, ExpiresAt: at.Add(rampart.AgentProposalLifetime), UpdatedAt: at}
	bomEx.Labels()
	budget := bomEx
	budget.ID, budget.AgentType, budget.Kind = uuid.MustParse("4d5e6f7a-aaaa-4b8c-9d0e-1f2a3b4c5d6e"), "budget_analyst", rampart.ProposeBudgetLines
	budget.Change = rampart.AgentChange{BudgetLines: []rampart.ProposedBudgetLine{{Category: "audio", Description: "Audio system, consoles and microphones"}}}
	budget.Rationale = "Estimated for 300 guests from typical production costs, in EUR."
	return bomEx, rampart.PricedAgentProposal{AgentProposal: budget, Cost: rampart.AgentChangeCost{Planned: []rampart.Money{{Minor: 330000, Currency: "EUR"}}}}
}

func (s agentProposalAPI) list(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	q := r.URL.Query()
	f := store.AgentProposalFilter{Limit: 50}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListAgentProposals {
			return edge.FieldError("limit", "must be a whole number from 1 to %d", store.MaxListAgentProposals)
		}
		f.Limit = n
	}
	if v := q.Get("status"); v != "" {
		st := rampart.AgentProposalStatus(v)
		f.Status = &st
	}
	if v := q.Get("proposal_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil || len(v) != 36 {
			return edge.FieldError("proposal_id", "must be a proposal id")
		}
		f.ProposalID = &id
	}
	if v := q.Get("cursor"); v != "" {
		cur, err := parseProposalCursor(v)
		if err != nil {
			return err
		}
		f.Before = &store.AgentProposalCursor{CreatedAt: cur.UpdatedAt, ID: cur.ID}
	}
	items, err := agentproposal.List(r.Context(), s.store, c, f)
	if err != nil {
		return err
	}
	var next *string
	if len(items) == f.Limit {
		last := items[len(items)-1]
		v := formatProposalCursor(store.ProposalCursor{UpdatedAt: last.CreatedAt, ID: last.ID})
		next = &v
	}
	if items == nil {
		items = []rampart.AgentProposal{}
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"agent_proposals": items, "next_cursor": next})
}

func (s agentProposalAPI) get(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := agentproposal.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v.Value())
}

func (s agentProposalAPI) approve(w http.ResponseWriter, r *http.Request, c rampart.Claims, req decisionRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := agentproposal.Approve(r.Context(), s.store, c, id, req.Reason, s.now())
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v.Value())
}

func (s agentProposalAPI) reject(w http.ResponseWriter, r *http.Request, c rampart.Claims, req rejectRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := agentproposal.Reject(r.Context(), s.store, c, id, req.Reason, s.now())
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v.Value())
}
