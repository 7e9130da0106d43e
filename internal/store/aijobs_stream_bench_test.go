package store

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// BenchmarkAIJobEventsCheck prices the progress stream's credential
// re-check. Side by side in one loop, for a read returning page job
// changes (0: an idle stream's poll), it times the read as a tenant
// transaction (InTenant + AIJobsSince, what the stream did before), the
// same read as one pipelined batch without the check, and AIJobEvents
// (the pipelined read with the check). The difference between the last
// two is the check itself.
func BenchmarkAIJobEventsCheck(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b)
	s, err := Open(ctx, db.AppURL, Options{MaxConns: 8, ServiceURL: db.ServiceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	const jobs = 1000
	var claims rampart.Claims
	err = s.AsService(ctx, "benchmark fixture", func(ctx context.Context, tx *ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, "Bench", "bench")
		if err != nil {
			return err
		}
		u, err := tx.Provision().UpsertUser(ctx, "admin@bench.example", "")
		if err != nil {
			return err
		}
		if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleAdmin}); err != nil {
			return err
		}
		_, hash := auth.NewLinkToken()
		if _, err := tx.SignIn().CreateLoginLink(ctx, u.Email, hash, ClientInfo{}); err != nil {
			return err
		}
		ns, err := tx.SignIn().RedeemLoginLink(ctx, hash, nil, ClientInfo{})
		if err != nil {
			return err
		}
		claims = rampart.Claims{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleAdmin, SessionID: ns.Session.ID}
		_, err = tx.exec(ctx, `WITH p AS (INSERT INTO proposals (organization_id, title, author_id) VALUES ($1, 'Bench', $2) RETURNING id)
INSERT INTO ai_jobs (organization_id, kind, proposal_id, agent_type, requested_by, status)
SELECT $1, 'proposal_generation', p.id, 'proposal_writer', $2, 'succeeded' FROM p, generate_series(1, $3)`, org.ID, u.ID, jobs)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	_, err = admin.Exec(ctx, "ANALYZE")
	admin.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	all, err := InTenantValue(ctx, s, claims, func(ctx context.Context, tx *TenantTx) ([]rampart.AIJob, error) {
		var out []rampart.AIJob
		at := JobCursor{}
		for {
			page, err := tx.AIJobs().Since(ctx, at, MaxJobEvents)
			if err != nil || len(page) == 0 {
				return out, err
			}
			out = append(out, page...)
			last := page[len(page)-1]
			at = JobCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
		}
	})
	if err != nil || len(all) != jobs {
		b.Fatalf("fixture: %d jobs, %v", len(all), err)
	}
	js, _ := claims.JSON()
	// The read without the check, pipelined as AIJobEvents pipelines it.
	unchecked := func(at JobCursor) ([]rampart.AIJob, error) {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Release()
		var out []rampart.AIJob
		bt := &pgx.Batch{}
		bt.Queue(sqlBegin)
		bt.Queue(sqlSetClaims, string(js))
		bt.Queue(sqlSetAppRole)
		bt.Queue(sqlAIJobsSince, claims.OrganizationID, at.UpdatedAt, at.ID, MaxJobEvents).Query(func(rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.AIJob, error) { return scanAIJob(r) })
			return err
		})
		bt.Queue(sqlCommit)
		return out, conn.SendBatch(ctx, bt).Close()
	}
	for _, page := range []int{0, 1, MaxJobEvents} {
		b.Run("page="+strconv.Itoa(page), func(b *testing.B) {
			var at JobCursor
			if page < jobs {
				last := all[len(all)-1-page]
				at = JobCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
			}
			var tenantTx, pipelined, checked time.Duration
			check := func(what string, n int, err error) {
				if err != nil || n != page {
					b.Fatalf("%s: %d jobs, want %d: %v", what, n, page, err)
				}
			}
			variants := []struct {
				name string
				dur  *time.Duration
				read func() ([]rampart.AIJob, error)
			}{
				{"tenant transaction", &tenantTx, func() ([]rampart.AIJob, error) {
					return InTenantValue(ctx, s, claims, func(ctx context.Context, tx *TenantTx) ([]rampart.AIJob, error) {
						return tx.AIJobs().Since(ctx, at, MaxJobEvents)
					})
				}},
				{"pipelined", &pipelined, func() ([]rampart.AIJob, error) { return unchecked(at) }},
				{"checked", &checked, func() ([]rampart.AIJob, error) { return s.Jobs().Events(ctx, claims, at, MaxJobEvents) }},
			}
			// Warm every variant (connections, statement caches, plans)
			// before the timer: short -benchtime runs measure steady state.
			for range benchWarmups {
				for _, v := range variants {
					out, err := v.read()
					check(v.name, len(out), err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Rotate the order, so no variant always runs first.
				for k := range variants {
					v := variants[(i+k)%len(variants)]
					t0 := time.Now()
					out, err := v.read()
					*v.dur += time.Since(t0)
					check(v.name, len(out), err)
				}
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
			b.ReportMetric(per(tenantTx), "ns/tenant-tx")
			b.ReportMetric(per(pipelined), "ns/pipelined")
			b.ReportMetric(per(checked), "ns/checked")
			b.ReportMetric(per(checked)-per(pipelined), "ns/check")
		})
	}
}
