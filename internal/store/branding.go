package store

import (
	"context"
	"encoding/json"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

var (
	sqlGetBranding = query("GetBranding")
	sqlSetBranding = query("SetBranding")
)

// Branding reads the tenant's own organization's branding (the zero
// value when none is set).
func (tx *TenantTx) Branding(ctx context.Context) (rampart.Branding, error) {
	var raw []byte
	if err := tx.queryRow(ctx, sqlGetBranding, tx.tc.OrganizationID).Scan(&raw); err != nil {
		return rampart.Branding{}, classify("store.Branding", err)
	}
	var b rampart.Branding
	if err := json.Unmarshal(raw, &b); err != nil {
		return rampart.Branding{}, rampart.Wrap("store.Branding", rampart.KindInternal, err)
	}
	return b, nil
}

// SetBranding replaces the tenant's organization's branding (validated
// here), audited with before and after (the logo by hash and size).
func (tx *TenantTx) SetBranding(ctx context.Context, b rampart.Branding) (rampart.Branding, error) {
	const op = "store.SetBranding"
	if err := rampart.ValidateBranding(&b); err != nil {
		return rampart.Branding{}, err
	}
	before, err := tx.Branding(ctx)
	if err != nil {
		return before, err
	}
	doc, err := json.Marshal(b)
	if err != nil {
		return before, rampart.Wrap(op, rampart.KindInternal, err)
	}
	var raw []byte
	if err := tx.queryRow(ctx, sqlSetBranding, tx.tc.OrganizationID, doc).Scan(&raw); err != nil {
		return before, classify(op, err)
	}
	org := tx.tc.OrganizationID
	return b, tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &org, Action: audit.ActionOrganizationBrandingUpdated,
		TargetType: "organization", TargetID: org.String(), Before: snapshot(before.Public()), After: snapshot(b.Public())}))
}
