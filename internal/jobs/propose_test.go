package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestAgentsPropose: a bom_drafter job and a budget_analyst job end in a
// pending agent proposal — never in lines of the bill or the budget — with
// the job's completion in the same transaction, both labelled as the
// agent's; a draft job and a generation of the same proposal may run side
// by side (one unfinished job per proposal and kind).
func TestAgentsPropose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	p := e.proposal(t, a.producer, "Launch in Lisbon", benignBrief)
	q := e.startQueue(t, e.st, Options{Workers: 2})
	ctx := context.Background()

	draft, err := q.Request(ctx, a.producer, p.ID, "bom_drafter")
	if err != nil {
		t.Fatal(err)
	}
	budget, err := q.Request(ctx, a.producer, p.ID, "budget_analyst")
	if err != nil {
		t.Fatalf("a budget analysis beside a queued draft: %v", err)
	}
	if draft.Kind != rampart.JobKindBOMDraft || budget.Kind != rampart.JobKindBudgetAnalysis {
		t.Fatalf("kinds %s, %s", draft.Kind, budget.Kind)
	}
	// A second draft while the first is under way is a conflict; when the
	// first has already finished (a fast worker), it is a new job and a
	// third proposal.
	want := 2
	again, err := q.Request(ctx, a.producer, p.ID, "bom_drafter")
	switch {
	case err == nil:
		want++
		e.waitStatus(t, a.producer, again.ID, rampart.JobSucceeded)
	case rampart.ErrorKind(err) != rampart.KindConflict:
		t.Fatalf("a second draft while the first is under way: %v, want a conflict", err)
	}
	e.waitStatus(t, a.producer, draft.ID, rampart.JobSucceeded)
	e.waitStatus(t, a.producer, budget.ID, rampart.JobSucceeded)

	list, err := store.InTenantValue(ctx, e.st, a.producer, func(ctx context.Context, tx *store.TenantTx) ([]rampart.AgentProposal, error) {
		return tx.AgentProposals().List(ctx, store.AgentProposalFilter{ProposalID: &p.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != want {
		t.Fatalf("%d agent proposals, want %d", len(list), want)
	}
	for _, ap := range list {
		if ap.Status != rampart.AgentProposalPending || !ap.AIGenerated || ap.Review != "pending review" || ap.JobID == nil ||
			ap.ExpiresAt.Sub(ap.CreatedAt) != rampart.AgentProposalLifetime || strings.TrimSpace(ap.Rationale) == "" {
			t.Errorf("agent proposal %+v", ap)
		}
		switch ap.Kind {
		case rampart.ProposeBOMLines:
			if (*ap.JobID != draft.ID && *ap.JobID != again.ID) || len(ap.Change.BOMLines) < 3 || ap.AgentType != "bom_drafter" {
				t.Errorf("bom draft %+v", ap)
			}
		case rampart.ProposeBudgetLines:
			if *ap.JobID != budget.ID || len(ap.Change.BudgetLines) < 3 {
				t.Errorf("budget proposal %+v", ap)
			}
			priced, err := store.InTenantValue(ctx, e.st, a.producer, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedAgentProposal, error) {
				return tx.AgentProposals().GetPriced(ctx, ap.ID)
			})
			if err != nil || len(priced.Cost.Planned) != len(ap.Change.BudgetLines) || priced.Cost.Planned[0].Currency != "EUR" {
				t.Errorf("budget proposal's amounts: %+v, %v", priced.Cost, err)
			}
		default:
			t.Errorf("unexpected kind %s", ap.Kind)
		}
	}
	// Nothing was applied: the bill and the budget are empty.
	lines := e.count(t, `SELECT count(*) FROM bom_lines WHERE proposal_id = $1`, p.ID)
	budgetLines := e.count(t, `SELECT count(*) FROM budget_lines WHERE proposal_id = $1`, p.ID)
	if lines != 0 || budgetLines != 0 {
		t.Errorf("%d bill lines and %d budget lines written by agents, want none", lines, budgetLines)
	}
	// The proposal events are the agent's, acting for the producer.
	n := e.count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND actor_type = 'agent'
		AND actor_id IN ('bom_drafter:' || $2, 'budget_analyst:' || $2)`, audit.ActionAgentProposalCreated, a.producer.UserID.String())
	if n != want {
		t.Errorf("%d agent_proposal.created events by the agents, want %d", n, want)
	}
}

// count runs a count as the superuser (assertions only).
func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
