package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// auditOrg creates an organization with an admin and two venues (a few
// audit events), and returns the admin's claims.
func auditOrg(t *testing.T, s *Store, slug string) rampart.Claims {
	t.Helper()
	var c rampart.Claims
	err := s.AsService(context.Background(), "test: "+slug, func(ctx context.Context, tx *ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, "Org "+slug, slug)
		if err != nil {
			return err
		}
		admin, err := tx.Provision().UpsertUser(ctx, "admin@"+slug+".example", "Admin "+slug)
		if err != nil {
			return err
		}
		if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: admin.ID, Role: rampart.RoleAdmin}); err != nil {
			return err
		}
		for _, code := range []string{"HALL-A", "HALL-B"} {
			if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: code, Name: code + " " + slug}); err != nil {
				return err
			}
		}
		c = rampart.Claims{OrganizationID: org.ID, UserID: admin.ID, Role: rampart.RoleAdmin}
		return nil
	})
	if err != nil {
		t.Fatalf("seed %s: %v", slug, err)
	}
	return c
}

// TestAuditEventsCursorAbove2To31: the viewer's cursor is an event id, a
// bigint. A cursor past 2^31 (and events whose ids are past it) must page
// like any other; the cursor parameter was once typed int4 by PostgreSQL
// ("$6 = 0") and such a cursor failed with 22003 (out of range).
func TestAuditEventsCursorAbove2To31(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	a := auditOrg(t, s, "org-a")
	auditOrg(t, s, "org-b")
	ctx := context.Background()
	page := func(before int64, limit int) []audit.Stored {
		t.Helper()
		var out []audit.Stored
		err := s.InTenant(ctx, a, func(ctx context.Context, tx *TenantTx) error {
			var err error
			out, err = tx.AuditLog().Events(ctx, AuditFilter{Before: before, Limit: limit})
			return err
		})
		if err != nil {
			t.Fatalf("page before %d: %v", before, err)
		}
		return out
	}
	low := page(0, 500)
	if len(low) == 0 {
		t.Fatal("the fixture wrote no events")
	}
	// A cursor above 2^31 with every id below it: the whole log.
	if got := page(1<<31, 500); len(got) != len(low) {
		t.Fatalf("cursor 2^31: %d events, want %d", len(got), len(low))
	}
	// Events whose ids are past 2^31 (the owner moves the identity on).
	superExec(t, db, "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 3000000000)")
	for range 3 {
		err := s.InTenant(ctx, a, func(ctx context.Context, tx *TenantTx) error {
			return tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: "big", Action: audit.ActionVenueUpdated})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	first := page(0, 2)
	if len(first) != 2 || first[0].ID <= 3000000000 || first[1].ID <= 3000000000 {
		t.Fatalf("newest page: %+v", ids(first))
	}
	next := page(first[1].ID, 2)
	if len(next) != 2 || next[0].ID >= first[1].ID || next[0].ID <= 3000000000 || next[1].ID >= 1<<31 {
		t.Fatalf("page after cursor %d: %v", first[1].ID, ids(next))
	}
	if got := page(1<<62, 500); len(got) != len(low)+3 {
		t.Fatalf("cursor 2^62: %d events, want %d", len(got), len(low)+3)
	}
}

func ids(evs []audit.Stored) []int64 {
	out := make([]int64, len(evs))
	for i := range evs {
		out[i] = evs[i].ID
	}
	return out
}

// TestResolveOrganization: operators name an organization by id or by
// slug, through one function; an unknown value is a not-found error that
// names it, and a value that is one organization's id and another's slug
// is refused rather than guessed.
func TestResolveOrganization(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	a := auditOrg(t, s, "org-a")
	ctx := context.Background()
	// A slug that reads as another organization's id: new slugs may not
	// (rampart.ValidateOrganization), but a database from before that rule
	// may hold one, so it is inserted directly.
	var twin rampart.Organization
	err := s.AsService(ctx, "test: twin", func(ctx context.Context, tx *ServiceTx) error {
		if _, err := tx.Provision().CreateOrganization(ctx, "Twin", a.OrganizationID.String()); rampart.ErrorKind(err) != rampart.KindInvalid {
			return fmt.Errorf("a UUID-shaped slug: %v, want KindInvalid", err)
		}
		return tx.queryRow(ctx, sqlCreateOrganization, "Twin", a.OrganizationID.String()).Scan(&twin.ID, &twin.Name, &twin.Slug, &twin.CreatedAt)
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref    string
		want   string // organization slug, or "" for an error
		kind   rampart.Kind
		detail string
	}{
		{"org-a", "org-a", 0, ""},
		{twin.ID.String(), twin.Slug, 0, ""},
		{strings.ToUpper(twin.ID.String()), twin.Slug, 0, ""},
		{"nope", "", rampart.KindNotFound, `no organization with id or slug "nope"`},
		{"6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11", "", rampart.KindNotFound, `"6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11"`},
		{"", "", rampart.KindInvalid, "an organization id or slug is required"},
		{a.OrganizationID.String(), "", rampart.KindConflict, `is both the id of one organization (slug "org-a") and the slug of another (id ` + twin.ID.String() + ")"},
	}
	for _, tc := range cases {
		org, err := s.ResolveOrganization(ctx, tc.ref)
		if tc.want != "" {
			if err != nil || org.Slug != tc.want {
				t.Errorf("%q: %+v %v, want %s", tc.ref, org, err, tc.want)
			}
			continue
		}
		if err == nil || rampart.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: error %v (kind %v), want kind %v containing %q", tc.ref, err, rampart.ErrorKind(err), tc.kind, tc.detail)
		}
	}
	// The same function inside a service transaction (killswitch uses it there).
	err = s.AsService(ctx, "test: resolve in a transaction", func(ctx context.Context, tx *ServiceTx) error {
		org, err := tx.Provision().ResolveOrganization(ctx, "org-a")
		if err == nil && org.ID != a.OrganizationID {
			t.Errorf("in a transaction: %+v", org)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addEvents writes n audit events to the organization of c.
func addEvents(t *testing.T, s *Store, c rampart.Claims, n int) {
	t.Helper()
	err := s.InTenant(context.Background(), c, func(ctx context.Context, tx *TenantTx) error {
		for i := range n {
			if err := tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: fmt.Sprint(i), Action: audit.ActionVenueUpdated}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sealNow(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.Audit().SealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func anchorsNow(t *testing.T, s *Store) audit.Anchors {
	t.Helper()
	a, _, err := s.Audit().Anchors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// anchoredProblems verifies the log against anchors and returns the
// problems as text.
func anchoredProblems(t *testing.T, s *Store, a audit.Anchors) []string {
	t.Helper()
	rep, err := s.Audit().VerifyAnchored(context.Background(), nil, &a, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range rep.Chains {
		for _, p := range c.Problems {
			out = append(out, p.String())
		}
	}
	return out
}

// truncate is the attack anchors exist for: as the superuser, delete a
// chain's seals from seq on and every event they (and later ones) cover.
func truncate(t *testing.T, db *pgtest.DB, org uuid.UUID, seq int64) {
	t.Helper()
	superExec(t, db, "SET session_replication_role = replica",
		fmt.Sprintf(`DELETE FROM audit_events WHERE organization_id = '%s'
  AND xact_id >= (SELECT from_xid FROM audit_seals WHERE chain = '%s' AND seq = %d)`, org, org, seq),
		fmt.Sprintf(`DELETE FROM audit_seals WHERE chain = '%s' AND seq >= %d`, org, seq))
}

// TestAuditAnchorsCatchTruncation: anchors taken, the log grows and is
// sealed, and verification against the anchors passes. Then a superuser
// deletes the newest seals and their events: plain verification cannot
// tell (what is left is a valid, shorter chain), verification against
// the anchors fails and names the chain and the seal — also after the
// sealer has re-sealed the chain over what was left.
func TestAuditAnchorsCatchTruncation(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	a := auditOrg(t, s, "org-a")
	b := auditOrg(t, s, "org-b")
	sealNow(t, s)
	addEvents(t, s, a, 3)
	sealNow(t, s)
	anchors := anchorsNow(t, s)
	chain := a.OrganizationID.String()
	head, ok := anchors.For(chain)
	if !ok || head.Seq != 2 || len(head.HeadMAC) != 32 {
		t.Fatalf("anchor of %s: %+v %v (all: %+v)", chain, head, ok, anchors.Chains)
	}
	for _, want := range []string{b.OrganizationID.String(), audit.PlatformChain} {
		if _, ok := anchors.For(want); !ok {
			t.Fatalf("no anchor for chain %s: %+v", want, anchors.Chains)
		}
	}
	// The log grows and is sealed: it still extends every anchor.
	addEvents(t, s, a, 2)
	addEvents(t, s, b, 2)
	sealNow(t, s)
	if probs := anchoredProblems(t, s, anchors); len(probs) > 0 {
		t.Fatalf("a grown log fails against its anchors: %v", probs)
	}
	// The attack: seals 2 and 3 of org-a and their events deleted.
	truncate(t, db, a.OrganizationID, 2)
	if rep, probs := verifyProblems(t, s); len(probs) > 0 || rep.Events == 0 {
		t.Fatalf("plain verify was expected to miss the truncation (documented blind spot), got %v", probs)
	}
	probs := anchoredProblems(t, s, anchors)
	want := "chain " + chain + ", seal 2: anchored seal is missing"
	if len(probs) != 1 || !strings.Contains(probs[0], want) || !strings.Contains(probs[0], "the chain ends at seal 1") {
		t.Fatalf("against the anchors: %v, want one problem containing %q", probs, want)
	}
	// The sealer re-seals what the attacker wrote after the cut: seal 2
	// exists again, with another MAC.
	addEvents(t, s, a, 1)
	sealNow(t, s)
	if _, probs := verifyProblems(t, s); len(probs) > 0 {
		t.Fatalf("plain verify after re-sealing: %v", probs)
	}
	probs = anchoredProblems(t, s, anchors)
	if len(probs) != 1 || !strings.Contains(probs[0], "chain "+chain+", seal 2: seal does not match the anchored head") {
		t.Fatalf("against the anchors after re-sealing: %v", probs)
	}
	// One organization only (--org): the same finding; another one passes.
	rep, err := s.Audit().VerifyAnchored(context.Background(), &a.OrganizationID, &anchors, nil)
	if err != nil || rep.OK() || len(rep.Chains) != 1 || rep.Chains[0].AnchoredSeal != 2 {
		t.Fatalf("--org: %+v %v", rep, err)
	}
	rep, err = s.Audit().VerifyAnchored(context.Background(), &b.OrganizationID, &anchors, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("--org of the untouched organization: %+v %v", rep, err)
	}
	// The whole chain erased: still named.
	truncate(t, db, a.OrganizationID, 1)
	probs = anchoredProblems(t, s, anchors)
	if len(probs) != 1 || !strings.Contains(probs[0], "chain "+chain+", seal 2: anchored seal is missing") || !strings.Contains(probs[0], "the chain has no seals") {
		t.Fatalf("against the anchors after erasing the chain: %v", probs)
	}
}

// TestAuditAnchorsBadReferences: an anchor file naming a chain this
// database has never had is refused as invalid (wrong file or wrong
// database), and --org with a chain the file has no head for is too.
func TestAuditAnchorsBadReferences(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	a := auditOrg(t, s, "org-a")
	sealNow(t, s)
	anchors := anchorsNow(t, s)
	stranger := audit.Anchor{Chain: "6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11", Seq: 4, HeadMAC: make([]byte, 32)}
	bad := anchors
	bad.Chains = append(slices.Clone(anchors.Chains), stranger)
	_, err := s.Audit().VerifyAnchored(context.Background(), nil, &bad, nil)
	if rampart.ErrorKind(err) != rampart.KindInvalid || !strings.Contains(err.Error(), "unknown chain "+stranger.Chain) {
		t.Fatalf("unknown chain: %v", err)
	}
	var other rampart.Organization
	err = s.AsService(context.Background(), "test: unanchored", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		other, err = tx.Provision().CreateOrganization(ctx, "Later", "later")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Audit().VerifyAnchored(context.Background(), &other.ID, &anchors, nil)
	if rampart.ErrorKind(err) != rampart.KindInvalid || !strings.Contains(err.Error(), "no head for chain "+other.ID.String()) {
		t.Fatalf("--org without an anchor: %v", err)
	}
	// Chains created after the anchor are verified, just not anchored.
	rep, err := s.Audit().VerifyAnchored(context.Background(), nil, &anchors, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("a chain newer than the anchors: %+v %v", rep, err)
	}
	for _, c := range rep.Chains {
		if (c.Chain == a.OrganizationID.String()) != (c.AnchoredSeal == 1) && c.Chain != audit.PlatformChain {
			t.Fatalf("chain %s anchored at %d", c.Chain, c.AnchoredSeal)
		}
	}
}

// TestAuditAnchorsSurviveRetention: retention deletes the events of old
// sealed ranges and appends a checkpoint; it never deletes seal rows. An
// anchor on a purged seal, and one on the checkpoint itself, still verify.
func TestAuditAnchorsSurviveRetention(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	old := time.Now().AddDate(0, -30, 0)
	var org rampart.Organization
	err := s.AsService(ctx, "test: an old organization", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		org, err = tx.Provision().CreateOrganization(ctx, "Old", "old-org")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	chain := org.ID.String()
	// Only old events in its chain (the creation event removed as the
	// retention test does), sealed, then anchored.
	superExec(t, db, "SET session_replication_role = replica", fmt.Sprintf("DELETE FROM audit_events WHERE organization_id = '%s'", org.ID))
	err = s.AsService(ctx, "test: old events", func(ctx context.Context, tx *ServiceTx) error {
		for i := range 4 {
			if err := tx.recordAt(ctx, audit.Event{OrganizationID: &org.ID, ActorType: audit.ActorUser, ActorID: fmt.Sprint(i),
				Action: audit.ActionVenueUpdated}, old.Add(time.Duration(i)*time.Minute)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sealNow(t, s)
	before := anchorsNow(t, s)
	if h, ok := before.For(chain); !ok || h.Seq != 1 || h.Kind != audit.SealKind {
		t.Fatalf("anchor before the purge: %+v", before.Chains)
	}
	res, err := s.Audit().Purge(ctx, time.Now().AddDate(0, -24, 0))
	if err != nil || len(res) != 1 || res[0].Chain != chain || res[0].Events != 4 {
		t.Fatalf("purge: %+v %v", res, err)
	}
	if probs := anchoredProblems(t, s, before); len(probs) > 0 {
		t.Fatalf("anchor on a purged seal: %v", probs)
	}
	after := anchorsNow(t, s)
	if h, ok := after.For(chain); !ok || h.Seq != 2 || h.Kind != audit.PurgeKind {
		t.Fatalf("anchor after the purge: %+v", after.Chains)
	}
	// Life goes on: both anchors still hold.
	err = s.AsService(ctx, "test: a new event", func(ctx context.Context, tx *ServiceTx) error {
		return tx.RecordAudit(ctx, audit.Event{OrganizationID: &org.ID, ActorType: audit.ActorUser, ActorID: "new", Action: audit.ActionVenueUpdated})
	})
	if err != nil {
		t.Fatal(err)
	}
	sealNow(t, s)
	for name, a := range map[string]audit.Anchors{"before the purge": before, "on the checkpoint": after} {
		if probs := anchoredProblems(t, s, a); len(probs) > 0 {
			t.Fatalf("anchor %s, after new seals: %v", name, probs)
		}
	}
	// Truncating behind the checkpoint is still caught.
	superExec(t, db, "SET session_replication_role = replica", fmt.Sprintf(`DELETE FROM audit_seals WHERE chain = '%s' AND seq >= 2`, chain))
	if probs := anchoredProblems(t, s, after); !slicesContains(probs, "chain "+chain+", seal 2: anchored seal is missing") {
		t.Fatalf("checkpoint deleted: %v", probs)
	}
}

// TestSealLogCarriesTheHeadMAC: every seal logs its chain's head MAC, and
// the log scrubber keeps it: head MACs are public (anchoring compares
// them), while other secret-looking values stay redacted.
func TestSealLogCarriesTheHeadMAC(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(observe.NewScrubbingHandler(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil)))
	s := openStore(t, db, Options{Logger: log})
	a := auditOrg(t, s, "org-a")
	sealNow(t, s)
	head, ok := anchorsNow(t, s).For(a.OrganizationID.String())
	if !ok {
		t.Fatal("no head")
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	want := fmt.Sprintf(`"head_mac":"%x"`, head.HeadMAC)
	if !strings.Contains(out, want) {
		t.Fatalf("the seal log does not carry %s:\n%s", want, out)
	}
	// Only a value typed as a public MAC is spared: the same hex as a plain
	// string (under any key, head_mac included), a public MAC under a
	// sensitive key, and a "public MAC" that is not MAC-shaped are still
	// redacted.
	mu.Lock()
	buf.Reset()
	mu.Unlock()
	hexMAC := fmt.Sprintf("%x", head.HeadMAC)
	short := audit.PublicMAC(bytes.Repeat([]byte{0x5a, 0x1f}, 8))
	log.Info("probe", "head_mac", hexMAC, "digest", hexMAC, "token_mac", audit.PublicMAC(head.HeadMAC),
		"secret", audit.PublicMAC(head.HeadMAC), "other", short)
	mu.Lock()
	out = buf.String()
	mu.Unlock()
	for _, leak := range []string{hexMAC, hex.EncodeToString(short)} {
		if strings.Contains(out, leak) {
			t.Fatalf("the scrubber let %q through: %s", leak, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
