package auditview

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Page limits.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

func check(c rampart.Claims) error {
	return access.Check(c, access.ActionViewAudit, access.Resource{Kind: access.KindAudit})
}

// Page is one page of events and the cursor of the next (nil on the last).
type Page struct {
	Events []audit.Stored
	Next   *int64
}

// List returns one page of the organization's events matching f, newest
// first; f.Limit is 1 to MaxLimit (0: DefaultLimit) and f.Before a cursor.
func List(ctx context.Context, st *store.Store, c rampart.Claims, f store.AuditFilter) (Page, error) {
	if err := check(c); err != nil {
		return Page{}, err
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		return Page{}, rampart.FieldError("auditview.List", "limit", "must be a whole number from 1 to %d", MaxLimit)
	}
	events, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]audit.Stored, error) {
		return tx.AuditLog().Events(ctx, f)
	})
	if err != nil {
		return Page{}, err
	}
	p := Page{Events: events}
	if len(events) == f.Limit {
		n := events[len(events)-1].ID
		p.Next = &n
	}
	return p, nil
}

// Export streams every event matching f to fn, newest first, after
// recording the export (audit.exported with the filter) as done by the
// caller from ci.
func Export(ctx context.Context, st *store.Store, c rampart.Claims, f store.AuditFilter, ci store.ClientInfo, fn func(*audit.Stored) error) error {
	if err := check(c); err != nil {
		return err
	}
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Account().RecordEvent(ctx, ci, audit.Event{Action: audit.ActionAuditExported, TargetType: "audit_log", Metadata: exportMeta(f)})
	})
	if err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.AuditLog().Each(ctx, f, fn)
	})
}

// exportMeta is the export's filter as its audit event records it.
func exportMeta(f store.AuditFilter) []byte {
	m := map[string]string{}
	if !f.Since.IsZero() {
		m["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	if !f.Until.IsZero() {
		m["until"] = f.Until.UTC().Format(time.RFC3339)
	}
	if f.ActorID != "" {
		m["actor"] = f.ActorID
	}
	if f.Action != "" {
		m["action"] = f.Action
	}
	b, _ := json.Marshal(m) // a map of strings always marshals; keys sorted
	return b
}
