package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

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

// sqlPublicBranding is in queries/identity.sql.
var sqlPublicBranding = query("PublicBranding")

// PublicBranding is what the public sign-in page of an organization may
// show: its public name and logo, nothing else.
type PublicBranding struct {
	Name     string
	LogoType string
	Logo     []byte
}

// PublicBranding reads an organization's public name and logo by its slug
// for a visitor who is not signed in, through the narrow SECURITY DEFINER
// function public_org_branding. ok is false for an unknown slug.
func (a Auth) PublicBranding(ctx context.Context, slug string) (pb PublicBranding, ok bool, err error) {
	const op = "store.PublicBranding"
	if !rampart.ValidSlug(slug) {
		return pb, false, nil
	}
	var name, logoType, logo *string
	err = a.s.oneBatchTx(ctx, sqlBegin, func(b *pgx.Batch) {
		b.Queue(sqlPublicBranding, slug).QueryRow(func(r pgx.Row) error { return r.Scan(&name, &logoType, &logo) })
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && name == nil) {
		return pb, false, nil
	}
	if err != nil {
		return pb, false, classify(op, err)
	}
	pb.Name = *name
	if logo != nil && logoType != nil {
		if raw, derr := base64.StdEncoding.DecodeString(*logo); derr == nil && rampart.LogoTypeOf(raw) == *logoType {
			pb.Logo, pb.LogoType = raw, *logoType
		}
	}
	return pb, true, nil
}
