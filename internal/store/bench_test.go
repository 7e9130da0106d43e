package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// benchFixture seeds orgs organizations with perOrg venues each.
func benchFixture(b *testing.B, orgs, perOrg int) (*Store, []rampart.Claims) {
	b.Helper()
	db := pgtest.New(b)
	s, err := Open(context.Background(), db.AppURL, Options{MaxConns: 8, ServiceURL: db.ServiceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	var claims []rampart.Claims
	// In bulk: 10,000 organizations take seconds, not minutes.
	err = s.AsService(context.Background(), "benchmark fixture", func(ctx context.Context, tx *ServiceTx) error {
		rows, err := tx.query(ctx, `WITH o AS (
  INSERT INTO organizations (name, slug) SELECT 'Bench ' || g, 'bench-' || g FROM generate_series(1, $1) g RETURNING id, slug),
u AS (INSERT INTO users (email) SELECT slug || '@bench.example' FROM o RETURNING id, email)
SELECT o.id, u.id FROM o JOIN u ON u.email = o.slug || '@bench.example' ORDER BY o.slug`, orgs)
		if err != nil {
			return err
		}
		claims, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Claims, error) {
			c := rampart.Claims{Role: rampart.RoleProducer}
			return c, r.Scan(&c.OrganizationID, &c.UserID)
		})
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(claims))
		for i, c := range claims {
			ids[i] = c.OrganizationID
		}
		if _, err := tx.exec(ctx, `INSERT INTO venues (organization_id, code, name)
SELECT o, 'V' || g, 'Venue ' || g FROM unnest($1::uuid[]) o, generate_series(1, $2) g`, ids, perOrg); err != nil {
			return err
		}
		_, err = tx.exec(ctx, "ANALYZE venues")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, claims
}

// benchWarmups is how many operations of each variant the store's
// benchmarks run before the timer (connections, statement caches, plans
// and the page cache warm), so a short -benchtime measures steady state.
const benchWarmups = 200

const sqlBenchRead = `SELECT id, code, name FROM venues WHERE organization_id = $1 ORDER BY code`

// sqlBenchReadNoRLS is the same query with its own text, so each variant
// keeps its own prepared statement and plan (a plan is re-made when the
// role it was planned for changes).
const sqlBenchReadNoRLS = sqlBenchRead + " -- no RLS"

func readVenues(ctx context.Context, tx *txn, org any) (int, error) {
	q := sqlBenchRead
	if tx.claims == nil {
		q = sqlBenchReadNoRLS
	}
	rows, err := tx.query(ctx, q, org)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	return n, rows.Err()
}

// BenchmarkRLSOverhead reads one tenant's 20 venues (of 100 tenants' 2,000,
// and of 10,000 tenants' 200,000) in a tenant transaction (RLS forced, claims pipelined with BEGIN) and, side
// by side in the same loop, the same query with the same WHERE in a
// transaction opened the same way whose role bypasses RLS. It reports both
// costs and their ratio: the price of the policies.
func BenchmarkRLSOverhead(b *testing.B) {
	for _, orgs := range []int{100, 10000} {
		b.Run(fmt.Sprintf("orgs=%d", orgs), func(b *testing.B) { benchRLSOverhead(b, orgs) })
	}
}

func benchRLSOverhead(b *testing.B, orgs int) {
	s, claims := benchFixture(b, orgs, 20)
	ctx := context.Background()
	// The same opening batch as InTenant (claims included), but the role
	// bypasses RLS: the only difference left is the policy.
	openNoRLS := func(c rampart.Claims) *pgx.Batch {
		js, _ := c.JSON()
		bt := &pgx.Batch{}
		bt.Queue(sqlBegin)
		bt.Queue(sqlSetClaims, string(js))
		bt.Queue(sqlSetSvcRole)
		return bt
	}
	var rlsDur, whereDur time.Duration
	pair := func(i int) {
		c := claims[i%len(claims)]
		t0 := time.Now()
		err := s.InTenant(ctx, c, func(ctx context.Context, tx *TenantTx) error {
			n, err := readVenues(ctx, tx.txn, c.OrganizationID)
			if err == nil && n != 20 {
				err = fmt.Errorf("read %d rows", n)
			}
			return err
		})
		rlsDur += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		err = s.run(ctx, s.svc, "bench", openNoRLS(c), nil, func(ctx context.Context, tx *txn) error {
			n, err := readVenues(ctx, tx, c.OrganizationID)
			if err == nil && n != 20 {
				err = fmt.Errorf("read %d rows", n)
			}
			return err
		})
		whereDur += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range benchWarmups {
		pair(i)
	}
	rlsDur, whereDur = 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pair(i)
	}
	b.ReportMetric(float64(rlsDur.Nanoseconds())/float64(b.N), "ns/rls-tx")
	b.ReportMetric(float64(whereDur.Nanoseconds())/float64(b.N), "ns/where-tx")
	b.ReportMetric(float64(rlsDur)/float64(whereDur), "rls/where")
}

// BenchmarkTenantOpen compares opening a tenant transaction the store's way
// (BEGIN, claims and role in one pipelined batch) with three sequential
// round trips, each followed by the same one-row read and COMMIT.
func BenchmarkTenantOpen(b *testing.B) {
	s, claims := benchFixture(b, 10, 20)
	ctx := context.Background()
	var pipelined, sequential time.Duration
	pair := func(i int) {
		c := claims[i%len(claims)]
		js, _ := c.JSON()
		t0 := time.Now()
		err := s.InTenant(ctx, c, func(ctx context.Context, tx *TenantTx) error {
			var n int
			return tx.queryRow(ctx, "SELECT count(*) FROM venues WHERE organization_id = $1", c.OrganizationID).Scan(&n)
		})
		pipelined += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{{sqlBegin, nil}, {sqlSetClaims, []any{string(js)}}, {sqlSetAppRole, nil}} {
			if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
				b.Fatal(err)
			}
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM venues WHERE organization_id = $1", c.OrganizationID).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, sqlCommit); err != nil {
			b.Fatal(err)
		}
		conn.Release()
		sequential += time.Since(t0)
	}
	for i := range benchWarmups {
		pair(i)
	}
	pipelined, sequential = 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pair(i)
	}
	b.ReportMetric(float64(pipelined.Nanoseconds())/float64(b.N), "ns/pipelined-tx")
	b.ReportMetric(float64(sequential.Nanoseconds())/float64(b.N), "ns/sequential-tx")
	b.ReportMetric(float64(sequential)/float64(pipelined), "speedup")
}
