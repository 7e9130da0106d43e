package agentproposal_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/agentproposal"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type fixture struct {
	*storetest.Fixture
	p rampart.Proposal
}

func setup(t *testing.T) fixture {
	t.Helper()
	f := fixture{Fixture: storetest.New(t)}
	var err error
	f.p, err = proposal.Create(context.Background(), f.Store, f.Acme.As(rampart.RoleProducer), proposal.Input{Title: "Gala", VenueCode: "HALL-A"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var t0 = time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)

// propose records what an agent acting for c proposes, at `at`.
func (f fixture) propose(t *testing.T, c rampart.Claims, agent string, kind rampart.AgentProposalKind, at time.Time) rampart.PricedAgentProposal {
	t.Helper()
	n := rampart.NewAgentProposal{ProposalID: f.p.ID, AgentType: agent, Kind: kind, Rationale: "Sized for 300 guests.", At: at}
	switch kind {
	case rampart.ProposeBOMLines:
		n.Change.BOMLines = []rampart.ProposedBOMLine{{Item: "Line array PA", Category: "audio", Quantity: 2500, Unit: "sets"},
			{Item: "Wireless microphones", Category: "audio", Quantity: 4000, Unit: "pcs"}}
	case rampart.ProposeBudgetLines:
		n.Change.BudgetLines = []rampart.ProposedBudgetLine{{Category: "audio", Description: "Audio system"}, {Category: "video", Description: "LED wall"}}
		n.Cost.Planned = []rampart.Money{{Minor: 1_234_567, Currency: "EUR"}, {Minor: 7_654_321, Currency: "EUR"}}
	}
	var out rampart.PricedAgentProposal
	err := f.Store.InAgent(context.Background(), c, agent, func(ctx context.Context, tx *store.AgentTx) error {
		var err error
		out, err = tx.Propose(ctx, n)
		return err
	})
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	return out
}

func (f fixture) status(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var s string
	n := f.Count(t, `SELECT count(*) FROM agent_proposals WHERE id = $1 AND status = 'pending'`, id)
	if n == 1 {
		s = "pending"
	}
	for _, st := range []string{"approved", "rejected", "expired"} {
		if f.Count(t, `SELECT count(*) FROM agent_proposals WHERE id = $1 AND status = $2`, id, st) == 1 {
			s = st
		}
	}
	return s
}

// TestApprovalAppliesAsTheApprover: a technical director approves a drafted
// bill of materials; the lines are written as theirs, marked AI-generated,
// in the transaction of the decision, and the events say who did what.
func TestApprovalAppliesAsTheApprover(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	td := f.Acme.As(rampart.RoleTechnicalDirector)
	ap := f.propose(t, f.Acme.As(rampart.RoleProducer), "bom_drafter", rampart.ProposeBOMLines, t0)
	if ap.Status != rampart.AgentProposalPending || !ap.AIGenerated || ap.Review != "pending review" || !ap.ExpiresAt.Equal(t0.Add(7*24*time.Hour)) {
		t.Fatalf("proposed: %+v", ap)
	}
	v, err := agentproposal.Approve(ctx, f.Store, td, ap.ID, "Matches the rider", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := v.Proposal()
	if got.Status != rampart.AgentProposalApproved || got.DecidedBy == nil || *got.DecidedBy != td.UserID || got.Applied == nil ||
		len(got.Applied.BOMLines) != 2 || got.Review != "approved by a person" {
		t.Fatalf("approved: %+v", got)
	}
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1 AND ai_generated AND created_by = $2`, f.p.ID, td.UserID); n != 2 {
		t.Errorf("%d AI-generated lines created by the approver, want 2", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1 AND quantity = 2.5`, f.p.ID); n != 1 {
		t.Errorf("the 2.5 quantity did not survive the proposal's JSON (%d lines)", n)
	}
	for action, want := range map[string]int{audit.ActionAgentProposalCreated: 1, audit.ActionBOMLineCreated: 2, audit.ActionAgentProposalApproved: 1} {
		if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = $2`, f.Acme.Organization.ID, action); n != want {
			t.Errorf("%d %s events, want %d", n, action, want)
		}
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND actor_type = 'agent' AND actor_id = $2`,
		audit.ActionAgentProposalCreated, "bom_drafter:"+f.Acme.As(rampart.RoleProducer).UserID.String()); n != 1 {
		t.Errorf("the proposal's event is not the agent's acting for the producer")
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND actor_id = $2 AND before IS NOT NULL AND after IS NOT NULL`,
		audit.ActionAgentProposalApproved, td.UserID.String()); n != 1 {
		t.Errorf("the approval's event lacks the approver or before/after")
	}
	// Decided is final.
	_, err = agentproposal.Approve(ctx, f.Store, td, ap.ID, "", time.Now())
	storetest.Kind(t, "approving twice", err, rampart.KindConflict)
	_, err = agentproposal.Reject(ctx, f.Store, td, ap.ID, "changed my mind", time.Now())
	storetest.Kind(t, "rejecting an approved proposal", err, rampart.KindConflict)
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1`, f.p.ID); n != 2 {
		t.Errorf("%d lines after the refused second approval, want 2", n)
	}
}

// TestExpiryOnAControllableClock: a proposal made at t0 can be approved
// until t0 + 7 days; at that instant it cannot (409, nothing written), the
// expiry task marks it expired with an event, and it stays refused.
func TestExpiryOnAControllableClock(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	old := f.propose(t, producer, "bom_drafter", rampart.ProposeBOMLines, t0)
	fresh := f.propose(t, producer, "bom_drafter", rampart.ProposeBOMLines, t0.Add(time.Minute))
	week := t0.Add(rampart.AgentProposalLifetime)

	_, err := agentproposal.Approve(ctx, f.Store, producer, old.ID, "", week)
	storetest.Kind(t, "approving at the expiry instant", err, rampart.KindConflict)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("the refusal does not name the rule: %v", err)
	}
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1`, f.p.ID); n != 0 {
		t.Errorf("%d lines written by a refused approval", n)
	}
	if s := f.status(t, old.ID); s != "pending" {
		t.Errorf("status after the refused approval = %s, want still pending until the task runs", s)
	}

	n, err := f.Store.Periodic().ExpireAgentProposals(ctx, week, 500)
	if err != nil || n != 1 {
		t.Fatalf("expire at t0+7d: %d, %v; want exactly the old one", n, err)
	}
	if s := f.status(t, old.ID); s != "expired" {
		t.Errorf("old proposal %s, want expired", s)
	}
	if s := f.status(t, fresh.ID); s != "pending" {
		t.Errorf("fresh proposal %s, want pending (its week is not over)", s)
	}
	if c := f.Count(t, `SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = $2 AND target_id = $3 AND actor_type = 'service'`,
		f.Acme.Organization.ID, audit.ActionAgentProposalExpired, old.ID.String()); c != 1 {
		t.Errorf("%d expiry events in the organization's log, want 1", c)
	}
	_, err = agentproposal.Approve(ctx, f.Store, producer, old.ID, "", t0)
	storetest.Kind(t, "approving an expired proposal, even with an earlier clock", err, rampart.KindConflict)
	// Running again changes nothing.
	if n, err := f.Store.Periodic().ExpireAgentProposals(ctx, week, 500); err != nil || n != 0 {
		t.Errorf("second run: %d, %v", n, err)
	}
	// The fresh one, a minute younger, is still approvable at t0+7d.
	if _, err := agentproposal.Approve(ctx, f.Store, producer, fresh.ID, "", week); err != nil {
		t.Errorf("approving the fresh proposal: %v", err)
	}
}

// TestApprovalNeedsTheUnderlyingPermission: approving applies the change
// as the approver, so an approver who could not make it by hand cannot
// approve it; the roles that may not decide get 403, another
// organization's id is 404, and amounts reach full-cost roles only.
func TestApprovalNeedsTheUnderlyingPermission(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	ap := f.propose(t, f.Acme.As(rampart.RoleProducer), "budget_analyst", rampart.ProposeBudgetLines, t0)
	now := time.Now()

	// A venue manager of HALL-A may decide proposals of their venue, but
	// has no cost access: they could not add these budget lines by hand.
	_, err := agentproposal.Approve(ctx, f.Store, f.Acme.As(rampart.RoleVenueManager), ap.ID, "", now)
	storetest.Kind(t, "venue manager approving budget lines", err, rampart.KindConflict)
	if err == nil || !strings.Contains(err.Error(), "approver_cannot_make_change") {
		t.Errorf("the refusal does not name the rule: %v", err)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND actor_id = $2`, audit.ActionAgentProposalDenied,
		f.Acme.As(rampart.RoleVenueManager).UserID.String()); n != 1 {
		t.Errorf("%d denial events for the venue manager, want 1", n)
	}
	// Technical directors decide bills of materials only; readers nothing.
	for _, r := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleStakeholder, rampart.RoleViewer} {
		_, err := agentproposal.Approve(ctx, f.Store, f.Acme.As(r), ap.ID, "", now)
		storetest.Kind(t, string(r)+" approving budget lines", err, rampart.KindForbidden)
	}
	// Another organization's admin does not see it at all.
	_, err = agentproposal.Approve(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), ap.ID, "", now)
	storetest.Kind(t, "another organization's admin", err, rampart.KindNotFound)
	_, err = agentproposal.Get(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), ap.ID)
	storetest.Kind(t, "another organization's read", err, rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = $2`, f.Globex.Organization.ID,
		audit.ActionAgentProposalDenied); n != 0 {
		t.Errorf("a denial event was written for an object the caller cannot see")
	}
	if n := f.Count(t, `SELECT count(*) FROM budget_lines WHERE proposal_id = $1`, f.p.ID); n != 0 || f.status(t, ap.ID) != "pending" {
		t.Fatalf("refused approvals wrote %d budget lines or changed the status", n)
	}

	// A technical director reads it without amounts, at any depth.
	v, err := agentproposal.Get(ctx, f.Store, f.Acme.As(rampart.RoleTechnicalDirector), ap.ID)
	if err != nil || v.Priced != nil {
		t.Fatalf("technical director's view: %+v, %v", v, err)
	}
	b, _ := json.Marshal(v.Value())
	for _, leak := range []string{"12345.67", "76543.21", "planned", "cost"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("the technical director's view carries %q: %s", leak, b)
		}
	}
	// An executive producer approves: the lines carry the proposed amounts.
	v, err = agentproposal.Approve(ctx, f.Store, f.Acme.As(rampart.RoleExecutiveProducer), ap.ID, "", now)
	if err != nil || v.Priced == nil || len(v.Priced.Applied.BudgetLines) != 2 {
		t.Fatalf("executive producer's approval: %+v, %v", v, err)
	}
	if n := f.Count(t, `SELECT count(*) FROM budget_lines WHERE proposal_id = $1 AND planned_minor IN (1234567, 7654321)`, f.p.ID); n != 2 {
		t.Errorf("%d budget lines with the proposed amounts, want 2", n)
	}
}

// TestRejectAndRace: rejecting needs a reason; of two approvals racing,
// exactly one applies.
func TestRejectAndRace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer, admin := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleAdmin)
	a := f.propose(t, producer, "bom_drafter", rampart.ProposeBOMLines, t0)
	_, err := agentproposal.Reject(ctx, f.Store, producer, a.ID, "  ", time.Now())
	storetest.Kind(t, "rejecting without a reason", err, rampart.KindInvalid)
	v, err := agentproposal.Reject(ctx, f.Store, producer, a.ID, "The venue supplies its own PA", time.Now())
	if err != nil || v.Proposal().Status != rampart.AgentProposalRejected || v.Proposal().DecisionReason == nil {
		t.Fatalf("reject: %+v, %v", v, err)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND reason = 'The venue supplies its own PA'`,
		audit.ActionAgentProposalRejected); n != 1 {
		t.Errorf("the rejection's reason is not in its event")
	}

	b := f.propose(t, producer, "bom_drafter", rampart.ProposeBOMLines, t0)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []rampart.Claims{producer, admin} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = agentproposal.Approve(ctx, f.Store, c, b.ID, "", time.Now())
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if rampart.ErrorKind(err) != rampart.KindConflict {
			t.Errorf("racing approval: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racing approvals succeeded, want exactly 1", ok)
	}
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1`, f.p.ID); n != 2 {
		t.Errorf("%d lines after racing approvals, want 2 (applied once)", n)
	}
}

// TestAgentsOnlyProposeAsThemselves: the agent transaction refuses a
// proposal in another agent's name, and one that breaks a domain rule.
func TestAgentsOnlyProposeAsThemselves(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	err := f.Store.InAgent(ctx, producer, "bom_drafter", func(ctx context.Context, tx *store.AgentTx) error {
		_, err := tx.Propose(ctx, rampart.NewAgentProposal{ProposalID: f.p.ID, AgentType: "budget_analyst", Kind: rampart.ProposeBudgetLines,
			Change: rampart.AgentChange{BudgetLines: []rampart.ProposedBudgetLine{{Category: "audio", Description: "x"}}},
			Cost:   rampart.AgentChangeCost{Planned: []rampart.Money{{Minor: 1, Currency: "EUR"}}}, Rationale: "r", At: t0})
		return err
	})
	storetest.Kind(t, "bom_drafter proposing as budget_analyst", err, rampart.KindInvalid)
	err = f.Store.InAgent(ctx, producer, "bom_drafter", func(ctx context.Context, tx *store.AgentTx) error {
		_, err := tx.Propose(ctx, rampart.NewAgentProposal{ProposalID: f.p.ID, AgentType: "bom_drafter", Kind: rampart.ProposeBOMLines,
			Change:    rampart.AgentChange{BOMLines: []rampart.ProposedBOMLine{{Item: "PA", Category: "sound", Quantity: 1000, Unit: "pcs"}}},
			Rationale: "r", At: t0})
		return err
	})
	storetest.Kind(t, "an unknown category", err, rampart.KindInvalid)
	// A stakeholder's agent cannot write at all (row-level security).
	err = f.Store.InAgent(ctx, f.Acme.As(rampart.RoleStakeholder), "bom_drafter", func(ctx context.Context, tx *store.AgentTx) error {
		_, err := tx.Propose(ctx, rampart.NewAgentProposal{ProposalID: f.p.ID, AgentType: "bom_drafter", Kind: rampart.ProposeBOMLines,
			Change:    rampart.AgentChange{BOMLines: []rampart.ProposedBOMLine{{Item: "PA", Category: "audio", Quantity: 1000, Unit: "pcs"}}},
			Rationale: "r", At: t0})
		return err
	})
	if err == nil {
		t.Error("a stakeholder's agent recorded a proposal")
	}
	if n := f.Count(t, `SELECT count(*) FROM agent_proposals`); n != 0 {
		t.Errorf("%d proposals written by refused agents", n)
	}
}
