package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

// testSecretsKeySpec is the secrets key ring of the API tests' store: a
// fresh key per test process, apart from storetest.FieldKeySpec.
var testSecretsKeySpec = func() string {
	k, err := fieldcrypt.NewKey("s1")
	if err != nil {
		panic(err)
	}
	return k
}()

// crossSite marks a request as the browser marks the provider's redirect
// back to Rampart: a top-level navigation caused by another site.
var crossSite = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Accept", "text/html"}

// startConnect asks Rampart for the authorization URL and has the
// provider consent; it returns the callback URL the browser is sent to.
func (e *env) startConnect(c *http.Client) *url.URL {
	e.t.Helper()
	r := e.do(c, "POST", "/api/integrations/ledger/connect", map[string]any{})
	if r.status != http.StatusOK {
		e.t.Fatalf("connect: %d %s", r.status, r.body)
	}
	m := r.json(e.t)
	if m["redirect_uri"] != e.srv.URL+"/api/integrations/ledger/callback" {
		e.t.Fatalf("redirect_uri = %v", m["redirect_uri"])
	}
	cb := e.provider.consent(e.t, m["authorization_url"].(string))
	if cb.Scheme+"://"+cb.Host+cb.Path != m["redirect_uri"] {
		e.t.Fatalf("provider redirected to %s", cb)
	}
	return cb
}

// callback is the browser arriving at Rampart from the provider.
func (e *env) callback(c *http.Client, cb *url.URL) resp {
	e.t.Helper()
	return e.do(c, "GET", cb.RequestURI(), nil, crossSite...)
}

// connect runs the whole authorization for an admin's browser and
// returns the stored integration's id.
func (e *env) connect(c *http.Client) string {
	e.t.Helper()
	r := e.callback(c, e.startConnect(c))
	if r.status != http.StatusOK {
		e.t.Fatalf("callback: %d %s", r.status, r.body)
	}
	return r.json(e.t)["id"].(string)
}

// assertNoToken fails when any token the provider issued appears in s.
func (e *env) assertNoToken(where string, s []byte) {
	e.t.Helper()
	for _, tok := range e.provider.tokens() {
		if strings.Contains(string(s), tok) {
			e.t.Errorf("%s contains a token the provider issued", where)
		}
	}
}

func (e *env) credentialCount() int {
	return e.scalar("SELECT count(*)::int FROM integration_credentials")
}

type sealedCred struct {
	org, id         uuid.UUID
	refresh, access []byte
	kid             *string
	status          string
}

func (e *env) sealed(id string) sealedCred {
	e.t.Helper()
	rows := e.admin(`SELECT organization_id, id, refresh_token_enc, access_token_enc, secret_key_id, status FROM integration_credentials WHERE id = $1`, id)
	s, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (sealedCred, error) {
		var s sealedCred
		return s, r.Scan(&s.org, &s.id, &s.refresh, &s.access, &s.kid, &s.status)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) openRefresh(s sealedCred) string {
	e.t.Helper()
	pt, _, err := e.secrets.Open(fieldcrypt.Binding{Organization: s.org, Table: "integration_credentials", Column: "refresh_token_enc", Row: s.id}, s.refresh)
	if err != nil {
		e.t.Fatalf("open the stored refresh token: %v", err)
	}
	return string(pt)
}

func TestIntegrationConnectListRefreshDisconnect(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))

	// Connect: the authorization URL carries PKCE S256 and a state; the
	// provider's redirect comes back cross-site and is honoured.
	cb := e.startConnect(admin)
	if st := cb.Query().Get("state"); len(st) != 64 {
		t.Fatalf("state %q: want 48 random bytes, base64url", st)
	}
	r := e.callback(admin, cb)
	if r.status != http.StatusOK {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback headers: %v", r.header)
	}
	i := r.json(t)
	id := i["id"].(string)
	if i["status"] != "connected" || i["provider"] != "ledger" || !slices.Equal(toStrings(i["scopes"]), []string{"accounting.transactions", "offline_access"}) {
		t.Fatalf("integration = %v", i)
	}
	e.assertNoToken("the callback's answer", r.body)

	// List: the integration and the provider, never a secret.
	r = e.do(admin, "GET", "/api/integrations", nil)
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	e.assertNoToken("the list", r.body)
	for _, k := range []string{"refresh_token", "access_token\"", "_enc", "verifier"} {
		if strings.Contains(string(r.body), k) {
			t.Errorf("the list mentions %q: %s", k, r.body)
		}
	}
	o := r.json(t)
	list := o["integrations"].([]any)
	if len(list) != 1 {
		t.Fatalf("list: %s", r.body)
	}
	got := list[0].(map[string]any)
	if got["connected_by"] != acme.users[rampart.RoleAdmin].ID.String() || got["connected_at"] == nil || got["last_refreshed_at"] != nil || got["status"] != "connected" {
		t.Errorf("listed integration: %v", got)
	}
	if p := o["providers"].([]any)[0].(map[string]any); p["name"] != "ledger" || p["connected"] != true || p["can_revoke"] != true {
		t.Errorf("providers: %v", o["providers"])
	}

	// The raw columns hold ciphertext only, sealed under the secrets key,
	// bound to this row; the field keys cannot open it.
	s := e.sealed(id)
	if s.kid == nil || *s.kid != "s1" || s.refresh[0] != fieldcrypt.Version || s.access == nil {
		t.Fatalf("sealed row: kid %v, refresh %x…", s.kid, s.refresh[:4])
	}
	e.assertNoToken("refresh_token_enc", s.refresh)
	e.assertNoToken("access_token_enc", s.access)
	first := e.openRefresh(s)
	if !slices.Contains(e.provider.liveRefresh(), first) {
		t.Fatal("the stored refresh token is not the provider's live one")
	}
	field, _ := fieldcrypt.ParseRing(storetest.FieldKeySpec)
	b := fieldcrypt.Binding{Organization: s.org, Table: "integration_credentials", Column: "refresh_token_enc", Row: s.id}
	if _, _, err := field.Open(b, s.refresh); !errors.Is(err, fieldcrypt.ErrUnknownKey) {
		t.Errorf("the field key ring opened a secret (or failed oddly): %v", err)
	}
	// Even named like the secrets key, a field key does not open it.
	fieldAsS1, _ := fieldcrypt.ParseRing("s1:" + strings.SplitN(storetest.FieldKeySpec, ":", 2)[1])
	if _, _, err := fieldAsS1.Open(b, s.refresh); !errors.Is(err, fieldcrypt.ErrAuth) {
		t.Errorf("a field key relabelled s1 opened a secret: %v", err)
	}
	// Moved to another row or column, the envelope does not open.
	moved := b
	moved.Row = uuid.New()
	if _, _, err := e.secrets.Open(moved, s.refresh); !errors.Is(err, fieldcrypt.ErrAuth) {
		t.Errorf("the envelope opened for another row: %v", err)
	}
	moved = b
	moved.Column = "access_token_enc"
	if _, _, err := e.secrets.Open(moved, s.refresh); !errors.Is(err, fieldcrypt.ErrAuth) {
		t.Errorf("the envelope opened for another column: %v", err)
	}
	if n := e.scalar("SELECT count(*)::int FROM integration_flows"); n != 0 {
		t.Errorf("%d flows left after the callback", n)
	}

	// The callback replayed: refused, nothing changed.
	if r := e.callback(admin, cb); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "already used") {
		t.Fatalf("replayed callback: %d %s", r.status, r.body)
	}

	// Refresh: the provider rotates the refresh token; the new one is
	// stored, the old one is dead, and a second refresh uses the new one.
	r = e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil)
	if r.status != http.StatusOK || r.json(t)["last_refreshed_at"] == nil {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	e.assertNoToken("the refresh's answer", r.body)
	second := e.openRefresh(e.sealed(id))
	if second == first || !slices.Equal(e.provider.liveRefresh(), []string{second}) {
		t.Fatal("the rotated refresh token was not stored")
	}
	if r := e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil); r.status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", r.status, r.body)
	}
	// Without rotation the provider keeps the token, and so does Rampart.
	e.provider.set(func(a *authServer) { a.rotate = false })
	kept := e.openRefresh(e.sealed(id))
	if r := e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil); r.status != http.StatusOK {
		t.Fatalf("refresh without rotation: %d %s", r.status, r.body)
	}
	if e.openRefresh(e.sealed(id)) != kept {
		t.Error("a refresh without rotation changed the stored refresh token")
	}

	// Disconnect: revoked at the provider (RFC 7009), then deleted.
	r = e.do(admin, "DELETE", "/api/integrations/"+id, nil)
	if r.status != http.StatusOK || r.json(t)["revocation"] != "revoked" {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	if len(e.provider.liveRefresh()) != 0 {
		t.Error("the refresh token is still live at the provider")
	}
	if e.credentialCount() != 0 {
		t.Error("the credential row survived the disconnect")
	}
	if r := e.do(admin, "DELETE", "/api/integrations/"+id, nil); r.status != http.StatusNotFound {
		t.Errorf("second disconnect: %d", r.status)
	}

	// Every step is audited, and no event carries a token.
	for action, want := range map[string]int{"integration.connect.started": 1, "integration.connected": 1, "integration.callback.refused": 1,
		"integration.refreshed": 3, "integration.disconnected": 1} {
		if n := e.events(action); n != want {
			t.Errorf("%d %s events, want %d", n, action, want)
		}
	}
	rows := e.admin("SELECT coalesce(string_agg(to_jsonb(a)::text, '|'), '') FROM audit_events a")
	all, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	e.assertNoToken("the audit log", []byte(all))
	if strings.Contains(all, cb.Query().Get("code")) || strings.Contains(all, cb.Query().Get("state")) {
		t.Error("the audit log holds the authorization code or state")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestIntegrationCallbackRefusals: a state that is tampered with, replayed,
// expired, from another organization, another session or another
// provider, an error from the provider's token endpoint, a declined
// consent, a grant without refresh token: each is refused with a clear
// problem and nothing is stored.
func TestIntegrationCallbackRefusals(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	otherOrg := e.signIn(globex.email(rampart.RoleAdmin))
	otherSession := e.signIn(acme.email(rampart.RoleAdmin))

	withState := func(cb *url.URL, f func(q url.Values)) *url.URL {
		u := *cb
		q := u.Query()
		f(q)
		u.RawQuery = q.Encode()
		return &u
	}
	cases := []struct {
		name    string
		setup   func()
		run     func() resp
		status  int
		detail  string
		refused string // audit action written
	}{
		{"tampered state", nil, func() resp {
			cb := e.startConnect(admin)
			bad := withState(cb, func(q url.Values) {
				// A character in the middle, replaced by another of the
				// alphabet: always a different value (flipping a bit of the
				// last characters could land on padding bits that decode
				// to the same bytes, and the test flaked).
				s := []byte(q.Get("state"))
				i := len(s) / 2
				if s[i] == 'A' {
					s[i] = 'B'
				} else {
					s[i] = 'A'
				}
				q.Set("state", string(s))
			})
			r := e.callback(admin, bad)
			// The flow is burned by the attempt: the genuine callback fails too.
			if r2 := e.callback(admin, cb); r2.status != http.StatusBadRequest {
				t.Errorf("genuine callback after a tampered one: %d", r2.status)
			}
			return r
		}, 400, "state is invalid", "integration.callback.refused"},
		{"malformed state", nil, func() resp {
			return e.callback(admin, withState(e.startConnect(admin), func(q url.Values) { q.Set("state", "abc") }))
		}, 400, "state is invalid", "integration.callback.refused"},
		{"expired", nil, func() resp {
			cb := e.startConnect(admin)
			e.exec(`UPDATE integration_flows SET created_at = now() - interval '20 minutes', expires_at = now() - interval '10 minutes'`)
			return e.callback(admin, cb)
		}, 400, "expired", "integration.callback.refused"},
		{"another organization's flow", nil, func() resp {
			cb := e.startConnect(admin)
			r := e.callback(otherOrg, cb)
			// Not burned either: globex cannot even see acme's flow.
			if n := e.scalar("SELECT count(*)::int FROM integration_flows"); n != 1 {
				t.Errorf("%d flows after another organization's attempt", n)
			}
			e.exec("DELETE FROM integration_flows")
			return r
		}, 400, "not yours", "integration.callback.refused"},
		{"another session of the same admin", nil, func() resp {
			return e.callback(otherSession, e.startConnect(admin))
		}, 400, "not yours", "integration.callback.refused"},
		{"not signed in", nil, func() resp {
			return e.do(e.client(), "GET", e.startConnect(admin).RequestURI(), nil, crossSite...)
		}, 401, "not signed in", ""},
		{"unknown provider", nil, func() resp {
			cb := e.startConnect(admin)
			return e.callback(admin, &url.URL{Path: "/api/integrations/nosuch/callback", RawQuery: cb.RawQuery})
		}, 404, "no integration provider", ""},
		{"consent declined", nil, func() resp {
			cb := e.startConnect(admin)
			return e.callback(admin, withState(cb, func(q url.Values) {
				q.Del("code")
				q.Set("error", "access_denied")
				q.Set("error_description", "The user said no")
			}))
		}, 400, "did not authorize the connection (access_denied: The user said no)", "integration.connect.failed"},
		{"code refused by the token endpoint", nil, func() resp {
			return e.callback(admin, withState(e.startConnect(admin), func(q url.Values) { q.Set("code", "forged") }))
		}, 400, "refused the authorization code (invalid_grant", "integration.connect.failed"},
		{"token endpoint down", func() { e.provider.set(func(a *authServer) { a.failToken = http.StatusBadGateway }) }, func() resp {
			return e.callback(admin, e.startConnect(admin))
		}, 503, "could not be used (HTTP 502)", "integration.connect.failed"},
		{"no refresh token", func() { e.provider.set(func(a *authServer) { a.failToken, a.noRefresh = 0, true }) }, func() resp {
			return e.callback(admin, e.startConnect(admin))
		}, 400, "no refresh token", "integration.connect.failed"},
	}
	for _, tc := range cases {
		if tc.setup != nil {
			tc.setup()
		}
		before := 0
		if tc.refused != "" {
			before = e.events(tc.refused)
		}
		r := tc.run()
		if r.status != tc.status || !strings.Contains(string(r.body), tc.detail) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, r.status, r.body, tc.status, tc.detail)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: answer is %s, want problem+json", tc.name, r.header.Get("Content-Type"))
		}
		if n := e.credentialCount(); n != 0 {
			t.Fatalf("%s: %d credentials stored", tc.name, n)
		}
		if tc.refused != "" && e.events(tc.refused) <= before {
			t.Errorf("%s: no %s event", tc.name, tc.refused)
		}
	}
	if n := e.events("integration.connected"); n != 0 {
		t.Errorf("%d connected events", n)
	}
	// The provider was asked for tokens only with a valid state.
	e.provider.set(func(a *authServer) { a.noRefresh = false })
	e.connect(admin)
	if e.credentialCount() != 1 {
		t.Fatal("a valid flow did not connect after the refusals")
	}
}

// TestIntegrationAdminOnly: every other role is refused (403) and another
// organization's integration is not found (404), with nothing changed.
func TestIntegrationAdminOnly(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	id := e.connect(admin)
	gAdmin := e.signIn(globex.email(rampart.RoleAdmin))
	before := e.sealed(id)
	for _, role := range rampart.Roles[1:] {
		c := e.signIn(acme.email(role))
		for _, req := range [][2]string{{"GET", "/api/integrations"}, {"POST", "/api/integrations/ledger/connect"},
			{"POST", "/api/integrations/" + id + "/refresh"}, {"DELETE", "/api/integrations/" + id}} {
			var body any
			if strings.HasSuffix(req[1], "/connect") {
				body = map[string]any{}
			}
			if r := e.do(c, req[0], req[1], body); r.status != http.StatusForbidden {
				t.Errorf("%s %s %s: %d %s, want 403", role, req[0], req[1], r.status, r.body)
			}
		}
	}
	for _, req := range [][2]string{{"POST", "/api/integrations/" + id + "/refresh"}, {"DELETE", "/api/integrations/" + id}} {
		if r := e.do(gAdmin, req[0], req[1], nil); r.status != http.StatusNotFound {
			t.Errorf("globex admin %s %s: %d %s, want 404", req[0], req[1], r.status, r.body)
		}
	}
	if r := e.do(gAdmin, "GET", "/api/integrations", nil); r.status != 200 || len(r.json(t)["integrations"].([]any)) != 0 {
		t.Errorf("globex lists acme's integration: %s", r.body)
	}
	after := e.sealed(id)
	if string(after.refresh) != string(before.refresh) || after.status != "connected" {
		t.Error("a refused request changed the credential")
	}
	if r := e.do(admin, "POST", "/api/integrations/nosuch/connect", map[string]any{}); r.status != http.StatusNotFound {
		t.Errorf("unknown provider: %d", r.status)
	}
	if r := e.do(admin, "POST", "/api/integrations/ledger/connect", map[string]any{"scopes": []string{"payroll.everything"}}); r.status != http.StatusBadRequest {
		t.Errorf("a scope the provider is not configured for: %d %s", r.status, r.body)
	}
}

// TestIntegrationRefreshRefused: a refresh token the provider no longer
// honours (revoked there) marks the credential as needing reconnection,
// erases its sealed values and is audited; connecting again restores it.
func TestIntegrationRefreshRefused(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	id := e.connect(admin)
	e.provider.set(func(a *authServer) {
		for k := range a.refresh {
			a.refresh[k] = false
		}
	})
	r := e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "invalid_grant") || !strings.Contains(string(r.body), "connected again") {
		t.Fatalf("refused refresh: %d %s", r.status, r.body)
	}
	s := e.sealed(id)
	if s.status != "needs_reconnect" || s.refresh != nil || s.access != nil || s.kid != nil {
		t.Fatalf("after invalid_grant: %+v", s)
	}
	if n := e.events("integration.refresh.failed"); n != 1 {
		t.Errorf("%d refresh.failed events", n)
	}
	list := e.do(admin, "GET", "/api/integrations", nil).json(t)["integrations"].([]any)
	if got := list[0].(map[string]any); got["status"] != "needs_reconnect" || got["status_reason"] != "invalid_grant" {
		t.Errorf("listed: %v", got)
	}
	if r := e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil); r.status != http.StatusConflict {
		t.Errorf("refresh of a credential needing reconnection: %d", r.status)
	}
	// Connecting again reuses the row.
	if again := e.connect(admin); again != id {
		t.Errorf("reconnect made a new row %s (was %s)", again, id)
	}
	if s := e.sealed(id); s.status != "connected" || s.refresh == nil {
		t.Errorf("after reconnecting: %+v", s)
	}
	// A provider that cannot be reached changes nothing.
	e.provider.set(func(a *authServer) { a.failToken = http.StatusInternalServerError })
	before := e.sealed(id)
	if r := e.do(admin, "POST", "/api/integrations/"+id+"/refresh", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("refresh with the provider down: %d %s", r.status, r.body)
	}
	if after := e.sealed(id); after.status != "connected" || string(after.refresh) != string(before.refresh) {
		t.Error("a failed refresh changed the credential")
	}
}

// TestIntegrationCiphertextMovedFailsToOpen: a sealed refresh token copied
// into another organization's row does not open there; the refresh is
// refused and the failure audited, the values kept.
func TestIntegrationCiphertextMovedFailsToOpen(t *testing.T) {
	e := setup(t)
	acme := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	globex := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	aID, gID := e.connect(acme), e.connect(globex)
	e.exec(`UPDATE integration_credentials SET refresh_token_enc = (SELECT refresh_token_enc FROM integration_credentials WHERE id = $1) WHERE id = $2`, aID, gID)
	r := e.do(globex, "POST", "/api/integrations/"+gID+"/refresh", nil)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "cannot be decrypted") {
		t.Fatalf("refresh with a moved ciphertext: %d %s", r.status, r.body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'fieldcrypt.value_unreadable' AND target_id = $1`, gID); n != 1 {
		t.Errorf("%d unreadable events", n)
	}
	if s := e.sealed(gID); s.refresh == nil || s.status != "connected" {
		t.Error("an unreadable value was erased (a restored key could still open it)")
	}
	// acme's own credential still works.
	if r := e.do(acme, "POST", "/api/integrations/"+aID+"/refresh", nil); r.status != http.StatusOK {
		t.Errorf("acme refresh: %d %s", r.status, r.body)
	}
}

// TestIntegrationRevocationFailure: when the provider does not confirm
// the revocation nothing changes, unless the admin forces it.
func TestIntegrationRevocationFailure(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	id := e.connect(admin)
	e.provider.set(func(a *authServer) { a.failRevoke = true })
	r := e.do(admin, "DELETE", "/api/integrations/"+id, nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "force=true") {
		t.Fatalf("disconnect with revocation down: %d %s", r.status, r.body)
	}
	if e.credentialCount() != 1 || e.events("integration.revoke.failed") != 1 {
		t.Fatal("a failed revocation changed something or was not audited")
	}
	if r := e.do(admin, "DELETE", "/api/integrations/"+id+"?force=maybe", nil); r.status != http.StatusBadRequest {
		t.Errorf("force=maybe: %d", r.status)
	}
	r = e.do(admin, "DELETE", "/api/integrations/"+id+"?force=true", nil)
	if r.status != http.StatusOK || r.json(t)["revocation"] != "failed_forgotten_anyway" || e.credentialCount() != 0 {
		t.Fatalf("forced disconnect: %d %s", r.status, r.body)
	}
}

// TestIntegrationConnectNeedsASession: an API token cannot start a flow
// (the provider returns to a browser session).
func TestIntegrationConnectNeedsASession(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	r := e.do(admin, "POST", "/api/tokens", map[string]any{"name": "ci", "role": "admin", "venue_codes": []string{}, "expires_in_days": 1})
	if r.status != http.StatusCreated {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	tok := r.json(t)["token"].(string)
	r = e.do(e.client(), "POST", "/api/integrations/ledger/connect", map[string]any{}, "Authorization", "Bearer "+tok)
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "browser session") {
		t.Fatalf("connect with a token: %d %s", r.status, r.body)
	}
	if r := e.do(e.client(), "GET", "/api/integrations", nil, "Authorization", "Bearer "+tok); r.status != http.StatusOK {
		t.Errorf("list with an admin token: %d", r.status)
	}
}
