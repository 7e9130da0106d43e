package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

type benchVenue struct {
	claims rampart.Claims
	id     uuid.UUID
}

// mutationFixture makes orgs organizations and gives each of the writers
// its own venues: one venue per writer in a single organization, or one
// venue per organization dealt round-robin to the writers, so writers
// never wait on each other's rows.
func mutationFixture(b *testing.B, appURL, serviceURL string, orgs, writers int) (*Store, [][]benchVenue) {
	b.Helper()
	s, err := Open(context.Background(), appURL, Options{MaxConns: int32(writers + 2), ServiceURL: serviceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	perWriter := make([][]benchVenue, writers)
	err = s.AsService(context.Background(), "benchmark fixture", func(ctx context.Context, tx *ServiceTx) error {
		venues := max(orgs, writers)
		run := uuid.NewString()[:8] // fixtures may share a database
		var cs []rampart.Claims
		for i := range orgs {
			org, err := tx.Provision().CreateOrganization(ctx, fmt.Sprintf("Bench %d", i), fmt.Sprintf("bench-%s-%d", run, i))
			if err != nil {
				return err
			}
			cs = append(cs, rampart.Claims{OrganizationID: org.ID, UserID: uuid.New(), Role: rampart.RoleProducer})
		}
		for v := range venues {
			c := cs[v%orgs]
			var id uuid.UUID
			if err := tx.queryRow(ctx, "INSERT INTO venues (organization_id, code, name) VALUES ($1, $2, 'v') RETURNING id", c.OrganizationID, fmt.Sprintf("V%d", v)).Scan(&id); err != nil {
				return err
			}
			perWriter[v%writers] = append(perWriter[v%writers], benchVenue{c, id})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, perWriter
}

// runWriters runs ops mutations over the writers and returns the elapsed time.
func runWriters(b *testing.B, s *Store, writers [][]benchVenue, ops int, audited bool) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, mine := range writers {
		wg.Add(1)
		go func(mine []benchVenue) {
			defer wg.Done()
			for i := 0; next.Add(1) <= int64(ops); i++ {
				v := mine[i%len(mine)]
				err := s.InTenant(context.Background(), v.claims, func(ctx context.Context, tx *TenantTx) error {
					if _, err := tx.exec(ctx, "UPDATE venues SET name = $3, updated_at = now() WHERE organization_id = $1 AND id = $2",
						v.claims.OrganizationID, v.id, "n"); err != nil {
						return err
					}
					if !audited {
						return nil
					}
					return audit.Record(ctx, tx, audit.Event{ActorType: audit.ActorUser, ActorID: v.claims.UserID.String(),
						Action: audit.ActionVenueUpdated, TargetType: "venue", TargetID: v.id.String(),
						Before: []byte(`{"name":"o"}`), After: []byte(`{"name":"n"}`)})
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}(mine)
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkAuditedMutation compares, side by side in one run, 8 concurrent
// writers updating venues with and without their signed audit events,
// while the sealer chains the audited events every 100 ms. It reports both
// throughputs and their ratio, for a single organization and for 100, on
// the test cluster (fsync off: CPU-bound, the worst case for the ratio).
func BenchmarkAuditedMutation(b *testing.B) {
	for _, orgs := range []int{1, 100} {
		b.Run(fmt.Sprintf("orgs=%d", orgs), func(b *testing.B) {
			db := pgtest.New(b)
			benchAudited(b, db.AppURL, db.ServiceURL, orgs)
		})
	}
}

// BenchmarkAuditedMutationDurable is the same comparison on a cluster with
// production durability (fsync and synchronous_commit on), started for
// this benchmark.
func BenchmarkAuditedMutationDurable(b *testing.B) {
	dir, err := os.MkdirTemp("", "rampart-durable-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cl, err := pgcluster.Open(ctx, pgcluster.Config{Dir: dir, Settings: map[string]string{"fsync": "on", "synchronous_commit": "on", "max_connections": "50"}},
		pgcluster.Purpose{Name: "bench", LongRunning: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cl.Close() })
	super := func(db string) string { return cl.URL(pgcluster.Superuser, db) }
	if err := Prepare(ctx, super, "bench", "rampart"); err != nil {
		b.Fatal(err)
	}
	for _, orgs := range []int{1, 100} {
		b.Run(fmt.Sprintf("orgs=%d", orgs), func(b *testing.B) {
			benchAudited(b, cl.URL("rampart", "bench"), cl.URL(ServiceLogin("rampart"), "bench"), orgs)
		})
	}
}

func benchAudited(b *testing.B, appURL, serviceURL string, orgs int) {
	{
		{
			s, writers := mutationFixture(b, appURL, serviceURL, orgs, 8)
			const ops = 250 // short alternating phases: drift on a shared machine hits both sides alike
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						_, _ = s.Audit().Seal(ctx)
					}
				}
			}()
			runWriters(b, s, writers, ops, false) // warm the pool and plans
			var plain, audited time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				plain += runWriters(b, s, writers, ops, false)
				audited += runWriters(b, s, writers, ops, true)
			}
			total := float64(b.N * ops)
			b.ReportMetric(total/plain.Seconds(), "plain-ops/s")
			b.ReportMetric(total/audited.Seconds(), "audited-ops/s")
			b.ReportMetric(plain.Seconds()/audited.Seconds(), "audited/plain")
		}
	}
}

// BenchmarkAuditVerify fills one organization's chain with signed events
// (sealed), then times `audit verify` over them with the Go side on one
// core (GOMAXPROCS=1; PostgreSQL streams from its own process).
func BenchmarkAuditVerify(b *testing.B) {
	const events = 200_000
	db := pgtest.New(b)
	k := testKeyring(b)
	s, err := Open(context.Background(), db.AppURL, Options{ServiceURL: db.ServiceURL, Audit: k})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	ctx := context.Background()
	var org rampart.Organization
	if err := s.AsService(ctx, "benchmark fixture", func(ctx context.Context, tx *ServiceTx) error {
		org, err = tx.Provision().CreateOrganization(ctx, "Verify", "verify-bench")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows := make([][]any, 0, events)
	now := time.Now()
	for i := range events {
		st := k.Sign(audit.Event{OrganizationID: &org.ID, ActorType: audit.ActorUser, ActorID: fmt.Sprint(i % 50),
			Action: audit.ActionVenueUpdated, TargetType: "venue", TargetID: uuid.NewString(),
			Before: []byte(`{"name":"before","city":"Oslo"}`), After: []byte(`{"name":"after","city":"Oslo"}`),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", RequestID: "0123456789abcdef01234567"}, now)
		args := auditArgs(st)
		rows = append(rows, args)
	}
	cols := []string{"event_key", "organization_id", "occurred_at", "actor_type", "actor_id", "actor_scope", "action", "target_type", "target_id",
		"before", "after", "ip", "user_agent", "request_id", "reason", "metadata", "mac_key_id", "mac"}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_events"}, cols, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		b.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	var n int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := s.Audit().Verify(ctx, &org.ID, nil)
		if err != nil || !rep.OK() {
			b.Fatalf("verify: %v %+v", err, rep.Chains)
		}
		n += rep.Events
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
