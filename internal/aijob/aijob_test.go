package aijob_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/aijob"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// requester records what reached the queue.
type requester struct{ asked []uuid.UUID }

func (r *requester) Request(_ context.Context, _ rampart.Claims, id uuid.UUID, _ string) (rampart.AIJob, error) {
	r.asked = append(r.asked, id)
	return rampart.AIJob{ProposalID: id}, nil
}

// TestAIJobRules: a generation request needs the AI right for the
// proposal's venue and a running pipeline, and is refused before it
// reaches the queue otherwise; another organization's proposal has no
// jobs to list; only admins set the token budget.
func TestAIJobRules(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer, viewer := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleViewer)
	p, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Gala", VenueCode: "HALL-B"})
	if err != nil {
		t.Fatal(err)
	}
	q := &requester{}
	call := func(c rampart.Claims) aijob.Call {
		return aijob.Call{Claims: c, Agent: access.AgentProposalWriter, VenueCode: "HALL-B"}
	}
	storetest.Kind(t, "no pipeline", func() error { _, err := aijob.Request(ctx, nil, call(producer), p.ID); return err }(), rampart.KindUnavailable)
	storetest.Kind(t, "a viewer asks", func() error { _, err := aijob.Request(ctx, q, call(viewer), p.ID); return err }(), rampart.KindForbidden)
	storetest.Kind(t, "a venue manager asks outside their venue", func() error {
		_, err := aijob.Request(ctx, q, call(f.Acme.As(rampart.RoleVenueManager)), p.ID)
		return err
	}(), rampart.KindForbidden)
	if len(q.asked) != 0 {
		t.Fatalf("%d refused requests reached the queue", len(q.asked))
	}
	if _, err := aijob.Request(ctx, q, call(producer), p.ID); err != nil || len(q.asked) != 1 {
		t.Fatalf("producer's request: %v (%d queued)", err, len(q.asked))
	}
	storetest.Kind(t, "another organization lists the jobs", func() error {
		_, err := aijob.ForProposal(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), p.ID)
		return err
	}(), rampart.KindNotFound)
	limit := int64(1000)
	storetest.Kind(t, "a producer sets the budget", func() error { _, err := aijob.SetBudget(ctx, f.Store, producer, &limit); return err }(), rampart.KindForbidden)
	b, err := aijob.SetBudget(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), &limit)
	if err != nil || b.MonthlyTokens == nil || *b.MonthlyTokens != limit {
		t.Fatalf("admin sets the budget: %+v %v", b, err)
	}
	if other, err := aijob.Budget(ctx, f.Store, f.Globex.As(rampart.RoleAdmin)); err != nil || other.MonthlyTokens != nil {
		t.Fatalf("another organization's budget: %+v %v", other, err)
	}
}
