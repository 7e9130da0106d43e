package api

import (
	"net/http"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Issue 10, break 1: a token minted by a token survived its creator. An
// admin's token T1 minted admin token T2 (recorded as made by nobody);
// demoting or removing the admin revoked T1 but not T2, and T2 could mint
// more tokens, change roles and invite the removed admin back.
func TestTokenChainDiesWithItsPerson(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action func(e *env, admin *http.Client, uid string) resp
	}{
		{"demoted", func(e *env, admin *http.Client, uid string) resp {
			return e.do(admin, http.MethodPatch, "/api/members/"+uid, map[string]any{"role": "producer", "venue_codes": []string{}})
		}},
		{"removed", func(e *env, admin *http.Client, uid string) resp {
			return e.do(admin, http.MethodDelete, "/api/members/"+uid, nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			acme := e.orgs["acme"]
			admin := e.signIn(acme.email(rampart.RoleAdmin))
			eve := acme.users[rampart.RoleExecutiveProducer]
			e.promote(acme.org.ID, eve.ID, rampart.RoleAdmin)
			eveC := e.signIn(eve.Email)

			t1 := e.mintToken(eveC, "", "t1", "admin", 30)
			t2 := e.mintToken(e.client(), t1, "t2", "admin", 30)
			t3 := e.mintToken(e.client(), t2, "t3", "viewer", 30)
			// Every token traces to Eve; each minted one names its parent.
			if n := e.scalar(`SELECT count(*)::int FROM api_tokens WHERE organization_id = $1 AND created_by = $2`, acme.org.ID, eve.ID); n != 3 {
				t.Fatalf("%d of 3 tokens trace to their person", n)
			}
			if n := e.scalar(`SELECT count(*)::int FROM api_tokens c JOIN api_tokens p ON c.parent_token_id = p.id
WHERE c.name IN ('t2', 't3') AND p.name IN ('t1', 't2')`); n != 2 {
				t.Fatalf("%d of 2 minted tokens name their parent", n)
			}
			// The attacker's plan B: T2 invites someone while it still can.
			if r := e.bearer(t2, http.MethodPost, "/api/invites", inviteBody("friend@outside.example", rampart.RoleAdmin)); r.status != http.StatusCreated {
				t.Fatalf("invite through t2: %d %s", r.status, r.body)
			}

			if r := tc.action(e, admin, eve.ID.String()); r.status/100 != 2 {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}

			before := e.grantCounts(acme.org.ID)
			for name, raw := range map[string]string{"t1": t1, "t2": t2, "t3": t3} {
				if r := e.bearer(raw, http.MethodGet, "/api/me", nil); r.status != http.StatusUnauthorized {
					t.Errorf("%s after its person was %s: %d, want 401", name, tc.name, r.status)
				}
			}
			// The attack: the surviving token mints, re-grants and invites back.
			attempts := []struct {
				method, path string
				body         any
			}{
				{http.MethodPost, "/api/tokens", map[string]any{"name": "t4", "role": "admin", "venue_codes": []string{}, "expires_in_days": 30}},
				{http.MethodPatch, "/api/members/" + acme.users[rampart.RoleViewer].ID.String(), map[string]any{"role": "admin", "venue_codes": []string{}}},
				{http.MethodPost, "/api/invites", inviteBody(eve.Email, rampart.RoleAdmin)},
			}
			for _, a := range attempts {
				if r := e.bearer(t2, a.method, a.path, a.body); r.status != http.StatusUnauthorized {
					t.Errorf("%s %s with t2: %d %s, want 401", a.method, a.path, r.status, r.body)
				}
			}
			if after := e.grantCounts(acme.org.ID); after != before {
				t.Errorf("the attack changed grants: %+v -> %+v", before, after)
			}
			// Every row of the chain is revoked and audited, and so is the
			// invite made through it.
			if n := e.scalar(`SELECT count(*)::int FROM api_tokens WHERE created_by = $1 AND revoked_at IS NULL`, eve.ID); n != 0 {
				t.Errorf("%d tokens of the chain left live", n)
			}
			if n := e.events("auth.token.revoked"); n != 3 {
				t.Errorf("%d token revocations audited, want 3", n)
			}
			if n := e.scalar(`SELECT count(*)::int FROM invites WHERE email = 'friend@outside.example' AND revoked_at IS NOT NULL`); n != 1 {
				t.Errorf("the invite made through the chain was not revoked")
			}
			link := e.mail.lastLink(t, "friend@outside.example")
			if r := e.openLink(e.client(), link); r.status != http.StatusUnauthorized {
				t.Errorf("invite made through the chain redeemed: %d", r.status)
			}
			if n := e.scalar(`SELECT count(*)::int FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email = 'friend@outside.example'`); n != 0 {
				t.Error("the invite made through the chain created a membership")
			}
		})
	}
}

// A token whose person lost admin rights without the store's revocation
// (a role changed directly in the database, or any path that forgets to
// revoke) does not resolve: the claim function checks the person live,
// and in the same stint as admin as the token was made.
func TestTokenResolvesOnlyWhileItsPersonIsAdmin(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	eve := acme.users[rampart.RoleExecutiveProducer]
	e.promote(acme.org.ID, eve.ID, rampart.RoleAdmin)
	raw := e.mintToken(e.signIn(eve.Email), "", "eve's", "viewer", 30)
	if r := e.bearer(raw, http.MethodGet, "/api/me", nil); r.status != http.StatusOK {
		t.Fatalf("token does not work: %d", r.status)
	}
	e.promote(acme.org.ID, eve.ID, rampart.RoleExecutiveProducer) // no revocation runs
	if n := e.scalar(`SELECT count(*)::int FROM api_tokens WHERE created_by = $1 AND revoked_at IS NULL`, eve.ID); n != 1 {
		t.Fatal("setup: the token row should still be live")
	}
	if r := e.bearer(raw, http.MethodGet, "/api/me", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("token of a person who is no longer admin: %d, want 401", r.status)
	}
	// Re-promoting the person does not revive it: it belongs to an
	// earlier stint as admin.
	e.promote(acme.org.ID, eve.ID, rampart.RoleAdmin)
	if r := e.bearer(raw, http.MethodGet, "/api/me", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("token of an earlier stint after its person is admin again: %d, want 401", r.status)
	}
}

// A token never grants more than it holds: a token it mints expires no
// later than itself, and revoking it revokes everything minted from it.
func TestTokenCannotOutgrowItsParent(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	t1 := e.mintToken(admin, "", "short", "admin", 2)
	t2 := e.mintToken(e.client(), t1, "child", "admin", 30)
	t3 := e.mintToken(e.client(), t2, "grandchild", "viewer", 366)
	// Asked for 30 and 366 days, both expire with the 2-day token.
	if n := e.scalar(`SELECT count(*)::int FROM api_tokens c JOIN api_tokens p ON p.name = 'short'
WHERE c.name IN ('child', 'grandchild') AND c.expires_at = p.expires_at`); n != 2 {
		t.Fatalf("%d of 2 minted tokens expire with their ancestor", n)
	}
	other := e.mintToken(admin, "", "unrelated", "viewer", 30)
	var t1ID string
	rows := e.admin(`SELECT id::text FROM api_tokens WHERE name = 'short'`)
	for rows.Next() {
		if err := rows.Scan(&t1ID); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.do(admin, http.MethodDelete, "/api/tokens/"+t1ID, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke t1: %d %s", r.status, r.body)
	}
	for name, raw := range map[string]string{"t1": t1, "child": t2, "grandchild": t3} {
		if r := e.bearer(raw, http.MethodGet, "/api/me", nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s after t1 was revoked: %d, want 401", name, r.status)
		}
	}
	if r := e.bearer(other, http.MethodGet, "/api/me", nil); r.status != http.StatusOK {
		t.Errorf("an unrelated token was revoked: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM api_tokens WHERE name IN ('child', 'grandchild') AND revoked_reason = 'the token that issued it was revoked'`); n != 2 {
		t.Errorf("%d descendants revoked with the reason, want 2", n)
	}
}

// Issue 10, break 4: an admin invite made before the inviter was demoted
// still granted admin when redeemed afterwards.
func TestInviteDiesWithInviterRights(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	eve := acme.users[rampart.RoleExecutiveProducer]
	e.promote(acme.org.ID, eve.ID, rampart.RoleAdmin)
	eveC := e.signIn(eve.Email)
	for _, addr := range []string{"accomplice@outside.example", "second@outside.example"} {
		if r := e.do(eveC, http.MethodPost, "/api/invites", inviteBody(addr, rampart.RoleAdmin)); r.status != http.StatusCreated {
			t.Fatalf("invite: %d %s", r.status, r.body)
		}
	}
	// The store path: demotion revokes the invites Eve can no longer make.
	if r := e.do(admin, http.MethodPatch, "/api/members/"+eve.ID.String(), map[string]any{"role": "producer", "venue_codes": []string{}}); r.status != http.StatusOK {
		t.Fatalf("demote: %d %s", r.status, r.body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM invites WHERE created_by = $1 AND revoked_at IS NOT NULL`, eve.ID); n != 2 {
		t.Errorf("%d of Eve's 2 invites revoked on demotion", n)
	}
	if r := e.openLink(e.client(), e.mail.lastLink(t, "accomplice@outside.example")); r.status != http.StatusUnauthorized {
		t.Errorf("invite redeemed after its inviter was demoted: %d", r.status)
	}
	// The redemption path: even an invite left pending (the revocation
	// bypassed, e.g. a role changed in the database) re-checks the
	// inviter's live rights and changes nothing.
	e.exec(`UPDATE invites SET revoked_at = NULL WHERE email = 'second@outside.example'`)
	members := e.scalar(`SELECT count(*)::int FROM memberships WHERE organization_id = $1`, acme.org.ID)
	if r := e.openLink(e.client(), e.mail.lastLink(t, "second@outside.example")); r.status != http.StatusUnauthorized {
		t.Errorf("pending invite of a demoted inviter redeemed: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM memberships WHERE organization_id = $1`, acme.org.ID); n != members {
		t.Errorf("memberships %d -> %d", members, n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM invites WHERE email = 'second@outside.example' AND redeemed_at IS NULL`); n != 1 {
		t.Error("the refused invite was consumed")
	}
	if n := e.events("auth.invite.inviter_lost_rights"); n != 1 {
		t.Errorf("%d refusals audited, want 1", n)
	}
	e.exec(`UPDATE invites SET revoked_at = NULL WHERE email = 'second@outside.example'`)
	// Re-promoting the inviter does not revive it (an earlier stint), but
	// an invite made in the new stint works: the check is live.
	e.promote(acme.org.ID, eve.ID, rampart.RoleAdmin)
	if r := e.openLink(e.client(), e.mail.lastLink(t, "second@outside.example")); r.status != http.StatusUnauthorized {
		t.Errorf("invite of an earlier stint redeemed after re-promotion: %d", r.status)
	}
	if r := e.do(e.signIn(eve.Email), http.MethodPost, "/api/invites", inviteBody("third@outside.example", rampart.RoleViewer)); r.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	c := e.client()
	if r := e.openLink(c, e.mail.lastLink(t, "third@outside.example")); r.status != http.StatusOK {
		t.Fatalf("invite of a live admin: %d %s", r.status, r.body)
	}
}

type grantCounts struct{ tokens, liveTokens, invites, members, admins int }

func (e *env) grantCounts(org any) grantCounts {
	return grantCounts{
		tokens:     e.scalar(`SELECT count(*)::int FROM api_tokens WHERE organization_id = $1`, org),
		liveTokens: e.scalar(`SELECT count(*)::int FROM api_tokens WHERE organization_id = $1 AND revoked_at IS NULL`, org),
		invites:    e.scalar(`SELECT count(*)::int FROM invites WHERE organization_id = $1`, org),
		members:    e.scalar(`SELECT count(*)::int FROM memberships WHERE organization_id = $1`, org),
		admins:     e.scalar(`SELECT count(*)::int FROM memberships WHERE organization_id = $1 AND role = 'admin'`, org),
	}
}

// mintToken issues an API token through c's session, or through the
// bearer token via when it is not empty, and returns the raw JWT.
func (e *env) mintToken(c *http.Client, via, name, role string, days int) string {
	e.t.Helper()
	body := map[string]any{"name": name, "role": role, "venue_codes": []string{}, "expires_in_days": days}
	var r resp
	if via != "" {
		r = e.bearer(via, http.MethodPost, "/api/tokens", body)
	} else {
		r = e.do(c, http.MethodPost, "/api/tokens", body)
	}
	if r.status != http.StatusCreated {
		e.t.Fatalf("mint %s: %d %s", name, r.status, r.body)
	}
	return r.json(e.t)["token"].(string)
}

// bearer sends a request with an API token and no cookies.
func (e *env) bearer(raw, method, path string, body any) resp {
	e.t.Helper()
	return e.do(e.client(), method, path, body, "Authorization", "Bearer "+raw)
}
