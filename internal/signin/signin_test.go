package signin_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestRequestTouchesNoDatabaseBeforeTheAnswer: the part of a sign-in link
// request that runs before the answer is the same for a member and a
// stranger and does no database work at all (the service has no store).
func TestRequestTouchesNoDatabaseBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	s := signin.New(signin.Options{Mode: signin.Open})
	for _, email := range []string{"admin@acme.example", "nobody@nowhere.example"} {
		start, err := s.RequestLoginLink(context.Background(), email, store.ClientInfo{})
		if err != nil || start == nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	// start is not called: its work would need the store.
}

// TestSignInLinks: the background work mails members only and records
// every request; a link that does not redeem is recorded and answered as
// ErrLinkInvalid; sign-up is refused outside open mode before any write.
func TestSignInLinks(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	box := &mail.Memory{}
	s := signin.New(signin.Options{Store: f.Store, Mailer: box, BaseURL: "https://rampart.example", Mode: signin.Operator})
	member, stranger := "admin@acme.example", "nobody@nowhere.example"
	for _, email := range []string{member, stranger} {
		start, err := s.RequestLoginLink(ctx, email, store.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		start()
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(box.To(member)) != 1 || len(box.To(stranger)) != 0 {
		t.Fatalf("mailed the member %d times and the stranger %d times", len(box.To(member)), len(box.To(stranger)))
	}
	if n := f.Count(t, `SELECT count(*)::int FROM audit_events WHERE action = 'auth.login_link.requested'`); n != 2 {
		t.Fatalf("%d requests recorded, want 2", n)
	}
	if link, err := s.SendLoginLink(ctx, stranger, store.ClientInfo{}); err != nil || link != "" {
		t.Fatalf("the operator's link for a stranger: %q %v", link, err)
	}

	bogus := sha256.Sum256([]byte("no such link"))
	before := f.Count(t, `SELECT count(*)::int FROM audit_events`)
	if _, err := s.Redeem(ctx, bogus[:], nil, store.ClientInfo{}); err != signin.ErrLinkInvalid {
		t.Fatalf("an unknown link: %v", err)
	}
	if after := f.Count(t, `SELECT count(*)::int FROM audit_events`); after != before+1 {
		t.Fatalf("the failed redemption recorded %d events, want 1", after-before)
	}

	for _, mode := range []signin.Mode{signin.Operator, signin.Invite} {
		closed := signin.New(signin.Options{Store: f.Store, Mailer: box, Mode: mode})
		_, err := closed.RequestSignup(ctx, "founder@new.example", "New Co", store.ClientInfo{})
		storetest.Kind(t, "sign-up in "+string(mode)+" mode", err, rampart.KindForbidden)
	}
	open := signin.New(signin.Options{Store: f.Store, Mailer: box, Mode: signin.Open})
	_, err := open.RequestSignup(ctx, "founder@new.example", "", store.ClientInfo{})
	storetest.Kind(t, "sign-up without a name", err, rampart.KindInvalid)
	if n := f.Count(t, `SELECT count(*)::int FROM signups`); n != 0 || len(box.To("founder@new.example")) != 0 {
		t.Fatalf("refused sign-ups wrote %d rows or mailed", n)
	}
}
