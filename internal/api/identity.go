package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// signInAPI is sign-in and the signed-in principal: magic-link requests,
// sign-up, sessions, organization switching and /api/me (the link's
// confirmation and the sign-in form are console pages, internal/console).
type signInAPI struct{ *Server }

func (s signInAPI) register(r *edge.Router) {
	edge.PublicJSON(r, "POST /api/auth/login-link", edge.SignIn, s.requestLoginLink)
	edge.PublicJSON(r, "POST /api/auth/signup", edge.SignIn, s.requestSignup)
	r.Authed("GET /api/me", s.me)
	r.Authed("POST /api/auth/logout", s.logout)
	r.Authed("POST /api/auth/logout-all", s.logoutAll)
	edge.AuthedJSON(r, "POST /api/auth/switch-org", s.switchOrg)
	r.Authed("GET /api/sessions", s.listSessions)
	r.Authed("GET /api/agents", s.listAgents)
	documentMe(r)
}

// documentMe documents GET /api/me, whose features member tells clients
// which features a platform operator turned off.
func documentMe(r *edge.Router) {
	at := time.Date(2026, 11, 2, 16, 5, 0, 0, time.UTC)
	exp := at.Add(12 * time.Hour)
	org := rampart.Organization{ID: uuid.MustParse("6f1c2b9e-3d4a-4e5f-8a7b-1c2d3e4f5a6b"), Name: "Acme Events", Slug: "acme",
		CreatedAt: at.AddDate(0, -3, 0)}
	r.Document("GET /api/me", edge.Doc{
		Summary: "Who the caller is, and which features their organization has",
		Description: "The user (or the API token's id), the organization, role, venue codes, session expiry, the person's " +
			"organizations, the agent types the role may run, and `features`: the organization's feature flags as platform " +
			"operators set them (`rampart org features`; docs/feature-flags.md). `ai` off refuses every AI request (agent routes, " +
			"generation, drafting, the chat) with 403 `feature_disabled`; `chat` off refuses the chat (which also needs `ai`). " +
			"`reason` is the operator's and `updated_at` when they last changed a flag; both are absent when no operator ever did. " +
			"No organization role can change a flag.",
		Example: member.Profile{User: &rampart.User{ID: uuid.MustParse("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"), Email: "ada@acme.example",
			DisplayName: "Ada", CreatedAt: org.CreatedAt}, Organization: org, Role: rampart.RoleProducer, VenueCodes: []string{},
			SessionExpiresAt: &exp, Memberships: []rampart.Organization{org},
			AgentTypes: access.AgentTypesFor(rampart.RoleProducer),
			Features:   rampart.OrgFeatures{AI: true, Chat: false, Reason: "chat is not part of the pilot contract", UpdatedAt: &at}}})
}

type loginLinkRequest struct {
	Email string `json:"email" format:"email" minLength:"3" maxLength:"254"`
}

// requestLoginLink mails a 10-minute sign-in link to a member. The answer
// is the same whether or not the address belongs to anyone, and so is the
// work done before it (signin.Service.RequestLoginLink).
func (s signInAPI) requestLoginLink(w http.ResponseWriter, r *http.Request, req loginLinkRequest) error {
	email, err := rampart.NormalizeEmail(req.Email)
	if err != nil {
		return edge.FieldError("email", "must be a plain address like name@example.com")
	}
	start, err := s.signin.RequestLoginLink(r.Context(), email, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	defer start() // after the answer
	edge.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "If the address belongs to a member, a sign-in link is on its way."})
	return nil
}

// SendLoginLink creates a sign-in link for email, if it belongs to a
// member, and mails it in the background; it returns the link, or "" when
// there is no such member (the operator's banner of serve --demo).
func (s *Server) SendLoginLink(ctx context.Context, email string, ci store.ClientInfo) (string, error) {
	return s.signin.SendLoginLink(ctx, email, ci)
}

// DrainMail waits until the mail sent in the background has gone out (or
// failed), or until ctx is done. Call it on shutdown after the HTTP server
// has stopped accepting requests.
func (s *Server) DrainMail(ctx context.Context) error { return s.signin.Drain(ctx) }

func (s signInAPI) me(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Me(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	edge.NoStore(w)
	return edge.Respond(w, c, http.StatusOK, out)
}

func (s signInAPI) logout(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := member.SignOut(r.Context(), s.store, c, edge.ClientInfo(r)); err != nil {
		return err
	}
	http.SetCookie(w, auth.ClearCookie())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s signInAPI) logoutAll(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	n, err := member.SignOutEverywhere(r.Context(), s.store, c, edge.ClientInfo(r))
	if err != nil {
		return err
	}
	http.SetCookie(w, auth.ClearCookie())
	edge.WriteJSON(w, http.StatusOK, map[string]int64{"sessions_revoked": n})
	return nil
}

type switchOrgRequest struct {
	OrganizationID uuid.UUID `json:"organization_id" format:"uuid"`
}

// switchOrg moves the session to another organization of the user. The
// claims of the next request are derived from the new membership.
func (s signInAPI) switchOrg(w http.ResponseWriter, r *http.Request, c rampart.Claims, req switchOrgRequest) error {
	if err := member.SwitchOrganization(r.Context(), s.store, c, req.OrganizationID, edge.ClientInfo(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s signInAPI) listSessions(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := member.Sessions(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"sessions": out, "current": c.SessionID})
}

func (s signInAPI) listAgents(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return edge.Respond(w, c, http.StatusOK, map[string]any{"agent_types": access.AgentTypesFor(c.Role), "scope": access.AgentScope(c.Role)})
}
