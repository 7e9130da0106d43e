package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auditview"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/venue"
)

// The administration pages: members and invites, API tokens, the
// organization kill switch, the audit log viewer and the security page
// (the live RLS audit and health). The use cases check the role; the
// pages only choose which controls to show.

func (s adminPages) register() {
	s.page("GET /admin/members", s.membersPage)
	s.page("POST /admin/members/{user_id}", s.updateMember)
	s.page("POST /admin/members/{user_id}/sign-out", s.revokeMemberSessions)
	s.page("POST /admin/members/{user_id}/remove", s.removeMember)
	s.page("POST /admin/invites", s.invite)
	s.page("POST /admin/invites/{id}/resend", s.resendInvite)
	s.page("POST /admin/invites/{id}/revoke", s.revokeInvite)
	s.page("GET /admin/tokens", s.tokensPage)
	s.page("POST /admin/tokens", s.createToken)
	s.page("POST /admin/tokens/{id}/revoke", s.revokeToken)
	s.page("GET /admin/killswitch", s.killSwitchPage)
	s.page("POST /admin/killswitch", s.setKillSwitch)
	s.page("GET /admin/audit", s.auditPage)
	s.page("GET /admin/security", s.securityPage)
	s.page("GET /admin/usage", s.usagePage)
}

// adminOnly refuses the administration pages to other roles with the
// use cases' own 403 (their lists would refuse anyway; this makes the
// answer the same for every page).
func adminOnly(c rampart.Claims) error {
	return access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindMember})
}

type membersData struct {
	Venues  []rampart.Venue
	Members []rampart.Membership
	Emails  map[string]string
	Invites []inviteRow
	Form    inviteForm
}

type inviteRow struct {
	rampart.Invite
	State string
}

type inviteForm struct {
	Email, Role, Venues string
	Errors              map[string]string
}

func (s adminPages) membersPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderMembers(w, r, c, http.StatusOK, inviteForm{Role: string(rampart.RoleViewer)})
}

func (s adminPages) renderMembers(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f inviteForm) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	ms, err := member.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	invs, err := member.Invites(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	vs, err := venue.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d := membersData{Members: ms, Form: f, Venues: vs}
	now := time.Now()
	for _, i := range invs {
		d.Invites = append(d.Invites, inviteRow{Invite: i, State: i.Status(now)})
	}
	return s.render(w, r, c, status, "members", view{Title: "Members", Section: "members", Data: d})
}

func grantOf(role, venues string) member.Grant {
	g := member.Grant{Role: rampart.Role(role), VenueCodes: []string{}}
	for _, v := range strings.FieldsFunc(venues, func(r rune) bool { return r == ',' || r == ' ' }) {
		g.VenueCodes = append(g.VenueCodes, strings.ToUpper(v))
	}
	return g
}

// updateMember changes a member's role and venue codes (member.Update,
// within the admin's own rights).
func (s adminPages) updateMember(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	if _, err := member.Update(r.Context(), s.store, c, id, grantOf(v.Get("role"), v.Get("venue_codes")), edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/members", "saved")
}

// revokeMemberSessions ends a member's sessions in this organization.
func (s adminPages) revokeMemberSessions(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if _, err := member.RevokeSessions(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/members", "member-signed-out")
}

// removeMember removes a member (their sessions here end, the tokens and
// invites they made are revoked).
func (s adminPages) removeMember(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := member.Remove(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/members", "removed")
}

// invite invites an address (the link is mailed after the commit);
// invalid fields re-render the form with the message beside the field.
func (s adminPages) invite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := inviteForm{Email: v.Get("email"), Role: v.Get("role"), Venues: v.Get("venue_codes")}
	_, err = member.Invite(r.Context(), s.store, s.inviteMail, c, strings.TrimSpace(f.Email), grantOf(f.Role, f.Venues), edge.ClientInfo(r))
	if rampart.ErrorKind(err) == rampart.KindInvalid || rampart.ErrorKind(err) == rampart.KindConflict {
		f.Errors = map[string]string{fieldOf(err, "email"): rampart.ErrorMessage(err)}
		return s.renderMembers(w, r, c, http.StatusBadRequest, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/admin/members", "invited")
}

func (s adminPages) resendInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := member.Resend(r.Context(), s.store, s.inviteMail, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/members", "resent")
}

func (s adminPages) revokeInvite(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := member.RevokeInvite(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/members", "revoked")
}

type tokensData struct {
	Tokens []rampart.APIToken
	// Secret is the token just issued: shown on this answer only (it is
	// not stored, and the page is no-store).
	Secret string
	Form   tokenForm
}

type tokenForm struct {
	Name, Role, Venues, Days string
	Errors                   map[string]string
}

func (s adminPages) tokensPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderTokens(w, r, c, http.StatusOK, tokensData{Form: tokenForm{Role: string(rampart.RoleViewer), Days: "30"}})
}

func (s adminPages) renderTokens(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, d tokensData) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	ts, err := member.Tokens(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d.Tokens = ts
	return s.render(w, r, c, status, "tokens", view{Title: "API tokens", Section: "tokens", Data: d})
}

// createToken issues a token and shows it once, on this answer (no
// redirect: the secret must not travel in a URL).
func (s adminPages) createToken(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := tokenForm{Name: v.Get("name"), Role: v.Get("role"), Venues: v.Get("venue_codes"), Days: v.Get("expires_in_days")}
	if s.tokens == nil {
		return rampart.Errorf("console.createToken", rampart.KindUnavailable, "API tokens are not configured in this process")
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.Days))
	if err != nil || days < 1 || days > member.MaxTokenDays {
		f.Errors = map[string]string{"expires_in_days": "expires_in_days: a whole number of days from 1 to " + strconv.Itoa(member.MaxTokenDays)}
		return s.renderTokens(w, r, c, http.StatusBadRequest, tokensData{Form: f})
	}
	_, raw, err := member.CreateToken(r.Context(), s.store, s.tokens, c,
		member.TokenInput{Name: strings.TrimSpace(f.Name), ExpiresInDays: days, Grant: grantOf(f.Role, f.Venues)}, edge.ClientInfo(r))
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{fieldOf(err, "name"): rampart.ErrorMessage(err)}
		return s.renderTokens(w, r, c, http.StatusBadRequest, tokensData{Form: f})
	}
	if err != nil {
		return err
	}
	return s.renderTokens(w, r, c, http.StatusCreated, tokensData{Secret: raw, Form: tokenForm{Role: string(rampart.RoleViewer), Days: "30"}})
}

func (s adminPages) revokeToken(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := member.RevokeToken(r.Context(), s.store, c, id, edge.ClientInfo(r)); err != nil {
		return err
	}
	return done(w, r, "/admin/tokens", "revoked")
}

type killSwitchData struct {
	View      killswitch.View
	CanSet    bool
	History   []audit.Stored
	Reason    string
	ReasonErr string
}

// killSwitchPage shows the organization switch, the platform switch as a
// member sees it, what new AI requests meet in this process, and the
// switch's history (its audit events).
func (s adminPages) killSwitchPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderKillSwitch(w, r, c, http.StatusOK, killSwitchData{})
}

func (s adminPages) renderKillSwitch(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, d killSwitchData) error {
	v, err := killswitch.Status(r.Context(), s.store, s.watcher, c)
	if err != nil {
		return err
	}
	d.View = v
	d.CanSet = access.Can(c, access.ActionOrgKillSwitch, access.Resource{Kind: access.KindOrganization})
	if access.Can(c, access.ActionViewAudit, access.Resource{Kind: access.KindAudit}) {
		if d.History, err = s.killSwitchHistory(r.Context(), c, 20); err != nil {
			return err
		}
	}
	return s.render(w, r, c, status, "killswitch", view{Title: "Kill switch", Section: "killswitch", Data: d})
}

// killSwitchHistory is the organization switch's last n changes, newest
// first, from the audit log.
func (s adminPages) killSwitchHistory(ctx context.Context, c rampart.Claims, n int) ([]audit.Stored, error) {
	var out []audit.Stored
	for _, a := range []string{audit.ActionKillSwitchActivated, audit.ActionKillSwitchDeactivated} {
		p, err := auditview.List(ctx, s.store, c, store.AuditFilter{Action: a, Limit: n})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Events...)
	}
	slices.SortFunc(out, func(a, b audit.Stored) int { return int(b.ID - a.ID) })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// setKillSwitch turns the organization's switch on or off with the
// mandatory reason (beside the field when missing).
func (s adminPages) setKillSwitch(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	active := v.Get("active") == "true"
	reason, err := rampart.ValidateReason(v.Get("reason"))
	if err != nil {
		return s.renderKillSwitch(w, r, c, http.StatusBadRequest, killSwitchData{Reason: v.Get("reason"),
			ReasonErr: "A reason of 1 to 500 characters is required: it goes into the audit log."})
	}
	if _, err := killswitch.SetOrganization(r.Context(), s.store, s.watcher, c, active, reason); err != nil {
		return err
	}
	if active {
		return done(w, r, "/admin/killswitch", "switch-on")
	}
	return done(w, r, "/admin/killswitch", "switch-off")
}

type auditData struct {
	Events                        []audit.Stored
	Next                          string
	Action, Actor, Since, Until   string
	Actions                       []string
	Export                        string
	ActionErr, SinceErr, UntilErr string
}

// auditPage is the audit log viewer: filters, newest first, cursor
// paging (?before=), and the CSV export link with the same filters (the
// API's streamed export, itself audited).
func (s adminPages) auditPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	q := r.URL.Query()
	d := auditData{Action: q.Get("action"), Actor: q.Get("actor"), Since: q.Get("since"), Until: q.Get("until"), Actions: audit.Actions}
	f := store.AuditFilter{Limit: 50, ActorID: d.Actor}
	bad := false
	if d.Action != "" {
		if !slices.Contains(audit.Actions, d.Action) {
			d.ActionErr, bad = "Not an audit action.", true
		}
		f.Action = d.Action
	}
	parseDay := func(v string, dst *time.Time, msg *string) {
		if v == "" {
			return
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			*msg, bad = "A date such as 2026-01-31.", true
			return
		}
		*dst = t
	}
	parseDay(d.Since, &f.Since, &d.SinceErr)
	parseDay(d.Until, &f.Until, &d.UntilErr)
	if !f.Until.IsZero() {
		f.Until = f.Until.Add(24 * time.Hour) // the whole day
	}
	if len(d.Actor) > 200 {
		return rampart.FieldError("console.audit", "actor", "at most 200 characters")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > auditview.MaxLimit {
			return rampart.FieldError("console.audit", "limit", "must be a whole number from 1 to %d", auditview.MaxLimit)
		}
		f.Limit = n
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return rampart.FieldError("console.audit", "before", "is not a cursor of a previous page")
		}
		f.Before = n
	}
	status := http.StatusOK
	if bad {
		status = http.StatusBadRequest
	} else {
		p, err := auditview.List(r.Context(), s.store, c, f)
		if err != nil {
			return err
		}
		d.Events = p.Events
		if p.Next != nil {
			nq := url.Values{}
			for k, v := range map[string]string{"action": d.Action, "actor": d.Actor, "since": d.Since, "until": d.Until} {
				if v != "" {
					nq.Set(k, v)
				}
			}
			if f.Limit != 50 {
				nq.Set("limit", strconv.Itoa(f.Limit))
			}
			nq.Set("before", strconv.FormatInt(*p.Next, 10))
			d.Next = "/admin/audit?" + nq.Encode()
		}
		eq := url.Values{}
		if f.Action != "" {
			eq.Set("action", f.Action)
		}
		if f.ActorID != "" {
			eq.Set("actor", f.ActorID)
		}
		if !f.Since.IsZero() {
			eq.Set("since", f.Since.Format(time.RFC3339))
		}
		if !f.Until.IsZero() {
			eq.Set("until", f.Until.Format(time.RFC3339))
		}
		d.Export = "/api/audit/export.csv"
		if len(eq) > 0 {
			d.Export += "?" + eq.Encode()
		}
	}
	return s.render(w, r, c, status, "audit", view{Title: "Audit log", Section: "audit", Data: d})
}

type securityData struct {
	RLS       *rlsaudit.Report
	RLSError  string
	Health    *health.Report
	Checked   time.Time
	Platform  killswitch.Level
	Effective string
}

// securityPage runs the live RLS audit (the same catalog read and
// evaluation as `rampart rls-audit`) and the readiness checks, for admins.
func (s adminPages) securityPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	if err := adminOnly(c); err != nil {
		return err
	}
	d := securityData{Checked: time.Now()}
	snap, err := s.store.Catalog(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "console: read the catalog for the RLS audit", "err", err)
		d.RLSError = "The catalog could not be read: " + rampart.ErrorMessage(err)
	} else {
		rep := rlsaudit.Evaluate(snap)
		d.RLS = &rep
	}
	if s.health != nil {
		rep := s.health.Run(r.Context())
		d.Health = &rep
	}
	return s.render(w, r, c, http.StatusOK, "security", view{Title: "Security", Section: "security", Data: d})
}
