package rampart

import (
	"time"

	"github.com/google/uuid"
)

// Organization is a tenant.
type Organization struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
}

// User is one person's identity across organizations.
type User struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// Membership binds a user to an organization with a role and, for venue
// managers, the venue codes they may act on.
type Membership struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	UserID         uuid.UUID `json:"user_id"`
	Role           Role      `json:"role"`
	VenueCodes     []string  `json:"venue_codes"`
}

// Venue is a place an organization produces events in.
type Venue struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	City           string    `json:"city"`
	Capacity       *int      `json:"capacity,omitempty"`
	// Location is optional; the vendor ranker measures distances from it.
	Location  *GeoPoint `json:"location,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Invite is a pending magic-link invitation to an organization.
type Invite struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	Email          string    `json:"email"`
	Role           Role      `json:"role"`
	VenueCodes     []string  `json:"venue_codes"`
	// CreatedBy is the inviter: the admin behind the session or API token
	// that made the invite; CreatedByToken is that token, if any. The
	// invite redeems only while the inviter is still an admin (and the
	// token still live).
	CreatedBy      *uuid.UUID `json:"created_by,omitempty"`
	CreatedByToken *uuid.UUID `json:"created_by_token,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	RedeemedAt     *time.Time `json:"redeemed_at,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	RevokedReason  string     `json:"revoked_reason,omitempty"`
}

// Status is "pending", "redeemed", "revoked" or "expired" at time now.
func (i Invite) Status(now time.Time) string {
	switch {
	case i.RedeemedAt != nil:
		return "redeemed"
	case i.RevokedAt != nil:
		return "revoked"
	case !now.Before(i.ExpiresAt):
		return "expired"
	}
	return "pending"
}

// APIToken is the server-side record of an API token (the JWT itself is
// shown once, at issue).
type APIToken struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	Name           string    `json:"name"`
	Role           Role      `json:"role"`
	VenueCodes     []string  `json:"venue_codes"`
	// CreatedBy is the person behind the token: the admin who issued it,
	// or, for a token minted by a token, that token's person.
	CreatedBy *uuid.UUID `json:"created_by,omitempty"`
	// ParentTokenID is the token that minted this one, if any.
	ParentTokenID *uuid.UUID `json:"parent_token_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
	LastUsedAt    *time.Time `json:"last_used_at,omitempty"`
}

// Session is a signed-in browser session.
type Session struct {
	ID                   uuid.UUID  `json:"id"`
	UserID               uuid.UUID  `json:"user_id"`
	ActiveOrganizationID uuid.UUID  `json:"active_organization_id"`
	CreatedAt            time.Time  `json:"created_at"`
	ExpiresAt            time.Time  `json:"expires_at"`
	RevokedAt            *time.Time `json:"revoked_at,omitempty"`
	IP                   string     `json:"ip,omitempty"`
	UserAgent            string     `json:"user_agent,omitempty"`
}
