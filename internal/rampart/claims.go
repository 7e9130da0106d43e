package rampart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/google/uuid"
)

// Role is one of the seven organization roles of DESIGN.md §4.
type Role string

// The seven roles, most privileged first.
const (
	RoleAdmin             Role = "admin"
	RoleExecutiveProducer Role = "executive_producer"
	RoleProducer          Role = "producer"
	RoleTechnicalDirector Role = "technical_director"
	RoleVenueManager      Role = "venue_manager"
	RoleStakeholder       Role = "stakeholder"
	RoleViewer            Role = "viewer"
)

// Roles lists every role in order of privilege.
var Roles = []Role{RoleAdmin, RoleExecutiveProducer, RoleProducer, RoleTechnicalDirector, RoleVenueManager, RoleStakeholder, RoleViewer}

// Valid reports whether r is one of the seven roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

var venueCodeRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,31}$`)

// ValidVenueCode reports whether s is a well-formed venue code
// (upper-case letters, digits, '-' and '_', at most 32 characters).
func ValidVenueCode(s string) bool { return venueCodeRE.MatchString(s) }

// Claims are the tenant context of one request: who acts, in which
// organization, with which role and venue scope. They are what PostgreSQL's
// row-level security policies read (request.jwt.claims).
type Claims struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	UserID         uuid.UUID `json:"sub"`
	Role           Role      `json:"role"`
	VenueCodes     []string  `json:"venue_codes"`
	// SessionID is the browser session the claims were derived from, if any.
	SessionID uuid.UUID `json:"-"`
	// TokenID is the API token the claims were derived from, if any; the
	// token is then its own principal (UserID == TokenID).
	TokenID uuid.UUID `json:"-"`
	// PersonID is the person behind the claims: the signed-in user, or the
	// user who issued the API token (for a token minted by a token, that
	// token's person). A token acts only while this person keeps the
	// rights to issue it.
	PersonID uuid.UUID `json:"-"`
}

// Person returns the user behind the claims (see PersonID); for claims
// built without it (a session), the user.
func (c Claims) Person() uuid.UUID {
	if c.PersonID != uuid.Nil {
		return c.PersonID
	}
	if c.ViaToken() {
		return uuid.Nil
	}
	return c.UserID
}

// ViaToken reports whether the claims come from an API token.
func (c Claims) ViaToken() bool { return c.TokenID != uuid.Nil }

// Validate rejects claims that could not have come from a membership: a
// zero organization or user, an unknown role, malformed venue codes, or
// venue codes on a role that is not venue-scoped.
func (c Claims) Validate() error {
	const op = "rampart.Claims"
	switch {
	case c.OrganizationID == uuid.Nil:
		return Errorf(op, KindUnauthenticated, "no organization in tenant context")
	case c.UserID == uuid.Nil:
		return Errorf(op, KindUnauthenticated, "no user in tenant context")
	case !c.Role.Valid():
		return Errorf(op, KindForbidden, "unknown role %q", c.Role)
	case c.Role != RoleVenueManager && len(c.VenueCodes) > 0:
		return Errorf(op, KindInvalid, "venue codes are only meaningful for the venue_manager role")
	}
	for _, v := range c.VenueCodes {
		if !ValidVenueCode(v) {
			return Errorf(op, KindInvalid, "malformed venue code %q", v)
		}
	}
	return nil
}

// JSON encodes the claims for request.jwt.claims. venue_codes is always an
// array (never null) so SQL can read it without special cases.
func (c Claims) JSON() ([]byte, error) {
	if c.VenueCodes == nil {
		c.VenueCodes = []string{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	return b, nil
}

type claimsKey struct{}

// WithClaims returns a context carrying the tenant claims.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ErrNoClaims means the context carries no tenant claims: a bug or an
// unauthenticated path, never "anonymous".
var ErrNoClaims = errors.New("no tenant claims in context")

// ClaimsFrom returns the tenant claims in ctx, or an error when absent.
func ClaimsFrom(ctx context.Context) (Claims, error) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	if !ok {
		return Claims{}, &Error{Op: "rampart.ClaimsFrom", Kind: KindUnauthenticated, Message: "not signed in", Err: ErrNoClaims}
	}
	return c, nil
}
