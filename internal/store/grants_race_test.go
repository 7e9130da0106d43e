package store

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Races found by the security review of issue 10's fix. Each holds one
// transaction open at the racy moment and lets the other run into it;
// waitForLockWaiter sees the second block on a lock (no sleeps).

func mintAdminToken(t *testing.T, s *Store, c rampart.Claims, name string) rampart.APIToken {
	t.Helper()
	var out rampart.APIToken
	err := s.InTenant(context.Background(), c, func(ctx context.Context, tx *TenantTx) error {
		var err error
		out, err = tx.Tokens().Create(ctx, rampart.APIToken{OrganizationID: c.OrganizationID, Name: name, Role: rampart.RoleAdmin,
			ExpiresAt: time.Now().Add(24 * time.Hour)}, ClientInfo{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitForLockWaiter returns once a backend of db waits on a lock.
func waitForLockWaiter(t *testing.T, db *pgtest.DB) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("no backend waits on a lock")
}

// holdMint mints through claims c and keeps the transaction open until
// release is closed; it sends the new token's id, then its result.
func holdMint(s *Store, c rampart.Claims, invite bool, minted chan<- uuid.UUID, release <-chan struct{}, done chan<- error) {
	done <- s.InTenant(context.Background(), c, func(ctx context.Context, tx *TenantTx) error {
		out, err := tx.Tokens().Create(ctx, rampart.APIToken{OrganizationID: c.OrganizationID, Name: "racy", Role: rampart.RoleAdmin,
			ExpiresAt: time.Now().Add(time.Hour)}, ClientInfo{})
		if err != nil {
			close(minted)
			return err
		}
		if invite {
			h := sha256.Sum256([]byte("racy invite " + out.ID.String()))
			if _, err := tx.Invites().Create(ctx, rampart.Invite{OrganizationID: c.OrganizationID, Email: "mallory@evil.example",
				Role: rampart.RoleAdmin}, h[:], ClientInfo{}); err != nil {
				close(minted)
				return err
			}
		}
		minted <- out.ID
		<-release
		return nil
	})
}

// A child whose mint commits while its parent's revocation waits is
// revoked too, and could not resolve even if it were not.
func TestRevokeCatchesAChildMintedMeanwhile(t *testing.T) {
	t.Parallel()
	db, s, f := grantsFixture(t)
	ctx := context.Background()
	parent := mintAdminToken(t, s, f.a, "parent")
	rc, err := s.Auth().ResolveToken(ctx, parent.ID, parent.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	minted, release, doneMint := make(chan uuid.UUID), make(chan struct{}), make(chan error, 1)
	go holdMint(s, rc.Claims, false, minted, release, doneMint)
	child, ok := <-minted
	if !ok {
		t.Fatal(<-doneMint)
	}
	doneRevoke := make(chan error, 1)
	go func() {
		doneRevoke <- s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
			return tx.Tokens().Revoke(ctx, parent.ID, ClientInfo{})
		})
	}()
	waitForLockWaiter(t, db)
	close(release)
	if err := <-doneMint; err != nil {
		t.Fatal("mint:", err)
	}
	if err := <-doneRevoke; err != nil {
		t.Fatal("revoke:", err)
	}
	for name, id := range map[string]uuid.UUID{"parent": parent.ID, "child": child} {
		if rc, err := s.Auth().ResolveToken(ctx, id, f.a.OrganizationID); err == nil {
			t.Errorf("%s of a revoked chain resolves: %+v", name, rc.Claims)
		}
	}
	var live int
	_ = s.AsService(ctx, "test", func(ctx context.Context, tx *ServiceTx) error {
		return tx.queryRow(ctx, `SELECT count(*) FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`, child).Scan(&live)
	})
	if live != 0 {
		t.Error("the child minted during the revocation was left unrevoked")
	}
}

// A token below a revoked one never resolves, whatever revoked it (here
// SQL that bypasses the store's chain revocation).
func TestTokenBelowARevokedOneDoesNotResolve(t *testing.T) {
	t.Parallel()
	db, s, f := grantsFixture(t)
	ctx := context.Background()
	parent := mintAdminToken(t, s, f.a, "parent")
	rc, err := s.Auth().ResolveToken(ctx, parent.ID, parent.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	child := mintAdminToken(t, s, rc.Claims, "child")
	rc2, err := s.Auth().ResolveToken(ctx, child.ID, child.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	grandchild := mintAdminToken(t, s, rc2.Claims, "grandchild")
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1`, parent.ID); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]uuid.UUID{"child": child.ID, "grandchild": grandchild.ID} {
		if _, err := s.Auth().ResolveToken(ctx, id, f.a.OrganizationID); rampart.ErrorKind(err) != rampart.KindUnauthenticated {
			t.Errorf("%s below a revoked token: %v, want unauthenticated", name, err)
		}
	}
}

// A grant made while its person is being demoted is revoked with the
// rest (the demotion waits for it), and re-promoting the person does not
// bring it back.
func TestGrantDuringDemotionIsRevoked(t *testing.T) {
	t.Parallel()
	db, s, f := grantsFixture(t)
	ctx := context.Background()
	var eve rampart.User
	if err := s.AsService(ctx, "test", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		if eve, err = tx.Provision().UpsertUser(ctx, "eve@org-a.example", "Eve"); err != nil {
			return err
		}
		return tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: f.a.OrganizationID, UserID: eve.ID, Role: rampart.RoleAdmin})
	}); err != nil {
		t.Fatal(err)
	}
	ec := rampart.Claims{OrganizationID: f.a.OrganizationID, UserID: eve.ID, Role: rampart.RoleAdmin}
	minted, release, doneMint := make(chan uuid.UUID), make(chan struct{}), make(chan error, 1)
	go holdMint(s, ec, true, minted, release, doneMint)
	tok, ok := <-minted
	if !ok {
		t.Fatal(<-doneMint)
	}
	setRole := func(r rampart.Role) error {
		return s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
			_, err := tx.Members().Update(ctx, rampart.Membership{OrganizationID: f.a.OrganizationID, UserID: eve.ID, Role: r}, ClientInfo{})
			return err
		})
	}
	demoted := make(chan error, 1)
	go func() { demoted <- setRole(rampart.RoleViewer) }()
	waitForLockWaiter(t, db) // the demotion waits for the grant
	close(release)
	if err := <-doneMint; err != nil {
		t.Fatal("mint:", err)
	}
	if err := <-demoted; err != nil {
		t.Fatal("demote:", err)
	}
	count := func(sql string, args ...any) int {
		var n int
		if err := s.AsService(ctx, "test", func(ctx context.Context, tx *ServiceTx) error { return tx.queryRow(ctx, sql, args...).Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`, tok); n != 0 {
		t.Error("a token minted during the demotion is live")
	}
	if n := count(`SELECT count(*) FROM invites WHERE email = 'mallory@evil.example' AND revoked_at IS NULL`); n != 0 {
		t.Error("an invite made during the demotion is pending")
	}
	if err := setRole(rampart.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth().ResolveToken(ctx, tok, f.a.OrganizationID); err == nil {
		t.Error("the token resolves after re-promotion")
	}
	// A demoted person cannot grant at all: the lock finds no admin row.
	if err := setRole(rampart.RoleViewer); err != nil {
		t.Fatal(err)
	}
	err := s.InTenant(ctx, ec, func(ctx context.Context, tx *TenantTx) error {
		_, err := tx.Tokens().Create(ctx, rampart.APIToken{OrganizationID: f.a.OrganizationID, Name: "stale claims", Role: rampart.RoleViewer,
			ExpiresAt: time.Now().Add(time.Hour)}, ClientInfo{})
		return err
	})
	if rampart.ErrorKind(err) != rampart.KindForbidden {
		t.Errorf("a grant with stale admin claims: %v, want forbidden", err)
	}
}

// Grants of an earlier stint as admin stay dead when the person is an
// admin again, even when the role changed outside the store (SQL), which
// revokes nothing.
func TestGrantsOfAnEarlierAdminStintStayDead(t *testing.T) {
	t.Parallel()
	db, s, f := grantsFixture(t)
	ctx := context.Background()
	tok := mintAdminToken(t, s, f.a, "first stint")
	if _, err := s.Auth().ResolveToken(ctx, tok.ID, f.a.OrganizationID); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, role := range []string{"viewer", "admin"} {
		if _, err := admin.Exec(ctx, `UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2`, f.a.OrganizationID, f.a.UserID, role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Auth().ResolveToken(ctx, tok.ID, f.a.OrganizationID); rampart.ErrorKind(err) != rampart.KindUnauthenticated {
		t.Fatalf("a token of an earlier stint: %v, want unauthenticated", err)
	}
	// A token of the new stint works.
	if _, err := s.Auth().ResolveToken(ctx, mintAdminToken(t, s, f.a, "second stint").ID, f.a.OrganizationID); err != nil {
		t.Fatal(err)
	}
}

// Chains are bounded: a chain holds at most MaxTokenChain tokens.
func TestTokenChainsAreBounded(t *testing.T) {
	t.Parallel()
	_, s, f := grantsFixture(t)
	ctx := context.Background()
	c := f.a
	for i := 1; i <= MaxTokenChain; i++ {
		tok := mintAdminToken(t, s, c, "link")
		rc, err := s.Auth().ResolveToken(ctx, tok.ID, tok.OrganizationID)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		c = rc.Claims
	}
	err := s.InTenant(ctx, c, func(ctx context.Context, tx *TenantTx) error {
		_, err := tx.Tokens().Create(ctx, rampart.APIToken{OrganizationID: c.OrganizationID, Name: "too deep", Role: rampart.RoleViewer,
			ExpiresAt: time.Now().Add(time.Hour)}, ClientInfo{})
		return err
	})
	if rampart.ErrorKind(err) != rampart.KindInvalid {
		t.Fatalf("token %d in a row: %v, want invalid", MaxTokenChain+1, err)
	}
}

// grantsFixture is a database with two seeded organizations and its store.
func grantsFixture(t *testing.T) (*pgtest.DB, *Store, isolationFixture) {
	t.Helper()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	return db, s, newIsolationFixture(t, s)
}
