package auditview_test

import (
	"context"
	"testing"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auditview"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestAuditViewing: only roles that may view the audit log read it, a
// page holds only the caller's organization, the cursor pages on, and an
// export is recorded before its first row is read.
func TestAuditViewing(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	admin := f.Acme.As(rampart.RoleAdmin)
	storetest.Kind(t, "a producer reads", func() error {
		_, err := auditview.List(ctx, f.Store, f.Acme.As(rampart.RoleProducer), store.AuditFilter{})
		return err
	}(), rampart.KindForbidden)
	storetest.Kind(t, "a page of 501", func() error { _, err := auditview.List(ctx, f.Store, admin, store.AuditFilter{Limit: 501}); return err }(), rampart.KindInvalid)
	page, err := auditview.List(ctx, f.Store, admin, store.AuditFilter{Limit: 2})
	if err != nil || len(page.Events) != 2 || page.Next == nil {
		t.Fatalf("first page: %d events, next %v, %v", len(page.Events), page.Next, err)
	}
	rest, err := auditview.List(ctx, f.Store, admin, store.AuditFilter{Limit: 500, Before: *page.Next})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(page.Events, rest.Events...) {
		if e.OrganizationID == nil || *e.OrganizationID != admin.OrganizationID {
			t.Fatalf("event %d of another organization", e.ID)
		}
	}
	if rest.Next != nil || len(rest.Events) == 0 || rest.Events[0].ID >= *page.Next {
		t.Fatalf("second page: %d events, next %v", len(rest.Events), rest.Next)
	}
	exported := 0
	err = auditview.Export(ctx, f.Store, admin, store.AuditFilter{Action: audit.ActionAuditExported}, store.ClientInfo{}, func(*audit.Stored) error {
		exported++
		return nil
	})
	if err != nil || exported != 1 {
		t.Fatalf("the export sees %d audit.exported events (%v), want its own", exported, err)
	}
}
