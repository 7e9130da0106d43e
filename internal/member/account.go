package member

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The signed-in person's own account: who they are here, their sessions,
// signing out, and moving to another of their organizations. An API token
// has no session: it is revoked, not signed out, and bound to one
// organization.

// Profile is who the caller is in the organization.
type Profile struct {
	User             *rampart.User          `json:"user,omitempty"`
	Token            *uuid.UUID             `json:"api_token_id,omitempty"`
	Organization     rampart.Organization   `json:"organization"`
	Role             rampart.Role           `json:"role"`
	VenueCodes       []string               `json:"venue_codes"`
	SessionExpiresAt *time.Time             `json:"session_expires_at,omitempty"`
	Memberships      []rampart.Organization `json:"organizations,omitempty"`
	AgentTypes       []access.AgentType     `json:"agent_types"`
	// Features are the organization's feature flags as platform operators
	// set them (docs/feature-flags.md): a client hides what is off.
	Features rampart.OrgFeatures `json:"features"`
}

// Me returns the caller's profile: a person's user, organizations and
// session expiry, or a token's id.
func Me(ctx context.Context, st *store.Store, c rampart.Claims) (Profile, error) {
	out := Profile{Role: c.Role, VenueCodes: c.VenueCodes, AgentTypes: access.AgentTypesFor(c.Role)}
	if out.VenueCodes == nil {
		out.VenueCodes = []string{}
	}
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		var err error
		if out.Organization, err = tx.Organization(ctx); err != nil {
			return err
		}
		if out.Features, err = tx.Features().Get(ctx); err != nil {
			return err
		}
		if c.ViaToken() {
			id := c.TokenID
			out.Token = &id
			return nil
		}
		u, err := tx.Account().User(ctx, c.UserID)
		if err != nil {
			return err
		}
		out.User = &u
		if out.Memberships, err = tx.Account().Organizations(ctx); err != nil {
			return err
		}
		sessions, err := tx.Account().Sessions(ctx, c.UserID)
		if err != nil {
			return err
		}
		for _, se := range sessions {
			if se.ID == c.SessionID {
				exp := se.ExpiresAt
				out.SessionExpiresAt = &exp
			}
		}
		return nil
	})
	return out, err
}

func personOnly(op, what string, c rampart.Claims) error {
	if c.ViaToken() {
		return rampart.Errorf(op, rampart.KindInvalid, "%s", what)
	}
	return nil
}

// SignOut ends the caller's session.
func SignOut(ctx context.Context, st *store.Store, c rampart.Claims, ci store.ClientInfo) error {
	if err := personOnly("member.SignOut", "API tokens are revoked, not signed out", c); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Account().RevokeSession(ctx, c.SessionID, "logout", ci)
	})
}

// SignOutEverywhere ends every live session of the caller and returns how
// many.
func SignOutEverywhere(ctx context.Context, st *store.Store, c rampart.Claims, ci store.ClientInfo) (int64, error) {
	if err := personOnly("member.SignOutEverywhere", "API tokens are revoked, not signed out", c); err != nil {
		return 0, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (int64, error) {
		return tx.Account().RevokeUserSessions(ctx, c.UserID, "sign out everywhere", ci)
	})
}

// Sessions lists the caller's live sessions.
func Sessions(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.Session, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Session, error) {
		return tx.Account().Sessions(ctx, c.UserID)
	})
}

// SwitchOrganization moves the caller's session to another organization
// they belong to; the next request's claims come from that membership. A
// switch to an organization they do not belong to is refused
// (KindForbidden) and recorded in the current organization.
func SwitchOrganization(ctx context.Context, st *store.Store, c rampart.Claims, orgID uuid.UUID, ci store.ClientInfo) error {
	const op = "member.SwitchOrganization"
	if err := personOnly(op, "an API token is bound to one organization", c); err != nil {
		return err
	}
	if orgID == uuid.Nil {
		return rampart.FieldError(op, "organization_id", "is required")
	}
	err := st.Auth().MoveSession(ctx, c.SessionID, c.UserID, orgID, ci)
	if rampart.ErrorKind(err) == rampart.KindForbidden {
		err = st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.Account().RecordSwitchDenied(ctx, orgID, ci)
		})
		if err != nil {
			return err
		}
		return rampart.Errorf(op, rampart.KindForbidden, "you are not a member of that organization")
	}
	return err
}
