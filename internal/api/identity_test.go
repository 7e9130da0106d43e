package api

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// problem asserts a problem+json answer with status and a generic detail.
func problem(t *testing.T, r resp, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	return r.json(t)
}

func TestSignInWithMagicLink(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	c := e.signIn(acme.email(rampart.RoleProducer))
	me := e.do(c, http.MethodGet, "/api/me", nil).json(t)
	if me["role"] != "producer" || me["organization"].(map[string]any)["slug"] != "acme" || me["session_expires_at"] == nil {
		t.Fatalf("me: %v", me)
	}
	// The session cookie is hardened.
	u, _ := url.Parse(e.srv.URL)
	var ck *http.Cookie
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == auth.SessionCookieName {
			ck = k
		}
	}
	if ck == nil {
		t.Fatal("no session cookie in the jar")
	}
	if e.events("auth.login.succeeded") != 1 || e.events("auth.login_link.requested") != 1 {
		t.Fatalf("audit: %d logins, %d link requests", e.events("auth.login.succeeded"), e.events("auth.login_link.requested"))
	}
	// Not signed in: 401 problem+json.
	problem(t, e.do(e.client(), http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
}

func TestLoginLinkDoesNotRevealMembership(t *testing.T) {
	e := setup(t)
	a := e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": "nobody@nowhere.example"})
	b := e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": e.orgs["acme"].email(rampart.RoleViewer)})
	if a.status != http.StatusAccepted || b.status != a.status || string(a.body) != string(b.body) {
		t.Fatalf("answers differ: %d %s / %d %s", a.status, a.body, b.status, b.body)
	}
	if e.mail.count("nobody@nowhere.example") != 0 {
		t.Fatal("mail sent to a non-member")
	}
}

func TestPrefetchDoesNotConsumeAndLinksAreSingleUse(t *testing.T) {
	e := setup(t)
	email := e.orgs["acme"].email(rampart.RoleViewer)
	e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": email})
	link := e.mail.lastLink(t, email)
	// A mail scanner GETs the link (and follows the redirect): nothing is consumed.
	scanner := e.client()
	if res, err := scanner.Get(link); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scanner GET: %v", err)
	}
	if n := e.scalar("SELECT count(*)::int FROM login_links WHERE used_at IS NOT NULL"); n != 0 {
		t.Fatalf("a GET consumed the link")
	}
	// The person signs in.
	c := e.client()
	if r := e.openLink(c, link); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.body)
	}
	// The replay (the scanner now POSTs) fails with a generic answer and an audit event.
	p := problem(t, e.do(scanner, http.MethodPost, "/auth/confirm", nil), http.StatusUnauthorized)
	if !strings.Contains(p["detail"].(string), "invalid, expired or already used") {
		t.Fatalf("detail: %v", p["detail"])
	}
	if n := e.scalar("SELECT count(*)::int FROM sessions"); n != 1 {
		t.Fatalf("%d sessions after a replay, want 1", n)
	}
	if e.events("auth.login.failed") != 1 {
		t.Fatal("replay not audited")
	}
	// The token left the URL at once: the confirm page's URL has none.
	res, _ := e.client().Get(link)
	if res.Request.URL.RawQuery != "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirmation page URL %s, cache %q", res.Request.URL, res.Header.Get("Cache-Control"))
	}
}

func inviteBody(email string, role rampart.Role, codes ...string) map[string]any {
	if codes == nil {
		codes = []string{}
	}
	return map[string]any{"email": email, "role": role, "venue_codes": codes}
}

func TestInviteRedemption(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	r := e.do(admin, http.MethodPost, "/api/invites", inviteBody("newbie@outside.example", rampart.RoleVenueManager, "HALL-B"))
	if r.status != http.StatusCreated || r.json(t)["delivery"] != "sent" {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	if n := e.scalar("SELECT count(*)::int FROM invites WHERE email = 'newbie@outside.example' AND length(token_hash) = 32"); n != 1 {
		t.Fatal("invite not stored as a hash")
	}
	link := e.mail.lastLink(t, "newbie@outside.example")
	token := strings.SplitN(link, "token=", 2)[1]
	if n := e.scalar("SELECT count(*)::int FROM invites WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'", token); n != 0 {
		t.Fatal("the raw token is stored")
	}
	c := e.client()
	if r := e.openLink(c, link); r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	me := e.do(c, http.MethodGet, "/api/me", nil).json(t)
	codes, _ := me["venue_codes"].([]any)
	if me["role"] != "venue_manager" || len(codes) != 1 || codes[0] != "HALL-B" || me["organization"].(map[string]any)["slug"] != "acme" {
		t.Fatalf("me after invite: %v", me)
	}
	for _, a := range []string{"auth.invite.created", "auth.invite.redeemed", "auth.signup", "auth.login.succeeded"} {
		if e.events(a) < 1 {
			t.Errorf("no %s event", a)
		}
	}
	// Replay of the redeemed invite: refused, audited, nothing changes.
	c2 := e.client()
	if r := e.openLink(c2, link); r.status != http.StatusUnauthorized {
		t.Fatalf("replay: %d", r.status)
	}
	if e.events("auth.invite.replay_attempt") != 1 || e.scalar("SELECT count(*)::int FROM memberships WHERE organization_id = $1", acme.org.ID) != 8 {
		t.Fatal("replay changed something or was not audited")
	}
}

func TestConcurrentRedemptionsOneWins(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	e.do(admin, http.MethodPost, "/api/invites", inviteBody("race@outside.example", rampart.RoleViewer))
	link := e.mail.lastLink(t, "race@outside.example")
	const n = 8
	clients := make([]*http.Client, n)
	for i := range clients {
		clients[i] = e.client()
		if res, err := clients[i].Get(link); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET link: %v", err)
		}
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/confirm", nil)
			req.Header.Set("Accept", "application/json")
			res, err := clients[i].Do(req)
			if err == nil {
				statuses[i] = res.StatusCode
				res.Body.Close()
			}
		}(i)
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want exactly 1 (%v)", ok, statuses)
	}
	if s := e.scalar("SELECT count(*)::int FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'race@outside.example'"); s != 1 {
		t.Fatalf("%d sessions for the invitee", s)
	}
}

func TestExpiredInviteAndResend(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	r := e.do(admin, http.MethodPost, "/api/invites", inviteBody("late@outside.example", rampart.RoleViewer))
	id := r.json(t)["invite"].(map[string]any)["id"].(string)
	oldLink := e.mail.lastLink(t, "late@outside.example")
	e.exec("UPDATE invites SET created_at = now() - interval '80 hours', expires_at = now() - interval '8 hours' WHERE id = $1", id)
	if r := e.openLink(e.client(), oldLink); r.status != http.StatusUnauthorized {
		t.Fatalf("expired invite: %d", r.status)
	}
	if e.events("auth.invite.expired_attempt") != 1 || e.scalar("SELECT count(*)::int FROM users WHERE email = 'late@outside.example'") != 0 {
		t.Fatal("expired attempt not audited, or it created the user")
	}
	// Re-send: new token, fresh lifetime, the old link stays dead.
	if r := e.do(admin, http.MethodPost, "/api/invites/"+id+"/resend", nil); r.status != http.StatusOK {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	newLink := e.mail.lastLink(t, "late@outside.example")
	if newLink == oldLink {
		t.Fatal("resend reused the token")
	}
	if r := e.openLink(e.client(), oldLink); r.status != http.StatusUnauthorized {
		t.Fatalf("old link after resend: %d", r.status)
	}
	if r := e.openLink(e.client(), newLink); r.status != http.StatusOK {
		t.Fatalf("new link: %d %s", r.status, r.body)
	}
}

func TestInviteWhileSignedInAsAnotherUser(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	e.do(admin, http.MethodPost, "/api/invites", inviteBody("bob@outside.example", rampart.RoleProducer))
	link := e.mail.lastLink(t, "bob@outside.example")
	// Mallory, signed in as herself in globex, opens Bob's invite.
	mallory := e.signIn(e.orgs["globex"].email(rampart.RoleViewer))
	if r := e.openLink(mallory, link); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong user: %d %s", r.status, r.body)
	}
	if e.events("auth.invite.wrong_user_attempt") != 1 {
		t.Fatal("not audited")
	}
	if n := e.scalar("SELECT count(*)::int FROM invites WHERE email = 'bob@outside.example' AND redeemed_at IS NULL"); n != 1 {
		t.Fatal("the invite was consumed")
	}
	me := e.do(mallory, http.MethodGet, "/api/me", nil).json(t)
	if me["organization"].(map[string]any)["slug"] != "globex" {
		t.Fatalf("mallory's session changed: %v", me)
	}
	// Bob can still use it.
	if r := e.openLink(e.client(), link); r.status != http.StatusOK {
		t.Fatalf("bob: %d", r.status)
	}
}

func TestClaimsAreLive(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	prod := e.signIn(acme.email(rampart.RoleProducer))
	pid := acme.users[rampart.RoleProducer].ID.String()
	// A role change applies on the very next request.
	if r := e.do(admin, http.MethodPatch, "/api/members/"+pid, map[string]any{"role": "viewer", "venue_codes": []string{}}); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if role := e.do(prod, http.MethodGet, "/api/me", nil).json(t)["role"]; role != "viewer" {
		t.Fatalf("role after change: %v", role)
	}
	// Removal: the next request is unauthenticated.
	if r := e.do(admin, http.MethodDelete, "/api/members/"+pid, nil); r.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	problem(t, e.do(prod, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
	// Admin revocation of a member's sessions.
	tdir := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	r := e.do(admin, http.MethodDelete, "/api/members/"+acme.users[rampart.RoleTechnicalDirector].ID.String()+"/sessions", nil)
	if r.status != http.StatusOK || r.json(t)["sessions_revoked"].(float64) != 1 {
		t.Fatalf("revoke sessions: %d %s", r.status, r.body)
	}
	problem(t, e.do(tdir, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
	// The last admin cannot be removed.
	problem(t, e.do(admin, http.MethodDelete, "/api/members/"+acme.users[rampart.RoleAdmin].ID.String(), nil), http.StatusConflict)
}

func TestLogoutAndSignOutEverywhere(t *testing.T) {
	e := setup(t)
	email := e.orgs["acme"].email(rampart.RoleStakeholder)
	a, b, c := e.signIn(email), e.signIn(email), e.signIn(email)
	if r := e.do(a, http.MethodPost, "/api/auth/logout", nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.status)
	}
	problem(t, e.do(a, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
	if r := e.do(b, http.MethodGet, "/api/me", nil); r.status != http.StatusOK {
		t.Fatalf("other session after logout: %d", r.status)
	}
	r := e.do(b, http.MethodPost, "/api/auth/logout-all", nil)
	if r.status != http.StatusOK || r.json(t)["sessions_revoked"].(float64) != 2 {
		t.Fatalf("logout-all: %d %s", r.status, r.body)
	}
	problem(t, e.do(c, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
}

func TestSessionRenewal(t *testing.T) {
	e := setup(t)
	c := e.signIn(e.orgs["acme"].email(rampart.RoleViewer))
	// Seven of twelve hours have passed.
	e.exec("UPDATE sessions SET created_at = now() - interval '7 hours', expires_at = now() + interval '5 hours'")
	r := e.do(c, http.MethodGet, "/api/me", nil)
	if r.status != http.StatusOK || !strings.Contains(r.header.Get("Set-Cookie"), auth.SessionCookieName) {
		t.Fatalf("no renewed cookie: %d %v", r.status, r.header)
	}
	exp, _ := time.Parse(time.RFC3339Nano, r.json(t)["session_expires_at"].(string))
	if time.Until(exp) < 11*time.Hour {
		t.Fatalf("session not renewed: expires %v", exp)
	}
	if n := e.scalar("SELECT count(*)::int FROM sessions"); n != 1 {
		t.Fatalf("renewal made a new session row (%d)", n)
	}
	// Past its expiry a session is dead even with a cookie that says otherwise.
	e.exec("UPDATE sessions SET created_at = now() - interval '13 hours', expires_at = now() - interval '1 second'")
	problem(t, e.do(c, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
}

func TestSwitchOrganization(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	// The acme producer also joins globex as a viewer.
	admin := e.signIn(globex.email(rampart.RoleAdmin))
	email := acme.email(rampart.RoleProducer)
	e.do(admin, http.MethodPost, "/api/invites", inviteBody(email, rampart.RoleViewer))
	c := e.client()
	if r := e.openLink(c, e.mail.lastLink(t, email)); r.status != http.StatusOK {
		t.Fatalf("join globex: %d", r.status)
	}
	me := e.do(c, http.MethodGet, "/api/me", nil).json(t)
	if me["organization"].(map[string]any)["slug"] != "globex" || len(me["organizations"].([]any)) != 2 {
		t.Fatalf("me: %v", me)
	}
	if r := e.do(c, http.MethodPost, "/api/auth/switch-org", map[string]any{"organization_id": acme.org.ID}); r.status != http.StatusNoContent {
		t.Fatalf("switch: %d %s", r.status, r.body)
	}
	me = e.do(c, http.MethodGet, "/api/me", nil).json(t)
	if me["organization"].(map[string]any)["slug"] != "acme" || me["role"] != "producer" {
		t.Fatalf("after switch: %v", me)
	}
	// A third organization the user does not belong to: refused, audited, unchanged.
	other := e.seedOrg("initech")
	problem(t, e.do(c, http.MethodPost, "/api/auth/switch-org", map[string]any{"organization_id": other.org.ID}), http.StatusForbidden)
	if e.events("auth.session.org_switch_denied") != 1 {
		t.Fatal("denied switch not audited")
	}
	if me := e.do(c, http.MethodGet, "/api/me", nil).json(t); me["organization"].(map[string]any)["slug"] != "acme" {
		t.Fatalf("session moved: %v", me)
	}
}

func TestCookieAttacks(t *testing.T) {
	e := setup(t)
	c := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	u, _ := url.Parse(e.srv.URL)
	var good string
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == auth.SessionCookieName {
			good = k.Value
		}
	}
	before := e.scalar("SELECT count(*)::int FROM audit_events")
	sessionsBefore := e.scalar("SELECT count(*)::int FROM sessions WHERE revoked_at IS NULL")
	probes := map[string]string{
		"tampered":   good[:12] + map[bool]string{true: "B", false: "A"}[good[12] == 'A'] + good[13:],
		"truncated":  good[:len(good)-5],
		"oversized":  good + strings.Repeat("A", 4000),
		"forged":     "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"re-encoded": strings.ReplaceAll(good, ".", "%2E"),
	}
	for name, v := range probes {
		r := e.do(e.client(), http.MethodGet, "/api/me", nil, "Cookie", auth.SessionCookieName+"="+v)
		p := problem(t, r, http.StatusUnauthorized)
		if p["detail"] != "not signed in" {
			t.Errorf("%s: detail %q reveals too much", name, p["detail"])
		}
	}
	// Each refused cookie is audited (one event each, no detail for the
	// caller), and nothing else changed.
	if after := e.scalar("SELECT count(*)::int FROM audit_events WHERE action = 'auth.login.failed'"); after != len(probes) {
		t.Fatalf("%d failed-login events for %d refused cookies", after, len(probes))
	}
	if e.scalar("SELECT count(*)::int FROM audit_events") != before+len(probes) || e.scalar("SELECT count(*)::int FROM sessions WHERE revoked_at IS NULL") != sessionsBefore {
		t.Fatal("cookie probes changed state")
	}
	// An expired session is refused and audited too.
	e.exec("UPDATE sessions SET created_at = now() - interval '13 hours', expires_at = now() - interval '1 second'")
	problem(t, e.do(c, http.MethodGet, "/api/me", nil), http.StatusUnauthorized)
	if e.events("auth.login.failed") != len(probes)+1 {
		t.Fatal("expired session not audited")
	}
}

func TestAPITokens(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	r := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": "ci", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 30})
	if r.status != http.StatusCreated {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	body := r.json(t)
	raw := body["token"].(string)
	id := body["api_token"].(map[string]any)["id"].(string)
	bearer := e.client()
	me := e.do(bearer, http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+raw).json(t)
	if me["role"] != "viewer" || me["api_token_id"] != id {
		t.Fatalf("token me: %v", me)
	}
	// A viewer token cannot manage the organization.
	problem(t, e.do(bearer, http.MethodPost, "/api/tokens", map[string]any{"name": "x", "role": "admin", "venue_codes": []string{}, "expires_in_days": 1},
		"Authorization", "Bearer "+raw), http.StatusForbidden)
	// Malformed bearer: refused without falling back to the cookie.
	problem(t, e.do(admin, http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+raw[:len(raw)-4]), http.StatusUnauthorized)
	problem(t, e.do(admin, http.MethodGet, "/api/me", nil, "Authorization", "Basic Zm9vOmJhcg=="), http.StatusUnauthorized)
	// Revocation applies to the next request.
	if r := e.do(admin, http.MethodDelete, "/api/tokens/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d", r.status)
	}
	problem(t, e.do(bearer, http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+raw), http.StatusUnauthorized)
	for _, a := range []string{"auth.token.issued", "auth.token.revoked", "auth.token.rejected"} {
		if e.events(a) < 1 {
			t.Errorf("no %s event", a)
		}
	}
	// A token whose row belongs to acme, presented with globex's id in a
	// validly signed token (as if the org claim were edited by someone with
	// the key), does not resolve: the row is the source of truth.
	forged, _ := e.tokens.Issue(mustUUID(id), e.orgs["globex"].org.ID, rampart.RoleAdmin, time.Now().Add(time.Hour))
	e.exec("UPDATE api_tokens SET revoked_at = NULL WHERE id = $1", id)
	problem(t, e.do(e.client(), http.MethodGet, "/api/me", nil, "Authorization", "Bearer "+forged), http.StatusUnauthorized)
}

func TestNonAdminsCannotAdminister(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	for _, role := range []rampart.Role{rampart.RoleExecutiveProducer, rampart.RoleProducer, rampart.RoleTechnicalDirector,
		rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		c := e.signIn(acme.email(role))
		problem(t, e.do(c, http.MethodPost, "/api/invites", inviteBody("x@y.example", rampart.RoleAdmin)), http.StatusForbidden)
		problem(t, e.do(c, http.MethodPatch, "/api/members/"+acme.users[role].ID.String(), map[string]any{"role": "admin", "venue_codes": []string{}}), http.StatusForbidden)
		problem(t, e.do(c, http.MethodGet, "/api/tokens", nil), http.StatusForbidden)
	}
	if n := e.scalar("SELECT count(*)::int FROM invites"); n != 0 {
		t.Fatal("an invite was created")
	}
	if n := e.scalar("SELECT count(*)::int FROM memberships WHERE role = 'admin'"); n != 2 {
		t.Fatalf("%d admins", n)
	}
	// An admin of globex cannot touch acme's members: not found, nothing changes.
	gadmin := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	problem(t, e.do(gadmin, http.MethodPatch, "/api/members/"+acme.users[rampart.RoleViewer].ID.String(), map[string]any{"role": "admin", "venue_codes": []string{}}), http.StatusNotFound)
	problem(t, e.do(gadmin, http.MethodDelete, "/api/members/"+acme.users[rampart.RoleViewer].ID.String(), nil), http.StatusNotFound)
	problem(t, e.do(gadmin, http.MethodDelete, "/api/members/"+acme.users[rampart.RoleViewer].ID.String()+"/sessions", nil), http.StatusNotFound)
}

func TestVenueScoping(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	vm := e.signIn(acme.email(rampart.RoleVenueManager)) // HALL-A only
	venues := e.do(vm, http.MethodGet, "/api/venues", nil).json(t)["venues"].([]any)
	if len(venues) != 1 || venues[0].(map[string]any)["code"] != "HALL-A" {
		t.Fatalf("venue manager sees %v", venues)
	}
	var hallB string
	rows := e.admin("SELECT id::text FROM venues WHERE organization_id = $1 AND code = 'HALL-B'", acme.org.ID)
	for rows.Next() {
		_ = rows.Scan(&hallB)
	}
	rows.Close()
	problem(t, e.do(vm, http.MethodGet, "/api/venues/"+hallB, nil), http.StatusNotFound)
	problem(t, e.do(vm, http.MethodPatch, "/api/venues/"+hallB, map[string]any{"name": "Mine now", "city": ""}), http.StatusNotFound)
	problem(t, e.do(vm, http.MethodPost, "/api/venues", map[string]any{"code": "HALL-C", "name": "Sneaky", "city": ""}), http.StatusForbidden)
	if n := e.scalar("SELECT count(*)::int FROM venues WHERE name IN ('Mine now', 'Sneaky')"); n != 0 {
		t.Fatal("venue manager changed another venue")
	}
	// A producer sees both; a viewer cannot edit.
	if n := len(e.do(e.signIn(acme.email(rampart.RoleProducer)), http.MethodGet, "/api/venues", nil).json(t)["venues"].([]any)); n != 2 {
		t.Fatalf("producer sees %d venues", n)
	}
	problem(t, e.do(e.signIn(acme.email(rampart.RoleViewer)), http.MethodPost, "/api/venues", map[string]any{"code": "HALL-D", "name": "x", "city": ""}), http.StatusForbidden)
}

func TestBadInput(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	before := e.scalar("SELECT count(*)::int FROM invites")
	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		detail string
	}{
		{"unknown field", `{"email":"a@b.example","role":"viewer","venue_codes":[],"admin":true}`, "application/json", 400, "unknown field"},
		{"malformed", `{"email":`, "application/json", 400, "malformed JSON"},
		{"trailing", `{"email":"a@b.example","role":"viewer","venue_codes":[]} {}`, "application/json", 400, "trailing data"},
		{"wrong type", `{"email":1,"role":"viewer","venue_codes":[]}`, "application/json", 400, "email"},
		{"bad role", `{"email":"a@b.example","role":"root","venue_codes":[]}`, "application/json", 400, "role"},
		{"bad email", `{"email":"not an email","role":"viewer","venue_codes":[]}`, "application/json", 400, "email"},
		{"codes on viewer", `{"email":"a@b.example","role":"viewer","venue_codes":["HALL-A"]}`, "application/json", 400, "venue_codes"},
		{"venue manager without codes", `{"email":"a@b.example","role":"venue_manager","venue_codes":[]}`, "application/json", 400, "venue_codes"},
		{"invalid utf-8", "{\"email\":\"a\xff@b.example\",\"role\":\"viewer\",\"venue_codes\":[]}", "application/json", 400, "UTF-8"},
		{"wrong content type", `email=a@b.example`, "application/x-www-form-urlencoded", 415, "application/json"},
		{"oversized", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, "application/json", 413, "larger than"},
	}
	for _, tc := range cases {
		r := e.do(admin, http.MethodPost, "/api/invites", tc.body, "Content-Type", tc.ctype)
		p := problem(t, r, tc.status)
		if d, _ := p["detail"].(string); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: detail %q lacks %q", tc.name, d, tc.detail)
		}
	}
	if after := e.scalar("SELECT count(*)::int FROM invites"); after != before {
		t.Fatal("bad input wrote an invite")
	}
	problem(t, e.do(admin, http.MethodGet, "/api/venues/not-a-uuid", nil), http.StatusNotFound)
	problem(t, e.do(admin, http.MethodPut, "/api/me", nil), http.StatusMethodNotAllowed)
	problem(t, e.do(admin, http.MethodGet, "/api/nothing-here", nil), http.StatusNotFound)
}

func TestCrossOriginMutationRefused(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	r := e.do(admin, http.MethodPost, "/api/invites", inviteBody("csrf@evil.example", rampart.RoleAdmin),
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	problem(t, r, http.StatusForbidden)
	if e.scalar("SELECT count(*)::int FROM invites") != 0 || e.events("auth.csrf.rejected") != 1 {
		t.Fatal("cross-origin request wrote, or was not audited")
	}
}

func TestExpiredLoginLink(t *testing.T) {
	e := setup(t)
	email := e.orgs["acme"].email(rampart.RoleViewer)
	e.do(e.client(), http.MethodPost, "/api/auth/login-link", map[string]string{"email": email})
	link := e.mail.lastLink(t, email)
	e.exec("UPDATE login_links SET created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute'")
	problem(t, e.openLink(e.client(), link), http.StatusUnauthorized)
	if e.scalar("SELECT count(*)::int FROM sessions") != 0 || e.scalar("SELECT count(*)::int FROM audit_events WHERE action = 'auth.login.failed' AND reason LIKE 'expired%'") != 1 {
		t.Fatal("expired sign-in link made a session or was not audited")
	}
}
