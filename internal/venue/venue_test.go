package venue_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
	"github.com/rampart-dev/rampart/internal/venue"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestVenueRules: the use cases' checks and rules, for every caller (API,
// console, CLI): another organization's venue is not found and unchanged,
// a venue manager sees and edits only their venues, roles without edit
// rights are refused, a code never changes.
func TestVenueRules(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	admin, vm, viewer := f.Acme.As(rampart.RoleAdmin), f.Acme.As(rampart.RoleVenueManager), f.Acme.As(rampart.RoleViewer)
	theirs := f.Globex.Venues["HALL-A"]

	all, err := venue.List(ctx, f.Store, admin)
	if err != nil || len(all) != 2 {
		t.Fatalf("admin lists %d venues (%v), want 2", len(all), err)
	}
	mine, err := venue.List(ctx, f.Store, vm)
	if err != nil || len(mine) != 1 || mine[0].Code != "HALL-A" {
		t.Fatalf("venue manager lists %+v (%v), want HALL-A only", mine, err)
	}

	name := "Renamed"
	storetest.Kind(t, "get another organization's venue", func() error { _, err := venue.Get(ctx, f.Store, admin, theirs.ID); return err }(), rampart.KindNotFound)
	storetest.Kind(t, "update another organization's venue", func() error {
		_, err := venue.Update(ctx, f.Store, admin, theirs.ID, venue.Input{Name: name})
		return err
	}(), rampart.KindNotFound)
	storetest.Kind(t, "delete another organization's venue", venue.Delete(ctx, f.Store, admin, theirs.ID), rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*)::int FROM venues WHERE id = $1 AND name = $2`, theirs.ID, theirs.Name); n != 1 {
		t.Fatal("another organization's venue changed")
	}

	storetest.Kind(t, "venue manager reads another venue", func() error {
		_, err := venue.Get(ctx, f.Store, vm, f.Acme.Venues["HALL-B"].ID)
		return err
	}(), rampart.KindNotFound)
	storetest.Kind(t, "viewer creates", func() error {
		_, err := venue.Create(ctx, f.Store, viewer, venue.Input{Code: "NEW", Name: "New"})
		return err
	}(), rampart.KindForbidden)
	storetest.Kind(t, "venue manager creates outside their venues", func() error {
		_, err := venue.Create(ctx, f.Store, vm, venue.Input{Code: "NEW", Name: "New"})
		return err
	}(), rampart.KindForbidden)
	storetest.Kind(t, "a code changes", func() error {
		_, err := venue.Update(ctx, f.Store, admin, f.Acme.Venues["HALL-A"].ID, venue.Input{Code: "HALL-Z", Name: name})
		return err
	}(), rampart.KindInvalid)
	if n := f.Count(t, `SELECT count(*)::int FROM venues WHERE code IN ('NEW', 'HALL-Z') OR name = $1`, name); n != 0 {
		t.Fatalf("%d refused writes landed", n)
	}

	v, err := venue.Update(ctx, f.Store, vm, f.Acme.Venues["HALL-A"].ID, venue.Input{Name: name})
	if err != nil || v.Name != name {
		t.Fatalf("venue manager updates their venue: %+v %v", v, err)
	}
	created, err := venue.Create(ctx, f.Store, admin, venue.Input{Code: "HALL-C", Name: "Hall C"})
	if err != nil || created.OrganizationID != f.Acme.Organization.ID {
		t.Fatalf("admin creates: %+v %v", created, err)
	}
	if err := venue.Delete(ctx, f.Store, admin, created.ID); err != nil {
		t.Fatal(err)
	}
}
