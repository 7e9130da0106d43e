package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

// withSignup is e with its server replaced by one in sign-up mode mode
// (same database and mailbox).
func (e *env) withSignup(mode signin.Mode) *env {
	e.t.Helper()
	srv, api := e.serverWith(func(o *Options) { o.Signup = mode })
	e2 := *e
	e2.srv, e2.api = srv, api
	return &e2
}

func signupBody(email, name string) map[string]string {
	return map[string]string{"email": email, "organization_name": name}
}

func TestSignupClosedModesRefuseAndWriteNothing(t *testing.T) {
	e := setup(t)
	for mode, want := range map[signin.Mode]string{"": "closed", signin.Operator: "closed", signin.Invite: "by invitation"} {
		m := e.withSignup(mode)
		p := problem(t, m.do(m.client(), http.MethodPost, "/api/auth/signup", signupBody("new@founder.example", "Founder Co")), http.StatusForbidden)
		if !strings.Contains(p["detail"].(string), want) {
			t.Errorf("mode %q: %v", mode, p)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM signups`); n != 0 {
		t.Fatalf("%d sign-ups stored while closed", n)
	}
	if n := e.mail.count("new@founder.example"); n != 0 {
		t.Fatalf("%d mails sent while closed", n)
	}
}

func TestOpenSignupCreatesAnOrganizationOnConfirmation(t *testing.T) {
	e := setup(t).withSignup(signin.Open)
	orgs := e.scalar(`SELECT count(*)::int FROM organizations`)
	r := e.do(e.client(), http.MethodPost, "/api/auth/signup", signupBody("Founder@Startup.example", "Startup Events"))
	if r.status != http.StatusAccepted {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	if n := e.scalar(`SELECT count(*)::int FROM organizations`); n != orgs {
		t.Fatal("an organization was created before the address was confirmed")
	}
	link := e.mail.lastLink(t, "founder@startup.example")
	c := e.client()
	if r := e.openLink(c, link); r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	me := e.do(c, http.MethodGet, "/api/me", nil).json(t)
	if me["role"] != "admin" || me["organization"].(map[string]any)["slug"] != "startup-events" {
		t.Fatalf("me after sign-up: %v", me)
	}
	for _, a := range []string{"auth.signup.requested", "organization.created", "membership.created", "auth.signup", "auth.login.succeeded"} {
		if e.events(a) < 1 {
			t.Errorf("no %s event", a)
		}
	}
	// Replay: refused, audited, nothing more created.
	if r := e.openLink(e.client(), link); r.status != http.StatusUnauthorized {
		t.Fatalf("replay: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM organizations`); n != orgs+1 {
		t.Fatalf("organizations %d, want %d", n, orgs+1)
	}
	if e.events("auth.signup.refused") != 1 {
		t.Error("the replay was not audited")
	}
	// The same name again gets the next free slug.
	e.do(e.client(), http.MethodPost, "/api/auth/signup", signupBody("other@startup.example", "Startup Events"))
	c2 := e.client()
	if r := e.openLink(c2, e.mail.lastLink(t, "other@startup.example")); r.status != http.StatusOK {
		t.Fatalf("second confirm: %d %s", r.status, r.body)
	}
	if slug := e.do(c2, http.MethodGet, "/api/me", nil).json(t)["organization"].(map[string]any)["slug"]; slug != "startup-events-2" {
		t.Fatalf("second organization's slug %v", slug)
	}
}

func TestOpenSignupAbuse(t *testing.T) {
	e := setup(t).withSignup(signin.Open)
	// Bad input: precise 400s, nothing stored.
	for _, body := range []any{
		signupBody("not an address", "Co"),
		signupBody("a@b.example", ""),
		signupBody("a@b.example", strings.Repeat("n", 201)),
		signupBody("a@b.example", "bad\x00name"),
		`{"email":"a@b.example"}`,
		`{"email":"a@b.example","organization_name":"Co","admin":true}`,
	} {
		if r := e.do(e.client(), http.MethodPost, "/api/auth/signup", body); r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.status, r.body)
		}
	}
	if n := e.scalar(`SELECT count(*)::int FROM signups`); n != 0 {
		t.Fatalf("%d sign-ups stored from bad input", n)
	}
	// Mail bombing one address: the answer stays the same, the links stop at 3.
	for range 5 {
		if r := e.do(e.client(), http.MethodPost, "/api/auth/signup", signupBody("victim@target.example", "Spam Co")); r.status != http.StatusAccepted {
			t.Fatalf("signup: %d %s", r.status, r.body)
		}
	}
	e.mail.waitCount(t, "victim@target.example", 3)
	if n := e.scalar(`SELECT count(*)::int FROM signups WHERE email = 'victim@target.example'`); n != 3 {
		t.Fatalf("%d live links for one address, want 3", n)
	}
	// An existing member's link for another person is refused while signed in.
	victim := e.mail.lastLink(t, "victim@target.example")
	admin := e.signIn(e.orgs["acme"].email("admin"))
	if r := e.openLink(admin, victim); r.status != http.StatusUnauthorized {
		t.Fatalf("another address's sign-up link while signed in: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM organizations WHERE name = 'Spam Co'`); n != 0 {
		t.Fatal("an organization was created through someone else's link")
	}
}

// Invite-only sign-up: links an operator sent redeem, links people asked
// for themselves (while sign-up was open) no longer do; with sign-up
// operator-only, no sign-up link redeems.
func TestSignupLinksFollowTheMode(t *testing.T) {
	e := setup(t)
	mint := func(email, by string) string {
		token, hash := auth.NewLinkToken()
		err := e.store.AsService(context.Background(), "test", func(ctx context.Context, tx *store.ServiceTx) error {
			_, err := tx.SignIn().CreateSignup(ctx, store.SignupRequest{Email: email, OrganizationName: "Org of " + email, InvitedBy: by}, hash, store.ClientInfo{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return e.srv.URL + "/auth/link?token=" + token
	}
	invited, asked := mint("invited@x.example", "cli:operator"), mint("asked@x.example", "")
	inv := e.withSignup(signin.Invite)
	if r := inv.openLink(inv.client(), strings.Replace(asked, e.srv.URL, inv.srv.URL, 1)); r.status != http.StatusUnauthorized {
		t.Errorf("a self-requested link under invite-only: %d", r.status)
	}
	op := e.withSignup(signin.Operator)
	if r := op.openLink(op.client(), strings.Replace(invited, e.srv.URL, op.srv.URL, 1)); r.status != http.StatusUnauthorized {
		t.Errorf("an invited link under operator-only: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM signups WHERE used_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d links consumed by refused redemptions", n)
	}
	c := inv.client()
	if r := inv.openLink(c, strings.Replace(invited, e.srv.URL, inv.srv.URL, 1)); r.status != http.StatusOK {
		t.Fatalf("an invited link under invite-only: %d %s", r.status, r.body)
	}
	if me := inv.do(c, http.MethodGet, "/api/me", nil).json(t); me["role"] != "admin" {
		t.Fatalf("me: %v", me)
	}
}
