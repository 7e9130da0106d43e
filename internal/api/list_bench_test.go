package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

// listBenchSQL is what the database does for one page of the list: the
// store's page query (summary columns, one row more than the page to know
// whether another follows).
const listBenchSQL = `SELECT organization_id, id, title, client_name, venue_code, status, ai_generated, review_status,
author_id, approved_by, approved_at, created_at, updated_at FROM proposals WHERE organization_id = $1
ORDER BY updated_at DESC, id DESC LIMIT 21`

// BenchmarkProposalListVsDatabase measures the tenant read API against the
// database doing the same read, side by side in alternating phases:
// GET /api/proposals?limit=20 with a session cookie through the whole
// chain (session resolution, tenant transaction, output filter, JSON) on
// 8 keep-alive connections, and the tenant transaction alone (the
// pipelined BEGIN + claims + role, the page query, COMMIT) on 8 pooled
// connections. 20 organizations × 200 proposals with realistic bodies
// (5.3 kB of sanitised HTML) and 1 kB briefs, so the rows the table holds
// weigh what real ones do. The ratio is the API's share of what the
// database allows for the same work.
func BenchmarkProposalListVsDatabase(b *testing.B) {
	const (
		orgs   = 20
		perOrg = 200
		conns  = 8
		phase  = 400 * time.Millisecond
	)
	ctx := context.Background()
	db := pgtest.New(b)
	st, err := store.Open(ctx, db.AppURL, store.Options{MaxConns: conns + 2, Actor: "list bench", ServiceURL: db.ServiceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	body := strings.Repeat("<p>The launch runs over two evenings: a keynote for 300 guests, a product floor with twelve stations, and a dinner. </p>", 47)
	brief := strings.Repeat("Headphones launch, 300 guests, two evenings. ", 23)
	type tenant struct{ org, user, session uuid.UUID }
	tenants := make([]tenant, orgs)
	for i := range tenants {
		t := &tenants[i]
		if err := admin.QueryRow(ctx, `INSERT INTO organizations (name, slug) VALUES ($1, $2) RETURNING id`,
			fmt.Sprintf("Bench %d", i), fmt.Sprintf("bench-%d", i)).Scan(&t.org); err != nil {
			b.Fatal(err)
		}
		if err := admin.QueryRow(ctx, `INSERT INTO users (email) VALUES ($1) RETURNING id`, fmt.Sprintf("producer@bench-%d.example", i)).Scan(&t.user); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec(ctx, `INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'producer')`, t.org, t.user); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec(ctx, `INSERT INTO proposals (organization_id, title, client_name, brief, body_html, author_id, ai_generated,
review_status, status, updated_at)
SELECT $1, 'Launch ' || g, 'Northwind Audio', $3, $4, $2, true, 'pending_review', 'ai_pending_review', now() - g * interval '1 minute'
FROM generate_series(1, $5) g`, t.org, t.user, brief, body, perOrg); err != nil {
			b.Fatal(err)
		}
		if err := admin.QueryRow(ctx, `INSERT INTO sessions (user_id, active_organization_id, expires_at) VALUES ($1, $2, now() + interval '1 day') RETURNING id`,
			t.user, t.org).Scan(&t.session); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := admin.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, _ := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: secret}})
	api := New(Options{Store: st, Sealer: sealer, Mailer: &mailbox{}, Version: "bench", Tiers: roomyTiers()})
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	cookies := make([]string, orgs)
	for i, t := range tenants {
		c := sealer.Cookie(auth.SessionCookie{SessionID: t.session, ExpiresAt: time.Now().Add(24 * time.Hour)})
		cookies[i] = c.Name + "=" + c.Value
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}

	pool, err := pgxpool.New(ctx, db.AppURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	claims := make([]string, orgs)
	for i, t := range tenants {
		js, _ := json.Marshal(map[string]any{"organization_id": t.org, "sub": t.user, "role": "producer", "venue_codes": []string{}})
		claims[i] = string(js)
	}

	var bytesPerResp atomic.Int64
	apiOp := func(k int) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/proposals?limit=20", nil)
		req.Header.Set("Cookie", cookies[k%orgs])
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		bytesPerResp.Store(n)
		return nil
	}
	dbOp := func(k int) error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		bt := &pgx.Batch{}
		bt.Queue("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE")
		bt.Queue("SELECT pg_catalog.set_config('request.jwt.claims', $1, true)", claims[k%orgs])
		bt.Queue("SET LOCAL ROLE " + store.AppRole)
		if err := conn.SendBatch(ctx, bt).Close(); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, listBenchSQL, tenants[k%orgs].org)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "COMMIT")
		if err == nil && n == 0 {
			err = fmt.Errorf("no rows")
		}
		return err
	}
	// run drives op on conns workers for d and returns operations/s and
	// the latencies.
	run := func(op func(int) error, d time.Duration) (float64, []time.Duration) {
		var mu sync.Mutex
		var lat []time.Duration
		var ops atomic.Int64
		var failed atomic.Value
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range conns {
			wg.Go(func() {
				var mine []time.Duration
				for k := w; time.Now().Before(deadline); k += conns {
					t0 := time.Now()
					if err := op(k); err != nil {
						failed.Store(err)
						return
					}
					mine = append(mine, time.Since(t0))
					ops.Add(1)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return float64(ops.Load()) / time.Since(start).Seconds(), lat
	}
	// Warm both paths (connections, statement caches, the page cache).
	run(apiOp, phase)
	run(dbOp, phase)
	b.ResetTimer()
	var apiRate, dbRate float64
	var apiLat, dbLat []time.Duration
	phases := 0
	for i := 0; i < b.N; i++ {
		for range 3 {
			r, l := run(apiOp, phase)
			apiRate, apiLat = apiRate+r, append(apiLat, l...)
			r, l = run(dbOp, phase)
			dbRate, dbLat = dbRate+r, append(dbLat, l...)
			phases++
		}
	}
	b.StopTimer()
	apiRate, dbRate = apiRate/float64(phases), dbRate/float64(phases)
	q := func(l []time.Duration, p float64) float64 {
		slices.Sort(l)
		return float64(l[int(p*float64(len(l)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(apiRate, "api-req/s")
	b.ReportMetric(dbRate, "db-tx/s")
	b.ReportMetric(apiRate/dbRate, "api/db")
	b.ReportMetric(q(apiLat, 0.5), "api-p50-ms")
	b.ReportMetric(q(apiLat, 0.99), "api-p99-ms")
	b.ReportMetric(q(dbLat, 0.5), "db-p50-ms")
	b.ReportMetric(float64(bytesPerResp.Load()), "bytes/resp")
	b.Logf("GET /api/proposals?limit=20, %d keep-alive connections: %.0f req/s (p50 %.2f ms, p99 %.2f ms, %d bytes); the same tenant transaction alone: %.0f tx/s (p50 %.2f ms): %.3f",
		conns, apiRate, q(apiLat, 0.5), q(apiLat, 0.99), bytesPerResp.Load(), dbRate, q(dbLat, 0.5), apiRate/dbRate)
}
