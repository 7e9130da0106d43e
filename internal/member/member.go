package member

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Grant is the role and venue codes given to a member, invite or token.
type Grant struct {
	Role       rampart.Role
	VenueCodes []string
}

// MaxVenueCodes bounds the venue codes of one grant.
const MaxVenueCodes = 100

// Validate checks a grant: one of the seven roles, and venue codes for a
// venue manager only (at least one).
func (g Grant) Validate() error {
	const op = "member.Grant"
	if !g.Role.Valid() {
		return rampart.FieldError(op, "role", "must be one of admin, executive_producer, producer, technical_director, venue_manager, stakeholder, viewer")
	}
	if len(g.VenueCodes) > MaxVenueCodes {
		return rampart.FieldError(op, "venue_codes", "at most %d codes", MaxVenueCodes)
	}
	for _, v := range g.VenueCodes {
		if !rampart.ValidVenueCode(v) {
			return rampart.FieldError(op, "venue_codes", "%q is not a venue code (1-32 of A-Z, 0-9, '-', '_')", v)
		}
	}
	if g.Role == rampart.RoleVenueManager && len(g.VenueCodes) == 0 {
		return rampart.FieldError(op, "venue_codes", "a venue_manager needs at least one venue code")
	}
	if g.Role != rampart.RoleVenueManager && len(g.VenueCodes) > 0 {
		return rampart.FieldError(op, "venue_codes", "only a venue_manager has venue codes")
	}
	return nil
}

func manage(c rampart.Claims, kind access.ResourceKind) error {
	return access.Check(c, access.ActionManageMembers, access.Resource{Kind: kind})
}

// List returns the organization's memberships (any member may read them).
func List(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.Membership, error) {
	if err := access.Check(c, access.ActionRead, access.Resource{Kind: access.KindMember}); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Membership, error) {
		return tx.Members().List(ctx)
	})
}

// Update changes a member's role and venue codes (admins).
func Update(ctx context.Context, st *store.Store, c rampart.Claims, userID uuid.UUID, g Grant, ci store.ClientInfo) (rampart.Membership, error) {
	if err := manage(c, access.KindMember); err != nil {
		return rampart.Membership{}, err
	}
	if err := g.Validate(); err != nil {
		return rampart.Membership{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Membership, error) {
		return tx.Members().Update(ctx, rampart.Membership{UserID: userID, Role: g.Role, VenueCodes: g.VenueCodes}, ci)
	})
}

// Remove removes a member, ending their sessions here and revoking the
// tokens and invites they made (admins).
func Remove(ctx context.Context, st *store.Store, c rampart.Claims, userID uuid.UUID, ci store.ClientInfo) error {
	if err := manage(c, access.KindMember); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Members().Remove(ctx, userID, ci)
	})
}

// RevokeSessions ends a member's sessions that are active in the caller's
// organization (admins); sessions in the member's other organizations are
// not this admin's to end. It returns how many ended.
func RevokeSessions(ctx context.Context, st *store.Store, c rampart.Claims, userID uuid.UUID, ci store.ClientInfo) (int64, error) {
	if err := manage(c, access.KindMember); err != nil {
		return 0, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (int64, error) {
		if _, err := tx.Members().Get(ctx, userID); err != nil {
			return 0, err
		}
		return tx.Members().RevokeSessions(ctx, userID, "revoked by an admin", ci)
	})
}

// Mail is how invitations reach people: the sender, the link a token
// becomes, and where a failed send is logged.
type Mail struct {
	Sender  mail.Sender
	LinkURL func(token string) string
	Log     *slog.Logger
}

// Delivery is whether an invitation's mail went out.
type Delivery string

// The deliveries.
const (
	Sent   Delivery = "sent"
	Failed Delivery = "failed" // the invite stands; resend later
)

// Invited is an invitation and its mail's fate.
type Invited struct {
	Invite   rampart.Invite
	Delivery Delivery
}

// Invite invites email with grant g (admins, within their own rights) and
// mails the link once the invite has committed.
func Invite(ctx context.Context, st *store.Store, m Mail, c rampart.Claims, email string, g Grant, ci store.ClientInfo) (Invited, error) {
	if err := manage(c, access.KindInvite); err != nil {
		return Invited{}, err
	}
	email, err := rampart.NormalizeEmail(email)
	if err != nil {
		return Invited{}, rampart.FieldError("member.Invite", "email", "must be a plain address like name@example.com")
	}
	if err := g.Validate(); err != nil {
		return Invited{}, err
	}
	token, hash := auth.NewLinkToken()
	var inv rampart.Invite
	var org rampart.Organization
	err = st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		var err error
		if org, err = tx.Organization(ctx); err != nil {
			return err
		}
		inv, err = tx.Invites().Create(ctx, rampart.Invite{Email: email, Role: g.Role, VenueCodes: g.VenueCodes}, hash, ci)
		return err
	})
	if err != nil {
		return Invited{}, err
	}
	return Invited{inv, m.send(ctx, org, inv, token)}, nil
}

// Resend gives a pending or expired invite a new link (the old one stops
// working) and mails it (admins, who must be able to grant it).
func Resend(ctx context.Context, st *store.Store, m Mail, c rampart.Claims, id uuid.UUID, ci store.ClientInfo) (Invited, error) {
	if err := manage(c, access.KindInvite); err != nil {
		return Invited{}, err
	}
	token, hash := auth.NewLinkToken()
	var inv rampart.Invite
	var org rampart.Organization
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		var err error
		if org, err = tx.Organization(ctx); err != nil {
			return err
		}
		inv, err = tx.Invites().Resend(ctx, id, hash, ci)
		return err
	})
	if err != nil {
		return Invited{}, err
	}
	return Invited{inv, m.send(ctx, org, inv, token)}, nil
}

func (m Mail) send(ctx context.Context, org rampart.Organization, inv rampart.Invite, token string) Delivery {
	msg := mail.Message{To: inv.Email, Subject: "You are invited to " + org.Name + " on Rampart",
		Text: "You have been invited to join " + org.Name + " on Rampart as " + string(inv.Role) + ".\n\n" +
			"Accept within 72 hours with this link:\n\n" + m.LinkURL(token) + "\n"}
	if err := m.Sender.Send(ctx, msg); err != nil {
		if m.Log != nil {
			m.Log.ErrorContext(ctx, "send invite", "err", err, "invite", inv.ID)
		}
		return Failed
	}
	return Sent
}

// Invites lists the organization's invitations (admins).
func Invites(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.Invite, error) {
	if err := manage(c, access.KindInvite); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Invite, error) {
		return tx.Invites().List(ctx)
	})
}

// RevokeInvite kills a pending invitation (admins).
func RevokeInvite(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, ci store.ClientInfo) error {
	if err := manage(c, access.KindInvite); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Invites().Revoke(ctx, id, ci)
	})
}

// Issuer signs an API token for a recorded token row (auth.Tokens).
type Issuer interface {
	Issue(id, orgID uuid.UUID, role rampart.Role, expires time.Time) (string, error)
}

// TokenInput is a new API token: a name, a lifetime in days and a grant.
type TokenInput struct {
	Name          string
	ExpiresInDays int
	Grant
}

// MaxTokenDays bounds an API token's lifetime.
const MaxTokenDays = 366

// CreateToken records and signs an API token (admins, within their own
// rights). The raw token is returned once and never stored.
func CreateToken(ctx context.Context, st *store.Store, iss Issuer, c rampart.Claims, in TokenInput, ci store.ClientInfo) (rampart.APIToken, string, error) {
	const op = "member.CreateToken"
	if err := manage(c, access.KindAPIToken); err != nil {
		return rampart.APIToken{}, "", err
	}
	if n := len([]rune(in.Name)); n == 0 || n > 100 {
		return rampart.APIToken{}, "", rampart.FieldError(op, "name", "must be 1 to 100 characters")
	}
	if in.ExpiresInDays < 1 || in.ExpiresInDays > MaxTokenDays {
		return rampart.APIToken{}, "", rampart.FieldError(op, "expires_in_days", "must be between 1 and %d", MaxTokenDays)
	}
	if err := in.Grant.Validate(); err != nil {
		return rampart.APIToken{}, "", err
	}
	var out rampart.APIToken
	var raw string
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		var err error
		out, err = tx.Tokens().Create(ctx, rampart.APIToken{Name: in.Name, Role: in.Role, VenueCodes: in.VenueCodes,
			ExpiresAt: time.Now().Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)}, ci)
		if err != nil {
			return err
		}
		// Signed inside the transaction: a signing failure leaves no row.
		raw, err = iss.Issue(out.ID, out.OrganizationID, out.Role, out.ExpiresAt)
		return err
	})
	if err != nil {
		return rampart.APIToken{}, "", err
	}
	return out, raw, nil
}

// Tokens lists the organization's API tokens (admins).
func Tokens(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.APIToken, error) {
	if err := manage(c, access.KindAPIToken); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.APIToken, error) {
		return tx.Tokens().List(ctx)
	})
}

// RevokeToken revokes an API token and every token minted from it (admins).
func RevokeToken(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, ci store.ClientInfo) error {
	if err := manage(c, access.KindAPIToken); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Tokens().Revoke(ctx, id, ci)
	})
}
