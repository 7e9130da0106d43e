package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/member"
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
	out, err := member.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"members": out})
}

// Grant is the role and venue codes given to a member, invite or API
// token (exported so the schema generator sees the fields it embeds).
type Grant struct {
	Role       rampart.Role `json:"role" enum:"admin,executive_producer,producer,technical_director,venue_manager,stakeholder,viewer" doc:"one of the seven roles"`
	VenueCodes []string     `json:"venue_codes" required:"false" maxItems:"100" doc:"venue codes (venue_manager only)"`
}

func (g Grant) grant() member.Grant { return member.Grant{Role: g.Role, VenueCodes: g.VenueCodes} }

func (s adminAPI) updateMember(w http.ResponseWriter, r *http.Request, c rampart.Claims, req Grant) error {
	uid, err := edge.PathID(r, "user_id")
	if err != nil {
		return err
	}
	out, err := member.Update(r.Context(), s.store, c, uid, req.grant(), edge.ClientInfo(r))
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, out)
}

func (s adminAPI) removeMember(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, "user_id", member.Remove)
}

// revokeMemberSessions lets an admin end a member's sessions that are
// active in the admin's organization.
func (s adminAPI) revokeMemberSessions(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	uid, err := edge.PathID(r, "user_id")
	if err != nil {
		return err
	}
	n, err := member.RevokeSessions(r.Context(), s.store, c, uid, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]int64{"sessions_revoked": n})
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

func (s adminAPI) inviteMail() member.Mail {
	return member.Mail{Sender: s.mailer, LinkURL: s.signin.LinkURL, Log: s.log}
}

func invitedView(in member.Invited) inviteResponse {
	return inviteResponse{Invite: in.Invite, Status: in.Invite.Status(time.Now()), Delivery: string(in.Delivery)}
}

func (s adminAPI) createInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims, req inviteRequest) error {
	out, err := member.Invite(r.Context(), s.store, s.inviteMail(), c, req.Email, req.grant(), edge.ClientInfo(r))
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusCreated, invitedView(out))
}

func (s adminAPI) listInvites(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Invites(r.Context(), s.store, c)
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
	return edge.Respond(w, c, http.StatusOK, map[string]any{"invites": rows})
}

// resendInvite issues a new token for a pending or expired invite; the old
// link stops working.
func (s adminAPI) resendInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	out, err := member.Resend(r.Context(), s.store, s.inviteMail(), c, id, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, invitedView(out))
}

func (s adminAPI) revokeInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, "id", member.RevokeInvite)
}

type tokenRequest struct {
	Name          string `json:"name" minLength:"1" maxLength:"100"`
	ExpiresInDays int    `json:"expires_in_days" minimum:"1" maximum:"366"`
	Grant
}

func (s adminAPI) createToken(w http.ResponseWriter, r *http.Request, c rampart.Claims, req tokenRequest) error {
	out, raw, err := member.CreateToken(r.Context(), s.store, s.tokens, c,
		member.TokenInput{Name: req.Name, ExpiresInDays: req.ExpiresInDays, Grant: req.grant()}, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	edge.NoStore(w)
	return edge.Respond(w, c, http.StatusCreated, map[string]any{"api_token": out, "token": raw,
		"note": "Store the token now: it is shown only once."})
}

func (s adminAPI) listTokens(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Tokens(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"api_tokens": out})
}

func (s adminAPI) revokeToken(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.adminAction(w, r, c, "id", member.RevokeToken)
}

// adminAction runs one administrative use case on the resource named by
// the path parameter and answers 204.
func (s adminAPI) adminAction(w http.ResponseWriter, r *http.Request, c rampart.Claims, param string,
	fn func(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, ci store.ClientInfo) error) error {
	id, err := edge.PathID(r, param)
	if err != nil {
		return err
	}
	if err := fn(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
