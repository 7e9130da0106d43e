package killswitch_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestKillSwitchUseCases: the one orchestration the API, the console and
// the CLI share. Only an organization's admins switch it; the caller's
// watcher knows the new state before the answer; a switch an operator
// turned on is locked against the organization's admins; the global
// switch is only the operators'.
func TestKillSwitchUseCases(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	w, err := killswitch.New(f.Store, killswitch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	admin := f.Acme.As(rampart.RoleAdmin)
	storetest.Kind(t, "a producer switches", func() error {
		_, err := killswitch.SetOrganization(ctx, f.Store, w, f.Acme.As(rampart.RoleProducer), true, "no")
		return err
	}(), rampart.KindForbidden)
	v, err := killswitch.SetOrganization(ctx, f.Store, w, admin, true, "pause AI")
	if err != nil || !v.Organization.Active || v.Effective != "off" {
		t.Fatalf("admin switches off: %+v %v", v, err)
	}
	if v, err := killswitch.Status(ctx, f.Store, w, f.Globex.As(rampart.RoleViewer)); err != nil || v.Effective != "on" || v.Organization.Active {
		t.Fatalf("another organization: %+v %v", v, err)
	}
	if _, err := killswitch.SetOrganization(ctx, f.Store, w, admin, false, "back on"); err != nil {
		t.Fatal(err)
	}

	operator := func(fn func(context.Context, *store.ServiceTx) error) error {
		return f.Store.AsService(ctx, "kill switch use case test", fn)
	}
	if err := operator(func(ctx context.Context, tx *store.ServiceTx) error {
		_, err := killswitch.SetForOrganization(ctx, tx, "test:operator", admin.OrganizationID, true, "abuse investigation")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	storetest.Kind(t, "the admin turns the operator's switch off", func() error {
		_, err := killswitch.SetOrganization(ctx, f.Store, w, admin, false, "we disagree")
		return err
	}(), rampart.KindForbidden)
	if err := operator(func(ctx context.Context, tx *store.ServiceTx) error {
		if _, err := killswitch.SetGlobal(ctx, tx, "test:operator", true, "provider incident"); err != nil {
			return err
		}
		g, org, err := killswitch.OperatorStatus(ctx, tx, &admin.OrganizationID)
		if err == nil && (!g.Active || org == nil || !org.Active || !org.PlatformLocked) {
			t.Errorf("operator status: global %+v, organization %+v", g, org)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := killswitch.Status(ctx, f.Store, w, f.Globex.As(rampart.RoleViewer)); err != nil || !v.Global.Active || v.Effective != "off" {
		t.Fatalf("the global switch for another organization: %+v %v", v, err)
	}
}
