package agentproposal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/agent"
	"github.com/rampart-dev/rampart/internal/agentproposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// TestVendorChoiceIsProposedThenDecided: the vendor ranker's top candidate
// becomes a pending proposal, not a choice; a rejection teaches the
// organization's weights against its signals, an approval applies the
// choice as the approver (and teaches for it); a technical director may
// not decide it, and a viewer's reading carries no signal.
func TestVendorChoiceIsProposedThenDecided(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	for _, v := range []rampart.Vendor{{Name: "Cheap Sound", Category: "audio", PriceBand: 1, LeadTimeDays: 3},
		{Name: "Premium Sound", Category: "audio", PriceBand: 4, LeadTimeDays: 30}} {
		if _, err := vendors.Create(ctx, f.Store, producer, v); err != nil {
			t.Fatal(err)
		}
	}
	rank := func() *rampart.PricedAgentProposal {
		t.Helper()
		r, err := vendors.Rank(ctx, f.Store, producer, f.p.ID, "audio")
		if err != nil {
			t.Fatal(err)
		}
		ap, err := agent.ProposeVendorChoice(ctx, f.Store, producer, r, time.Now())
		if err != nil || ap == nil {
			t.Fatalf("propose: %v, %v", ap, err)
		}
		if ap.Kind != rampart.ProposeVendorChoice || ap.Change.VendorChoice == nil || ap.Change.VendorChoice.VendorID != r.Candidates[0].Vendor.ID ||
			len(ap.Cost.Signals) == 0 || len(ap.Change.Signals) != 0 || !strings.Contains(ap.Rationale, "ranks first of 2") {
			t.Fatalf("proposal %+v", ap)
		}
		return ap
	}
	first := rank()
	if n := f.Count(t, `SELECT count(*) FROM vendor_choices`); n != 0 {
		t.Fatalf("the ranker chose %d vendors itself", n)
	}
	// A viewer reads it without the signals (vendor data is cost data).
	v, err := agentproposal.Get(ctx, f.Store, f.Acme.As(rampart.RoleViewer), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v.Value())
	if strings.Contains(string(b), `"signals":`) || strings.Contains(string(b), "price") || strings.Contains(string(b), "Sound") {
		t.Errorf("a viewer's reading carries signals: %s", b)
	}
	_, err = agentproposal.Approve(ctx, f.Store, f.Acme.As(rampart.RoleTechnicalDirector), first.ID, "", time.Now())
	storetest.Kind(t, "technical director deciding a vendor choice", err, rampart.KindForbidden)

	if _, err := agentproposal.Reject(ctx, f.Store, producer, first.ID, "We always use the house PA", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(t, `SELECT count(*) FROM learning_feedback WHERE organization_id = $1 AND NOT approved`, f.Acme.Organization.ID); n != 1 {
		t.Errorf("%d rejections learned, want 1", n)
	}
	second := rank()
	if _, err := agentproposal.Approve(ctx, f.Store, producer, second.ID, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(t, `SELECT count(*) FROM vendor_choices WHERE organization_id = $1 AND chosen_by = $2`, f.Acme.Organization.ID, producer.UserID); n != 1 {
		t.Errorf("%d vendor choices by the approver, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM learning_feedback WHERE organization_id = $1 AND approved`, f.Acme.Organization.ID); n != 1 {
		t.Errorf("%d approvals learned, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM learning_feedback WHERE organization_id = $1`, f.Globex.Organization.ID); n != 0 {
		t.Errorf("another organization learned from these decisions")
	}
}
