package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// adminAPI is organization administration: members, invites, API tokens.
type adminAPI struct{ *Server }

func (s adminAPI) register(r *edge.Router) {
	r.Authed("GET /api/members", s.listMembers)
	edge.AuthedJSON(r, "PATCH /api/members/{user_id}", s.updateMember)
	r.Authed("DELETE /api/members/{user_id}", s.removeMember)
	r.Authed("DELETE /api/members/{user_id}/sessions", s.revokeMemberSessions)
	edge.AuthedJSON(r, "POST /api/invites", s.createInvite)
	r.Authed("GET /api/invites", s.listInvites)
	r.Authed("POST /api/invites/{id}/resend", s.resendInvite)
	r.Authed("DELETE /api/invites/{id}", s.revokeInvite)
	edge.AuthedJSON(r, "POST /api/tokens", s.createToken)
	r.Authed("GET /api/tokens", s.listTokens)
	r.Authed("DELETE /api/tokens/{id}", s.revokeToken)
}

func (s adminAPI) listMembers(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := access.Check(c, access.ActionRead, access.Resource{Kind: access.KindMember}); err != nil {
		return err
	}
	out, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) ([]rampart.Membership, error) {
		return tx.Members(ctx, c.OrganizationID)
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, map[string]any{"members": out})
}

// Grant is the role and venue codes given to a member, invite or API
// token (exported so the schema generator sees the fields it embeds).
type Grant struct {
	Role       rampart.Role `json:"role" enum:"admin,executive_producer,producer,technical_director,venue_manager,stakeholder,viewer" doc:"one of the seven roles"`
	VenueCodes []string     `json:"venue_codes" required:"false" maxItems:"100" doc:"venue codes (venue_manager only)"`
}

func (g Grant) validate() error {
	if !g.Role.Valid() {
		return fieldError("role", "must be one of admin, executive_producer, producer, technical_director, venue_manager, stakeholder, viewer")
	}
	if len(g.VenueCodes) > 100 {
		return fieldError("venue_codes", "at most 100 codes")
	}
	for _, v := range g.VenueCodes {
		if !rampart.ValidVenueCode(v) {
			return fieldError("venue_codes", "%q is not a venue code (1-32 of A-Z, 0-9, '-', '_')", v)
		}
	}
	if g.Role == rampart.RoleVenueManager && len(g.VenueCodes) == 0 {
		return fieldError("venue_codes", "a venue_manager needs at least one venue code")
	}
	if g.Role != rampart.RoleVenueManager && len(g.VenueCodes) > 0 {
		return fieldError("venue_codes", "only a venue_manager has venue codes")
	}
	return nil
}

func manage(c rampart.Claims, kind access.ResourceKind) error {
	return access.Check(c, access.ActionManageMembers, access.Resource{Kind: kind})
}

func (s adminAPI) updateMember(w http.ResponseWriter, r *http.Request, c rampart.Claims, req Grant) error {
	if err := manage(c, access.KindMember); err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	out, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) (rampart.Membership, error) {
		return tx.Admin().UpdateMembership(ctx, rampart.Membership{OrganizationID: c.OrganizationID, UserID: uid, Role: req.Role, VenueCodes: req.VenueCodes}, clientInfo(r))
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, out)
}

func (s adminAPI) removeMember(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, access.KindMember, "user_id", func(ctx context.Context, tx *store.Tx, id uuid.UUID, ci store.ClientInfo) error {
		return tx.Admin().RemoveMembership(ctx, c.OrganizationID, id, ci)
	})
}

// revokeMemberSessions lets an admin end a member's sessions that are
// active in the admin's organization. A member who also belongs to other
// organizations keeps those sessions: they are not this admin's to end
// (row-level security hides them too).
func (s adminAPI) revokeMemberSessions(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := manage(c, access.KindMember); err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var n int64
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Admin().Membership(ctx, c.OrganizationID, uid); err != nil {
			return err
		}
		n, err = tx.Identity().RevokeMemberSessions(ctx, c.OrganizationID, uid, "revoked by an admin", clientInfo(r))
		return err
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, map[string]int64{"sessions_revoked": n})
}

type inviteRequest struct {
	Email string `json:"email" format:"email" minLength:"3" maxLength:"254"`
	Grant
}

type inviteResponse struct {
	Invite   rampart.Invite `json:"invite"`
	Status   string         `json:"status"`
	Delivery string         `json:"delivery"` // "sent" or "failed" (resend later)
}

func (s adminAPI) createInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims, req inviteRequest) error {
	if err := manage(c, access.KindInvite); err != nil {
		return err
	}
	email, err := rampart.NormalizeEmail(req.Email)
	if err != nil {
		return fieldError("email", "must be a plain address like name@example.com")
	}
	if err := req.validate(); err != nil {
		return err
	}
	token, hash := auth.NewLinkToken()
	var inv rampart.Invite
	var org rampart.Organization
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if org, err = tx.Organization(ctx, c.OrganizationID); err != nil {
			return err
		}
		inv, err = tx.Admin().CreateInvite(ctx, rampart.Invite{OrganizationID: c.OrganizationID, Email: email, Role: req.Role,
			VenueCodes: req.VenueCodes}, hash, clientInfo(r))
		return err
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusCreated, inviteResponse{Invite: inv, Status: inv.Status(time.Now()), Delivery: s.mailInvite(r.Context(), org, inv, token)})
}

func (s adminAPI) mailInvite(ctx context.Context, org rampart.Organization, inv rampart.Invite, token string) string {
	msg := mail.Message{To: inv.Email, Subject: "You are invited to " + org.Name + " on Rampart",
		Text: "You have been invited to join " + org.Name + " on Rampart as " + string(inv.Role) + ".\n\n" +
			"Accept within 72 hours with this link:\n\n" + s.linkURL(token) + "\n"}
	if err := s.mailer.Send(ctx, msg); err != nil {
		s.log.ErrorContext(ctx, "send invite", "err", err, "invite", inv.ID)
		return "failed"
	}
	return "sent"
}

func (s adminAPI) listInvites(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := manage(c, access.KindInvite); err != nil {
		return err
	}
	out, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) ([]rampart.Invite, error) {
		return tx.Admin().Invites(ctx, c.OrganizationID)
	})
	if err != nil {
		return err
	}
	type row struct {
		rampart.Invite
		Status string `json:"status"`
	}
	rows := make([]row, len(out))
	for i, inv := range out {
		rows[i] = row{inv, inv.Status(time.Now())}
	}
	return respond(w, c, http.StatusOK, map[string]any{"invites": rows})
}

// resendInvite issues a new token for a pending or expired invite; the old
// link stops working.
func (s adminAPI) resendInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := manage(c, access.KindInvite); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	token, hash := auth.NewLinkToken()
	var inv rampart.Invite
	var org rampart.Organization
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if org, err = tx.Organization(ctx, c.OrganizationID); err != nil {
			return err
		}
		inv, err = tx.Admin().ResendInvite(ctx, c.OrganizationID, id, hash, clientInfo(r))
		return err
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, inviteResponse{Invite: inv, Status: inv.Status(time.Now()), Delivery: s.mailInvite(r.Context(), org, inv, token)})
}

func (s adminAPI) revokeInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, access.KindInvite, "id", func(ctx context.Context, tx *store.Tx, id uuid.UUID, ci store.ClientInfo) error {
		return tx.Admin().RevokeInvite(ctx, c.OrganizationID, id, ci)
	})
}

type tokenRequest struct {
	Name          string `json:"name" minLength:"1" maxLength:"100"`
	ExpiresInDays int    `json:"expires_in_days" minimum:"1" maximum:"366"`
	Grant
}

func (s adminAPI) createToken(w http.ResponseWriter, r *http.Request, c rampart.Claims, req tokenRequest) error {
	if err := manage(c, access.KindAPIToken); err != nil {
		return err
	}
	if n := len([]rune(req.Name)); n == 0 || n > 100 {
		return fieldError("name", "must be 1 to 100 characters")
	}
	if req.ExpiresInDays < 1 || req.ExpiresInDays > 366 {
		return fieldError("expires_in_days", "must be between 1 and 366")
	}
	if err := req.validate(); err != nil {
		return err
	}
	var out rampart.APIToken
	var raw string
	err := s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		var err error
		out, err = tx.Admin().CreateAPIToken(ctx, rampart.APIToken{OrganizationID: c.OrganizationID, Name: req.Name, Role: req.Role,
			VenueCodes: req.VenueCodes, ExpiresAt: time.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)}, clientInfo(r))
		if err != nil {
			return err
		}
		// Signed inside the transaction: a signing failure leaves no row.
		raw, err = s.tokens.Issue(out.ID, out.OrganizationID, out.Role, out.ExpiresAt)
		return err
	})
	if err != nil {
		return err
	}
	noStore(w)
	return respond(w, c, http.StatusCreated, map[string]any{"api_token": out, "token": raw,
		"note": "Store the token now: it is shown only once."})
}

func (s adminAPI) listTokens(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := manage(c, access.KindAPIToken); err != nil {
		return err
	}
	out, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) ([]rampart.APIToken, error) {
		return tx.Admin().APITokens(ctx, c.OrganizationID)
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, map[string]any{"api_tokens": out})
}

func (s adminAPI) revokeToken(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, access.KindAPIToken, "id", func(ctx context.Context, tx *store.Tx, id uuid.UUID, ci store.ClientInfo) error {
		return tx.Admin().RevokeAPIToken(ctx, c.OrganizationID, id, ci)
	})
}

// adminAction runs one administrative change on the resource named by the
// path parameter, after the manage-members check, and answers 204.
func (s adminAPI) adminAction(w http.ResponseWriter, r *http.Request, c rampart.Claims, kind access.ResourceKind, param string,
	fn func(ctx context.Context, tx *store.Tx, id uuid.UUID, ci store.ClientInfo) error) error {
	if err := manage(c, kind); err != nil {
		return err
	}
	id, err := pathID(r, param)
	if err != nil {
		return err
	}
	ci := clientInfo(r)
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error { return fn(ctx, tx, id, ci) })
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
