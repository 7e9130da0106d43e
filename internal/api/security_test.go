package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Regression tests for the findings of the identity security review. Each
// fails without its fix.

// serverWith starts a second HTTPS API on the test's database, with the
// options changed by mod (a demo server, a slow mailer). It shares the
// store and token keys of e; its session cookies are its own.
func (e *env) serverWith(mod func(*Options)) (*httptest.Server, *Server) {
	e.t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, _ := auth.NewSealer([]auth.HMACKey{{ID: "k2", Secret: secret}})
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	e.t.Cleanup(srv.Close)
	opts := Options{Store: e.store, Sealer: sealer, Tokens: e.tokens, Mailer: e.mail, BaseURL: srv.URL, Version: "test", Logger: testLogger(e.t),
		Tiers: roomyTiers()}
	mod(&opts)
	api := New(opts)
	srv.Config.Handler = api
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = api.DrainMail(ctx)
	})
	return srv, api
}

// send is e.do for goroutines: it never fails the test itself.
func send(c *http.Client, base, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, nil
}

// sessionCookie is the session cookie value in c's jar.
func (e *env) sessionCookie(c *http.Client) string {
	e.t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == auth.SessionCookieName {
			return k.Value
		}
	}
	e.t.Fatal("no session cookie in the jar")
	return ""
}

// withCookie calls path with exactly this session cookie (a fresh client:
// no jar can have dropped it after a 401).
func (e *env) withCookie(cookie, path string) resp {
	e.t.Helper()
	return e.do(e.client(), http.MethodGet, path, nil, "Cookie", auth.SessionCookieName+"="+cookie)
}

func (e *env) admins(org uuid.UUID) int {
	return e.scalar("SELECT count(*)::int FROM memberships WHERE organization_id = $1 AND role = 'admin'", org)
}

func (e *env) promote(org, user uuid.UUID, role rampart.Role) {
	e.exec("UPDATE memberships SET role = $3, venue_codes = '{}' WHERE organization_id = $1 AND user_id = $2", org, user, string(role))
}

// Finding 2: two admins demoting each other at the same time cannot both
// succeed and leave the organization without an admin.
func TestLastAdminRace(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	a, b := acme.users[rampart.RoleAdmin], acme.users[rampart.RoleExecutiveProducer]
	e.promote(acme.org.ID, b.ID, rampart.RoleAdmin)
	ac, bc := e.signIn(a.Email), e.signIn(b.Email)
	demote := map[string]any{"role": "viewer", "venue_codes": []string{}}

	// Deterministic interleaving: A's demotion of B is inside its
	// transaction, not yet committed, when B's request to demote A runs.
	held, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	first := make(chan error, 1)
	go func() {
		claims := rampart.Claims{OrganizationID: acme.org.ID, UserID: a.ID, Role: rampart.RoleAdmin}
		first <- e.store.InTenant(context.Background(), claims, func(ctx context.Context, tx *store.TenantTx) error {
			_, err := tx.Members().Update(ctx, rampart.Membership{OrganizationID: acme.org.ID, UserID: b.ID, Role: rampart.RoleViewer}, store.ClientInfo{})
			close(held)
			<-release
			return err
		})
	}()
	<-held
	second := make(chan int, 1)
	go func() {
		status, _, _ := send(bc, e.srv.URL, http.MethodPatch, "/api/members/"+a.ID.String(), demote)
		second <- status
	}()
	var status int
	select {
	case status = <-second: // answered while A's demotion was still open: it did not wait
	case <-time.After(500 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	firstErr := <-first
	if status == 0 {
		status = <-second
	}
	if firstErr != nil {
		t.Fatalf("the first demotion failed: %v", firstErr)
	}
	if status != http.StatusConflict {
		t.Errorf("the second demotion answered %d, want 409 (it must wait for the first and then find no other admin)", status)
	}
	if n := e.admins(acme.org.ID); n != 1 {
		t.Fatalf("%d admins after two concurrent demotions, want 1", n)
	}

	// Free-running rounds over HTTP: at most one of the two PATCHes wins.
	for round := range 5 {
		e.promote(acme.org.ID, a.ID, rampart.RoleAdmin)
		e.promote(acme.org.ID, b.ID, rampart.RoleAdmin)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		start := make(chan struct{})
		for i, call := range []struct {
			c      *http.Client
			target uuid.UUID
		}{{ac, b.ID}, {bc, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], _, _ = send(call.c, e.srv.URL, http.MethodPatch, "/api/members/"+call.target.String(), demote)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict, http.StatusForbidden: // 403: the loser was demoted before its request resolved
			default:
				t.Errorf("round %d: unexpected status %d", round, s)
			}
		}
		if n := e.admins(acme.org.ID); ok > 1 || n < 1 {
			t.Fatalf("round %d: %d demotions succeeded (%v), %d admins left", round, ok, statuses, n)
		}
	}
}

// Finding 3: an invite never overwrites an existing membership — neither
// raising nor lowering a role, so it cannot bypass the last-admin guard.
func TestInviteKeepsExistingMembership(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	cases := []struct {
		who       rampart.Role
		invitedAs rampart.Role
	}{
		{rampart.RoleViewer, rampart.RoleAdmin}, // would have raised the viewer
		{rampart.RoleAdmin, rampart.RoleViewer}, // would have demoted the only admin
	}
	for _, tc := range cases {
		email := acme.email(tc.who)
		if r := e.do(admin, http.MethodPost, "/api/invites", inviteBody(email, tc.invitedAs)); r.status != http.StatusCreated {
			t.Fatalf("invite %s: %d %s", email, r.status, r.body)
		}
		c := e.client()
		if r := e.openLink(c, e.mail.lastLink(t, email)); r.status != http.StatusOK {
			t.Fatalf("redeem as %s: %d %s", email, r.status, r.body)
		}
		// Signed in, with the membership as it was.
		if me := e.do(c, http.MethodGet, "/api/me", nil).json(t); me["role"] != string(tc.who) {
			t.Errorf("%s after an invite as %s: role %v", tc.who, tc.invitedAs, me["role"])
		}
		if n := e.scalar("SELECT count(*)::int FROM invites WHERE email = $1 AND redeemed_at IS NOT NULL", email); n != 1 {
			t.Errorf("%s: the invite was not consumed", email)
		}
	}
	if n := e.admins(acme.org.ID); n != 1 {
		t.Fatalf("%d admins, want 1", n)
	}
	if n := e.scalar("SELECT count(*)::int FROM audit_events WHERE action = 'auth.invite.redeemed' AND reason LIKE 'membership already existed%'"); n != 2 {
		t.Fatalf("%d redemptions audited as 'membership already existed', want 2", n)
	}
}

// Finding 4: an admin sees and revokes a shared user's sessions only in
// the admin's own organization.
func TestAdminReachesOnlySessionsOfOwnOrganization(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	shared := acme.users[rampart.RoleProducer]
	// The acme producer joins globex (a session active in globex) …
	gadmin := e.signIn(globex.email(rampart.RoleAdmin))
	e.do(gadmin, http.MethodPost, "/api/invites", inviteBody(shared.Email, rampart.RoleViewer))
	inGlobex := e.client()
	if r := e.openLink(inGlobex, e.mail.lastLink(t, shared.Email)); r.status != http.StatusOK {
		t.Fatalf("join globex: %d", r.status)
	}
	// … and has a second session, switched to acme.
	inAcme := e.signIn(shared.Email)
	if r := e.do(inAcme, http.MethodPost, "/api/auth/switch-org", map[string]any{"organization_id": acme.org.ID}); r.status != http.StatusNoContent {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	var globexSession uuid.UUID
	rows := e.admin("SELECT id FROM sessions WHERE user_id = $1 AND active_organization_id = $2", shared.ID, globex.org.ID)
	for rows.Next() {
		_ = rows.Scan(&globexSession)
	}
	rows.Close()

	// Under acme's admin claims the globex session is invisible and unreachable.
	acmeAdmin := rampart.Claims{OrganizationID: acme.org.ID, UserID: acme.users[rampart.RoleAdmin].ID, Role: rampart.RoleAdmin}
	err := e.store.InTenant(context.Background(), acmeAdmin, func(ctx context.Context, tx *store.TenantTx) error {
		ss, err := tx.Account().Sessions(ctx, shared.ID)
		if err != nil {
			return err
		}
		for _, se := range ss {
			if se.ActiveOrganizationID != acme.org.ID {
				t.Errorf("acme's admin sees a session active in %s", se.ActiveOrganizationID)
			}
		}
		if len(ss) != 1 {
			t.Errorf("acme's admin sees %d sessions of the shared user, want 1", len(ss))
		}
		if err := tx.Account().RevokeSession(ctx, globexSession, "test", store.ClientInfo{}); rampart.ErrorKind(err) != rampart.KindNotFound {
			t.Errorf("acme's admin revoking the globex session: %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	admin := e.signIn(acme.email(rampart.RoleAdmin))
	r := e.do(admin, http.MethodDelete, "/api/members/"+shared.ID.String()+"/sessions", nil)
	if r.status != http.StatusOK || r.json(t)["sessions_revoked"].(float64) != 1 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	problem(t, e.do(inAcme, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
	if me := e.do(inGlobex, http.MethodGet, "/api/me", nil); me.status != http.StatusOK || me.json(t)["organization"].(map[string]any)["slug"] != "globex" {
		t.Fatalf("the globex session was touched by acme's admin: %d %s", me.status, me.body)
	}
}

// Finding 5: a sign-in link opened in a browser signed in as someone else
// is refused (login CSRF / account swap) without being consumed; the
// confirmation page names the account, masked, without writing anything.
func TestSignInLinkOfAnotherUserIsRefused(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	victim := e.signIn(acme.email(rampart.RoleViewer))
	attacker := acme.email(rampart.RoleProducer)
	e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": attacker})
	link := e.mail.lastLink(t, attacker)

	// The confirmation page shows whose link it is; the GET writes nothing.
	before := e.scalar("SELECT count(*)::int FROM audit_events")
	usedBefore := e.scalar("SELECT count(*)::int FROM login_links WHERE used_at IS NOT NULL")
	res, err := victim.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "p•••@acme.example") || strings.Contains(string(page), attacker) {
		t.Fatalf("confirmation page does not show the masked account: %s", page)
	}
	if e.scalar("SELECT count(*)::int FROM audit_events") != before || e.scalar("SELECT count(*)::int FROM login_links WHERE used_at IS NOT NULL") != usedBefore {
		t.Fatal("the confirmation page's GET wrote something")
	}

	// The victim's browser posts it: refused, audited, nothing consumed.
	problem(t, e.do(victim, http.MethodPost, "/auth/confirm", nil), http.StatusUnauthorized)
	if n := e.scalar("SELECT count(*)::int FROM audit_events WHERE action = 'auth.login.failed' AND reason = 'sign-in link of another user opened while signed in'"); n != 1 {
		t.Fatalf("%d wrong-user events, want 1", n)
	}
	if e.scalar("SELECT count(*)::int FROM login_links WHERE used_at IS NOT NULL") != usedBefore {
		t.Fatal("the refused link was consumed")
	}
	if me := e.do(victim, http.MethodGet, "/api/me", nil).json(t); me["user"].(map[string]any)["email"] != acme.email(rampart.RoleViewer) {
		t.Fatalf("the victim's browser was swapped into another account: %v", me)
	}
	// Its owner can still use it; and a user opening their own link while
	// signed in is fine.
	if r := e.openLink(e.client(), link); r.status != http.StatusOK {
		t.Fatalf("owner: %d %s", r.status, r.body)
	}
	e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": acme.email(rampart.RoleViewer)})
	e.mail.waitCount(t, acme.email(rampart.RoleViewer), 2)
	if r := e.openLink(victim, e.mail.lastLink(t, acme.email(rampart.RoleViewer))); r.status != http.StatusOK {
		t.Fatalf("own link while signed in: %d %s", r.status, r.body)
	}

	// An invite's page names the invited address, masked.
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	e.do(admin, http.MethodPost, "/api/invites", inviteBody("newbie@outside.example", rampart.RoleViewer))
	res, err = e.client().Get(e.mail.lastLink(t, "newbie@outside.example"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "n•••@outside.example") {
		t.Fatalf("invite confirmation page: %s", page)
	}
}

// Finding 6: removing a member ends their sessions for good; re-adding the
// membership does not bring an old session back.
func TestRemovedMemberSessionStaysDead(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	email, uid := acme.email(rampart.RoleProducer), acme.users[rampart.RoleProducer].ID
	old := e.sessionCookie(e.signIn(email))
	if r := e.withCookie(old, "/api/me"); r.status != http.StatusOK {
		t.Fatalf("before removal: %d", r.status)
	}
	if r := e.do(admin, http.MethodDelete, "/api/members/"+uid.String(), nil); r.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	problem(t, e.withCookie(old, "/api/me"), http.StatusUnauthorized)
	if n := e.scalar("SELECT count(*)::int FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", uid); n != 0 {
		t.Fatalf("%d live sessions after removal", n)
	}
	// Re-added by a new invite: the new session works, the old one stays dead.
	e.do(admin, http.MethodPost, "/api/invites", inviteBody(email, rampart.RoleProducer))
	if r := e.openLink(e.client(), e.mail.lastLink(t, email)); r.status != http.StatusOK {
		t.Fatalf("rejoin: %d %s", r.status, r.body)
	}
	problem(t, e.withCookie(old, "/api/me"), http.StatusUnauthorized)
}

// Finding 6: auth_resolve_session renews a session only when it resolves
// (the membership join succeeds).
func TestSessionWithoutMembershipIsNotRenewed(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	uid := acme.users[rampart.RoleViewer].ID
	c := e.signIn(acme.email(rampart.RoleViewer))
	e.exec("UPDATE sessions SET created_at = now() - interval '7 hours', expires_at = now() + interval '5 hours' WHERE user_id = $1", uid)
	e.exec("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2", acme.org.ID, uid) // behind the API's back
	problem(t, e.withCookie(e.sessionCookie(c), "/api/me"), http.StatusUnauthorized)
	if n := e.scalar("SELECT count(*)::int FROM sessions WHERE user_id = $1 AND expires_at > now() + interval '6 hours'", uid); n != 0 {
		t.Fatal("a session without membership was renewed")
	}
}

// Finding 7: the API tokens an admin issued are revoked when the admin is
// demoted or removed.
func TestTokensDieWithTheirCreatorsAdminRights(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	issue := func(c *http.Client, name string) string {
		t.Helper()
		r := e.do(c, http.MethodPost, "/api/tokens", map[string]any{"name": name, "role": "viewer", "venue_codes": []string{}, "expires_in_days": 30})
		if r.status != http.StatusCreated {
			t.Fatalf("issue %s: %d %s", name, r.status, r.body)
		}
		return r.json(t)["token"].(string)
	}
	works := func(raw string) bool {
		return e.do(e.client(), http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+raw).status == http.StatusOK
	}
	kept := issue(admin, "the remaining admin's")
	for _, tc := range []struct {
		role   rampart.Role
		action func(uid string) resp
		reason string
	}{
		{rampart.RoleExecutiveProducer, func(uid string) resp {
			return e.do(admin, http.MethodPatch, "/api/members/"+uid, map[string]any{"role": "executive_producer", "venue_codes": []string{}})
		}, "creator is no longer an admin"},
		{rampart.RoleStakeholder, func(uid string) resp {
			return e.do(admin, http.MethodDelete, "/api/members/"+uid, nil)
		}, "creator removed from the organization"},
	} {
		u := acme.users[tc.role]
		e.promote(acme.org.ID, u.ID, rampart.RoleAdmin)
		raw := issue(e.signIn(u.Email), string(tc.role))
		if !works(raw) {
			t.Fatalf("%s's token does not work", tc.role)
		}
		if r := tc.action(u.ID.String()); r.status/100 != 2 {
			t.Fatalf("%s: %d %s", tc.role, r.status, r.body)
		}
		if works(raw) {
			t.Errorf("%s's token still works after: %s", tc.role, tc.reason)
		}
		if n := e.scalar("SELECT count(*)::int FROM audit_events WHERE action = 'auth.token.revoked' AND reason = $1", tc.reason); n != 1 {
			t.Errorf("%d token revocations audited with %q, want 1", n, tc.reason)
		}
	}
	if !works(kept) {
		t.Fatal("a token of another admin was revoked")
	}
}

// slowMailer delivers only when released.
type slowMailer struct {
	mailbox
	release chan struct{}
}

func (m *slowMailer) Send(ctx context.Context, msg mail.Message) error {
	select {
	case <-m.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return m.mailbox.Send(ctx, msg)
}

// Finding 10: the answer to a sign-in link request does not wait for the
// mail, so its timing does not tell members from strangers.
func TestLoginLinkAnswerDoesNotWaitForMail(t *testing.T) {
	e := setup(t)
	slow := &slowMailer{release: make(chan struct{})}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(slow.release) }) })
	srv, _ := e.serverWith(func(o *Options) { o.Mailer = slow })
	member := e.orgs["acme"].email(rampart.RoleViewer)
	answered := make(chan int, 1)
	go func() {
		status, _, _ := send(srv.Client(), srv.URL, http.MethodPost, "/api/auth/login-link", map[string]string{"email": member})
		answered <- status
	}()
	select {
	case status := <-answered:
		if status != http.StatusAccepted {
			t.Fatalf("status %d", status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the answer waited for the mail server")
	}
	if slow.count(member) != 0 {
		t.Fatal("mail delivered before the slow server was released")
	}
	once.Do(func() { close(slow.release) })
	slow.waitCount(t, member, 1) // still delivered, in the background
}

// Low findings: no-store on every /api and /auth answer, the link cookie's
// attributes, and the renewed cookie on pages that resolve the session.
func TestCacheControlAndCookies(t *testing.T) {
	e := setup(t)
	for _, path := range []string{"/api/health", "/api/nothing-here", "/api/me", "/auth/confirm", "/auth/link?token=short"} {
		if r := e.do(e.client(), http.MethodGet, path, nil); r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, r.header.Get("Cache-Control"))
		}
	}
	// Answers without a body too (204 No Content).
	if r := e.do(e.signIn(e.orgs["acme"].email(rampart.RoleProducer)), http.MethodPost, "/api/auth/logout", nil); r.status != http.StatusNoContent || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /api/auth/logout: %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
	// The link cookie: HttpOnly, Secure, Path=/, SameSite=Lax.
	email := e.orgs["acme"].email(rampart.RoleViewer)
	e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": email})
	c := e.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(e.mail.lastLink(t, email))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var link *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-rampart_link" { // the console's link cookie
			link = ck
		}
	}
	if link == nil || !link.HttpOnly || !link.Secure || link.Path != "/" || link.SameSite != http.SameSiteLaxMode {
		t.Fatalf("link cookie %+v", link)
	}
	// A page that resolves the session re-sends the renewed cookie.
	s := e.signIn(email)
	e.exec("UPDATE sessions SET created_at = now() - interval '7 hours', expires_at = now() + interval '5 hours'")
	res, err = s.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	renewed := false
	for _, ck := range res.Cookies() {
		renewed = renewed || (ck.Name == auth.SessionCookieName && ck.Value != "")
	}
	if !renewed {
		t.Fatal("the home page renewed the session without re-sending the cookie")
	}
}
