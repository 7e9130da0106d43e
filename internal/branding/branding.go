package branding

import (
	"context"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Get reads the caller's organization's branding (every member).
func Get(ctx context.Context, st *store.Store, c rampart.Claims) (rampart.Branding, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Branding, error) {
		return tx.Branding(ctx)
	})
}

// Change is a change to the branding: nil fields stay as they are.
type Change struct {
	DisplayName, Primary, Accent *string
	// Logo replaces the logo (its type is sniffed from the content);
	// RemoveLogo removes it.
	Logo       []byte
	RemoveLogo bool
}

// Set applies a change (admins: KindForbidden otherwise; KindInvalid
// naming the field for a bad value, with nothing written).
func Set(ctx context.Context, st *store.Store, c rampart.Claims, ch Change) (rampart.Branding, error) {
	const op = "branding.Set"
	if !access.Can(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}) {
		return rampart.Branding{}, rampart.Errorf(op, rampart.KindForbidden, "Only an admin may change the organization's branding.")
	}
	if len(ch.Logo) > rampart.MaxLogoBytes {
		return rampart.Branding{}, rampart.FieldError(op, "logo", "must be at most %d bytes", rampart.MaxLogoBytes)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Branding, error) {
		b, err := tx.Branding(ctx)
		if err != nil {
			return b, err
		}
		for _, f := range []struct{ from, to *string }{{ch.DisplayName, &b.DisplayName}, {ch.Primary, &b.Primary}, {ch.Accent, &b.Accent}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		switch {
		case ch.RemoveLogo:
			b.Logo, b.LogoType = nil, ""
		case ch.Logo != nil:
			b.Logo, b.LogoType = ch.Logo, rampart.LogoTypeOf(ch.Logo)
		}
		return tx.SetBranding(ctx, b)
	})
}
