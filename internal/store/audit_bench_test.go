package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
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
			// Warm the pool, statement caches and plans of both variants.
			runWriters(b, s, writers, ops, false)
			runWriters(b, s, writers, ops, true)
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
	events := 200_000
	if pgtest.Quick() {
		events = 50_000
	}
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
		"before", "after", "ip", "user_agent", "request_id", "reason", "metadata", "mac_key_id", "mac", "scheme", "pii_salt", "pii_commit"}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_events"}, cols, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		b.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	if rep, err := s.Audit().Verify(ctx, &org.ID, nil); err != nil || !rep.OK() { // warm: the table's pages, the plan
		b.Fatalf("verify: %v %+v", err, rep.Chains)
	}
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

// auditPgbenchScripts are pgbench scripts, one per writer (its venue, its
// organization's claims), sending what the store sends for a venue
// update: the opening statements pipelined with the UPDATE, then COMMIT —
// audited, with the signed event's INSERT pipelined with the COMMIT. The
// texts are the store's (queries/*.sql and runWriters' UPDATE); the
// event's values are a signed event's, except the event key and time,
// which pgbench cannot make and the server does (gen_random_uuid(),
// now()), and NULL parameters, which pgbench cannot send, written as
// NULL.
func auditPgbenchScripts(b *testing.B, s *Store, writers [][]benchVenue, audited bool) []pgtest.PgbenchScript {
	b.Helper()
	const update = "UPDATE venues SET name = :name, updated_at = now() WHERE organization_id = :org AND id = :venue"
	open := []string{sqlBegin, strings.Replace(sqlSetClaims, "$1", ":claims", 1), sqlSetAppRole, update}
	values := map[string]string{"1": "gen_random_uuid()", "2": ":org", "3": "now()", "4": ":atype", "5": ":actor", "6": "NULL",
		"7": ":action", "8": ":ttype", "9": ":venue", "10": ":before", "11": ":after", "12": "NULL", "13": ":ua", "14": ":rid",
		"15": ":reason", "16": "NULL", "17": ":kid", "18": ":mac", "19": ":scheme", "20": ":salt", "21": ":commit"}
	insert := regexp.MustCompile(`\$(\d+)`).ReplaceAllStringFunc(strings.Join(strings.Fields(sqlInsertAudit), " "),
		func(m string) string { return values[m[1:]] })
	text := "\\startpipeline\n" + strings.Join(open, ";\n") + ";\n\\endpipeline\n"
	if audited {
		text += "\\startpipeline\n" + insert + ";\n" + sqlCommit + ";\n\\endpipeline\n"
	} else {
		text += sqlCommit + ";\n"
	}
	var scripts []pgtest.PgbenchScript
	for _, mine := range writers {
		v := mine[0]
		js, _ := v.claims.JSON()
		st, err := s.sign(audit.Event{OrganizationID: &v.claims.OrganizationID, ActorType: audit.ActorUser, ActorID: v.claims.UserID.String(),
			Action: audit.ActionVenueUpdated, TargetType: "venue", TargetID: v.id.String(),
			Before: []byte(`{"name":"o"}`), After: []byte(`{"name":"n"}`)})
		if err != nil {
			b.Fatal(err)
		}
		vars := map[string]string{
			"claims": string(js), "org": v.claims.OrganizationID.String(), "venue": v.id.String(), "name": "n",
			"atype": string(st.ActorType), "actor": st.ActorID, "action": st.Action, "ttype": st.TargetType,
			"before": string(st.Before), "after": string(st.After), "ua": st.UserAgent, "rid": st.RequestID, "reason": st.Reason,
			"kid": st.MACKeyID, "mac": `\x` + hex.EncodeToString(st.MAC),
			"scheme": fmt.Sprint(st.Scheme), "salt": `\x` + hex.EncodeToString(st.PIISalt), "commit": `\x` + hex.EncodeToString(st.PIICommit)}
		mine := text
		for name, val := range vars {
			if val == "" { // pgbench takes no empty variable: an empty string literal
				mine = strings.ReplaceAll(mine, ":"+name+",", "'',")
				delete(vars, name)
			}
		}
		scripts = append(scripts, pgtest.PgbenchScript{Text: mine, Vars: vars})
	}
	return scripts
}

// BenchmarkAuditedMutationVsPgbench puts the audit path beside the
// database's own cost: 8 writers (one venue each, in 8 organizations)
// updating venues through the store with and without their signed audit
// event, and pgbench sending the same statements the same way (the
// update and the audit insert, pipelined as the store pipelines them)
// with and without the insert, on 8 connections as the runtime login,
// in interleaved phases (store plain, store audited, pgbench plain,
// pgbench audited; 3 rounds). It reports the four throughputs and
// store-audited/plain (the goal ≥ 0.80), pgbench-audited/plain (what the
// extra insert costs the database itself) and store/pgbench-audited.
// Test cluster, fsync off; no sealer runs.
func BenchmarkAuditedMutationVsPgbench(b *testing.B) {
	if _, err := pgtest.PgbenchPath(); err != nil {
		b.Skip(err)
	}
	const writers, rounds = 8, 3
	ops, phase := 6000, 2*time.Second
	if pgtest.Quick() {
		ops, phase = 2500, time.Second
	}
	db := pgtest.New(b)
	s, ws := mutationFixture(b, db.AppURL, db.ServiceURL, writers, writers)
	ctx := context.Background()
	scripts := map[bool][]pgtest.PgbenchScript{false: auditPgbenchScripts(b, s, ws, false), true: auditPgbenchScripts(b, s, ws, true)}
	pgbench := func(audited bool, d time.Duration) float64 {
		r, err := pgtest.Pgbench{URL: db.AppURL, Scripts: scripts[audited], Duration: d, Dir: b.TempDir()}.Run(ctx)
		if err == nil && r.Failed > 0 {
			err = fmt.Errorf("%d transactions failed", r.Failed)
		}
		if err != nil {
			b.Fatal(err)
		}
		return r.TPS
	}
	// Warm both sides (pool, statement caches, plans).
	runWriters(b, s, ws, ops/4, false)
	runWriters(b, s, ws, ops/4, true)
	pgbench(true, time.Second)
	var storePlain, storeAudited time.Duration
	var pgPlain, pgAudited float64
	b.ResetTimer()
	for range b.N {
		for range rounds {
			storePlain += runWriters(b, s, ws, ops, false)
			storeAudited += runWriters(b, s, ws, ops, true)
			pgPlain += pgbench(false, phase) / rounds
			pgAudited += pgbench(true, phase) / rounds
		}
	}
	b.StopTimer()
	total := float64(b.N * rounds * ops)
	sp, sa := total/storePlain.Seconds(), total/storeAudited.Seconds()
	pgPlain, pgAudited = pgPlain/float64(b.N), pgAudited/float64(b.N)
	b.ReportMetric(sp, "store-plain-ops/s")
	b.ReportMetric(sa, "store-audited-ops/s")
	b.ReportMetric(pgPlain, "pgbench-plain-tx/s")
	b.ReportMetric(pgAudited, "pgbench-audited-tx/s")
	b.ReportMetric(sa/sp, "store-audited/plain")
	b.ReportMetric(pgAudited/pgPlain, "pgbench-audited/plain")
	b.ReportMetric(sa/pgAudited, "store/pgbench-audited")
	b.Logf("store: plain %.0f, audited %.0f ops/s (%.3f); pgbench: plain %.0f, audited %.0f tx/s (%.3f); store/pgbench audited %.3f",
		sp, sa, sa/sp, pgPlain, pgAudited, pgAudited/pgPlain, sa/pgAudited)
}
