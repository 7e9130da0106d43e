package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type issuer struct{}

func (issuer) Issue(id, _ uuid.UUID, _ rampart.Role, _ time.Time) (string, error) {
	return "token-" + id.String(), nil
}

// TestAdministrationRules: only admins manage; a grant is validated and
// never exceeds its grantor; the last admin stays; another organization's
// member, invite or token is not found; an invite's link is mailed only
// after its row commits; an API token is signed and shown once.
func TestAdministrationRules(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	admin, producer := f.Acme.As(rampart.RoleAdmin), f.Acme.As(rampart.RoleProducer)
	box := &mail.Memory{}
	m := member.Mail{Sender: box, LinkURL: func(token string) string { return "https://rampart.example/auth/link?token=" + token }}
	ci := store.ClientInfo{UserAgent: "member test"}

	if list, err := member.List(ctx, f.Store, producer); err != nil || len(list) != len(rampart.Roles) {
		t.Fatalf("a producer lists %d members (%v)", len(list), err)
	}
	storetest.Kind(t, "a producer invites", func() error {
		_, err := member.Invite(ctx, f.Store, m, producer, "new@acme.example", member.Grant{Role: rampart.RoleViewer}, ci)
		return err
	}(), rampart.KindForbidden)
	storetest.Kind(t, "a venue manager without venues", func() error {
		_, err := member.Invite(ctx, f.Store, m, admin, "new@acme.example", member.Grant{Role: rampart.RoleVenueManager}, ci)
		return err
	}(), rampart.KindInvalid)
	storetest.Kind(t, "a bad address", func() error {
		_, err := member.Invite(ctx, f.Store, m, admin, "not an address", member.Grant{Role: rampart.RoleViewer}, ci)
		return err
	}(), rampart.KindInvalid)
	if n := f.Count(t, `SELECT count(*)::int FROM invites`); n != 0 || box.Len() != 0 {
		t.Fatalf("refused invites wrote %d rows and sent %d mails", n, box.Len())
	}
	inv, err := member.Invite(ctx, f.Store, m, admin, "New@Acme.example", member.Grant{Role: rampart.RoleViewer}, ci)
	if err != nil || inv.Delivery != member.Sent || inv.Invite.Email != "new@acme.example" || box.Len() != 1 {
		t.Fatalf("invite: %+v %v (%d mails)", inv, err, box.Len())
	}
	globexAdmin := f.Globex.As(rampart.RoleAdmin)
	storetest.Kind(t, "another organization revokes the invite", member.RevokeInvite(ctx, f.Store, globexAdmin, inv.Invite.ID, ci), rampart.KindNotFound)
	storetest.Kind(t, "another organization removes a member", member.Remove(ctx, f.Store, globexAdmin, producer.UserID, ci), rampart.KindNotFound)
	storetest.Kind(t, "the last admin demotes themself", func() error {
		_, err := member.Update(ctx, f.Store, admin, admin.UserID, member.Grant{Role: rampart.RoleViewer}, ci)
		return err
	}(), rampart.KindConflict)
	if n := f.Count(t, `SELECT count(*)::int FROM memberships WHERE user_id = $1 AND role = 'admin'`, admin.UserID); n != 1 {
		t.Fatal("the last admin lost the role")
	}

	tok, raw, err := member.CreateToken(ctx, f.Store, issuer{}, admin, member.TokenInput{Name: "ci", ExpiresInDays: 30,
		Grant: member.Grant{Role: rampart.RoleViewer}}, ci)
	if err != nil || raw != "token-"+tok.ID.String() || tok.OrganizationID != admin.OrganizationID {
		t.Fatalf("token: %+v %q %v", tok, raw, err)
	}
	storetest.Kind(t, "a token for 400 days", func() error {
		_, _, err := member.CreateToken(ctx, f.Store, issuer{}, admin, member.TokenInput{Name: "long", ExpiresInDays: 400,
			Grant: member.Grant{Role: rampart.RoleViewer}}, ci)
		return err
	}(), rampart.KindInvalid)
	storetest.Kind(t, "another organization revokes the token", member.RevokeToken(ctx, f.Store, globexAdmin, tok.ID, ci), rampart.KindNotFound)
	if err := member.RevokeToken(ctx, f.Store, admin, tok.ID, ci); err != nil {
		t.Fatal(err)
	}

	// The account: an API token has no session to end.
	storetest.Kind(t, "a token signs out", member.SignOut(ctx, f.Store, rampart.Claims{OrganizationID: admin.OrganizationID,
		UserID: uuid.New(), Role: rampart.RoleViewer, TokenID: uuid.New(), PersonID: admin.UserID}, ci), rampart.KindInvalid)
	storetest.Kind(t, "a switch to an organization of someone else", member.SwitchOrganization(ctx, f.Store, admin,
		f.Globex.Organization.ID, ci), rampart.KindForbidden)
	me, err := member.Me(ctx, f.Store, admin)
	if err != nil || me.User == nil || me.Organization.ID != admin.OrganizationID || len(me.Memberships) != 1 {
		t.Fatalf("me: %+v %v", me, err)
	}
}
