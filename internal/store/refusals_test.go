package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestRateLimitRefusalsReadOnlyForAdmins: the runtime role cannot add,
// change or delete refusal counters, not even its own organization's as
// its admin (only the service path writes them), and a member who is not
// an admin reads none of them; the admin reads exactly their own.
func TestRateLimitRefusalsReadOnlyForAdmins(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	var before string
	snapshot := func() string {
		var sum string
		err := s.bookkeepingTx(ctx, "test", func(ctx context.Context, tx *txn) error {
			return tx.queryRow(ctx, `SELECT md5(string_agg(to_jsonb(r)::text, '|' ORDER BY to_jsonb(r)::text)) FROM rate_limit_refusals r`).Scan(&sum)
		})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	before = snapshot()
	org := f.a.OrganizationID
	for _, attack := range []struct{ name, sql string }{
		{"insert a counter", `INSERT INTO rate_limit_refusals (organization_id, day, tier, refusals) VALUES ($1, current_date - 1, 'api', 1000)`},
		{"inflate a counter", `UPDATE rate_limit_refusals SET refusals = refusals + 1000 WHERE organization_id = $1`},
		{"erase the counters", `DELETE FROM rate_limit_refusals WHERE organization_id = $1`},
	} {
		err := s.inTenant(ctx, f.a, func(ctx context.Context, tx *txn) error {
			_, err := tx.exec(ctx, attack.sql, org)
			return err
		})
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != codeInsufficientPrivilege {
			t.Errorf("%s as the organization's admin: %v, want SQLSTATE 42501", attack.name, err)
		}
	}
	if after := snapshot(); after != before {
		t.Fatal("the counters changed")
	}
	read := func(c rampart.Claims) int {
		var n int
		err := s.InTenant(ctx, c, func(ctx context.Context, tx *TenantTx) error {
			rows, err := tx.RateLimitRefusals().Since(ctx, time.Now().AddDate(0, 0, -1))
			for _, r := range rows {
				if r.OrganizationID != c.OrganizationID {
					t.Errorf("read a counter of %s", r.OrganizationID)
				}
				n += int(r.Refusals)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := read(f.a); n != 4 {
		t.Fatalf("the admin reads %d refusals, want their organization's 4", n)
	}
	for _, role := range []rampart.Role{rampart.RoleExecutiveProducer, rampart.RoleProducer, rampart.RoleViewer, rampart.RoleStakeholder} {
		c := f.a
		c.Role = role
		if n := read(c); n != 0 {
			t.Errorf("a %s reads %d refusals, want none", role, n)
		}
	}
}
