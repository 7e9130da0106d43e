package proposal_test

import (
	"context"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestProposalRules: venue scoping (a proposal outside the caller's venues
// is not found, as is another organization's), the venue code must name
// one of the organization's venues, moving needs edit rights at the
// destination, and only AI-generated drafts are approved, by a role that
// may approve agent work.
func TestProposalRules(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer, vm, viewer, admin := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleVenueManager),
		f.Acme.As(rampart.RoleViewer), f.Acme.As(rampart.RoleAdmin)

	hallB, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Gala", VenueCode: "HALL-B", Brief: "200 guests"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := proposal.Create(ctx, f.Store, f.Globex.As(rampart.RoleProducer), proposal.Input{Title: "Theirs"})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Kind(t, "another organization's proposal", func() error { _, err := proposal.Get(ctx, f.Store, admin, theirs.ID); return err }(), rampart.KindNotFound)
	storetest.Kind(t, "a venue manager reads outside their venue", func() error { _, err := proposal.Get(ctx, f.Store, vm, hallB.ID); return err }(), rampart.KindNotFound)
	if page, err := proposal.List(ctx, f.Store, vm, 0, nil); err != nil || len(page.Proposals) != 0 {
		t.Errorf("venue manager lists %d proposals (%v), want none", len(page.Proposals), err)
	}
	storetest.Kind(t, "an unknown venue code", func() error {
		_, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Nowhere", VenueCode: "HALL-Z"})
		return err
	}(), rampart.KindInvalid)
	storetest.Kind(t, "a viewer creates", func() error {
		_, err := proposal.Create(ctx, f.Store, viewer, proposal.Input{Title: "No"})
		return err
	}(), rampart.KindForbidden)
	title := "Changed by someone who may not"
	storetest.Kind(t, "another organization updates", func() error {
		_, err := proposal.Update(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), hallB.ID, proposal.Patch{Title: &title})
		return err
	}(), rampart.KindNotFound)
	mine, err := proposal.Create(ctx, f.Store, vm, proposal.Input{Title: "Hall A show", VenueCode: "HALL-A"})
	if err != nil {
		t.Fatal(err)
	}
	hallBCode := "HALL-B"
	storetest.Kind(t, "a venue manager moves a proposal out of their venue", func() error {
		_, err := proposal.Update(ctx, f.Store, vm, mine.ID, proposal.Patch{VenueCode: &hallBCode})
		return err
	}(), rampart.KindForbidden)
	if n := f.Count(t, `SELECT count(*)::int FROM proposals WHERE title IN ($1, 'Nowhere', 'No') OR (id = $2 AND venue_code <> 'HALL-A')`, title, mine.ID); n != 0 {
		t.Fatalf("%d refused writes landed", n)
	}
	storetest.Kind(t, "approve a draft no agent wrote", func() error {
		_, err := proposal.Approve(ctx, f.Store, admin, hallB.ID, nil)
		return err
	}(), rampart.KindConflict)
	stale := time.Unix(1, 0)
	storetest.Kind(t, "a viewer approves", func() error {
		_, err := proposal.Approve(ctx, f.Store, viewer, hallB.ID, &stale)
		return err
	}(), rampart.KindForbidden)
	if code, err := proposal.VenueOf(ctx, f.Store, producer, hallB.ID); err != nil || code != "HALL-B" {
		t.Errorf("VenueOf: %q %v", code, err)
	}
}
