package api

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
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

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
	"github.com/rampart-dev/rampart/internal/store"
)

// listFixture is the seeded data of the list benchmark: one producer
// with one live session per organization.
type listFixture struct {
	orgs, users, sessions []uuid.UUID
}

// seedProposals seeds orgs organizations × perOrg proposals with
// realistic bodies (5.3 kB of sanitised HTML) and 1 kB briefs, one
// producer and one session each, as the owner in a handful of
// set-based statements (200,000 rows take seconds), then VACUUM ANALYZE.
func seedProposals(b *testing.B, adminURL string, orgs, perOrg int) listFixture {
	b.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	body := strings.Repeat("<p>The launch runs over two evenings: a keynote for 300 guests, a product floor with twelve stations, and a dinner. </p>", 47)
	brief := strings.Repeat("Headphones launch, 300 guests, two evenings. ", 23)
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO organizations (name, slug) SELECT 'Bench ' || g, 'bench-' || g FROM generate_series(1, $1) g`, []any{orgs}},
		{`INSERT INTO users (email) SELECT 'producer@' || slug || '.example' FROM organizations WHERE slug LIKE 'bench-%'`, nil},
		{`INSERT INTO memberships (organization_id, user_id, role)
SELECT o.id, u.id, 'producer' FROM organizations o JOIN users u ON u.email = 'producer@' || o.slug || '.example'`, nil},
		{`INSERT INTO proposals (organization_id, title, client_name, brief, body_html, body_sanitizer, author_id, ai_generated,
review_status, status, updated_at)
SELECT m.organization_id, 'Launch ' || g, 'Northwind Audio', $1, $2, $3, m.user_id, true, 'pending_review', 'ai_pending_review',
now() - g * interval '1 minute'
FROM memberships m, generate_series(1, $4) g`, []any{brief, body, sanitize.Version, perOrg}},
		{`INSERT INTO sessions (user_id, active_organization_id, expires_at)
SELECT user_id, organization_id, now() + interval '1 day' FROM memberships`, nil},
		{`VACUUM ANALYZE`, nil},
	}
	for _, s := range steps {
		if _, err := admin.Exec(ctx, s.sql, s.args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, s.sql)
		}
	}
	var f listFixture
	rows, err := admin.Query(ctx, `SELECT active_organization_id, user_id, id FROM sessions ORDER BY active_organization_id`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var o, u, s uuid.UUID
		if err := rows.Scan(&o, &u, &s); err != nil {
			b.Fatal(err)
		}
		f.orgs, f.users, f.sessions = append(f.orgs, o), append(f.users, u), append(f.sessions, s)
	}
	if rows.Close(); rows.Err() != nil || len(f.orgs) != orgs {
		b.Fatalf("seed: %d sessions, %v", len(f.orgs), rows.Err())
	}
	return f
}

// knownSessions answers credential resolution from claims resolved
// before the benchmark: authentication "off" for the comparison.
type knownSessions struct {
	edge.Store
	claims map[uuid.UUID]store.ResolvedClaims
}

func (k knownSessions) ResolveSession(_ context.Context, id uuid.UUID) (store.ResolvedClaims, error) {
	rc, ok := k.claims[id]
	if !ok {
		return store.ResolvedClaims{}, rampart.Errorf("bench.ResolveSession", rampart.KindUnauthenticated, "not signed in")
	}
	return rc, nil
}

// listPgbenchScripts are the pgbench scripts of the tenant read, one per
// organization (its claims and id are the script's -D variables): the
// statements the store sends for GET /api/proposals?limit=20, taken from
// queries/*.sql. shape is "plain" (one statement per round trip) or
// "pipelined" (all five in one pipeline: the database's limit). pgbench cannot send a NULL parameter, so the page
// query's two cursor parameters (NULL on a first page) are NULL
// literals.
func listPgbenchScripts(f listFixture, shape string) ([]pgtest.PgbenchScript, error) {
	stmt := func(name string) string {
		s, ok := store.Statement(name)
		if !ok {
			panic("no statement " + name)
		}
		return strings.Join(strings.Fields(s), " ") // pgbench: one line per statement
	}
	page := strings.NewReplacer("$1", ":org", "$2", ":lim", "$3", "NULL", "$4", "NULL").Replace(stmt("ListProposals"))
	open := []string{stmt("Begin"), strings.Replace(stmt("SetClaims"), "$1", ":claims", 1), stmt("SetAppRole")}
	var text string
	switch shape {
	case "plain":
		text = strings.Join(append(open, page, stmt("Commit")), ";\n") + ";\n"
	case "pipelined":
		text = "\\startpipeline\n" + strings.Join(append(open, page, stmt("Commit")), ";\n") + ";\n\\endpipeline\n"
	default:
		return nil, fmt.Errorf("unknown shape %q", shape)
	}
	var scripts []pgtest.PgbenchScript
	for i := range f.orgs {
		c := rampart.Claims{OrganizationID: f.orgs[i], UserID: f.users[i], Role: rampart.RoleProducer, SessionID: f.sessions[i]}
		js, err := c.JSON()
		if err != nil {
			return nil, err
		}
		n := fmt.Sprint(i)
		r := strings.NewReplacer(":claims", ":claims"+n, ":org", ":org"+n, ":lim", ":lim"+n)
		scripts = append(scripts, pgtest.PgbenchScript{Text: r.Replace(text),
			Vars: map[string]string{"claims" + n: string(js), "org" + n: f.orgs[i].String(), "lim" + n: "21"}})
	}
	return scripts, nil
}

// checkPgbenchPage runs a plain script's statements once through pgx, its
// variables as parameters, and fails unless the page query returns the
// page and one more row: pgbench itself checks no results.
func checkPgbenchPage(b *testing.B, url string, s pgtest.PgbenchScript) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(s.Text), "\n") {
		stmt := strings.TrimSuffix(line, ";")
		var args []any
		for name, v := range s.Vars {
			if strings.Contains(stmt, ":"+name) {
				args = append(args, v)
				stmt = strings.Replace(stmt, ":"+name, fmt.Sprintf("$%d", len(args)), 1)
			}
		}
		tag, err := conn.Exec(ctx, stmt, args...)
		if err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
		if tag.Select() && strings.Contains(stmt, "FROM proposals") {
			rows = int(tag.RowsAffected())
		}
	}
	if rows != 21 {
		b.Fatalf("the pgbench page query returned %d rows, want 21", rows)
	}
}

// loadResult is one phase of one variant.
type loadResult struct {
	rate float64
	lat  []time.Duration
}

// httpLoad drives op on conns workers for d (op is given the worker's
// number): operations/s and latencies.
func httpLoad(conns int, d time.Duration, op func(w int) error) (loadResult, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var ops atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := op(w); err != nil {
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
		return loadResult{}, err
	}
	return loadResult{float64(ops.Load()) / time.Since(start).Seconds(), lat}, nil
}

// quantileMs is the p quantile of l in milliseconds (l is sorted).
func quantileMs(l []time.Duration, p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return float64(l[int(p*float64(len(l)-1))].Microseconds()) / 1000
}

// BenchmarkProposalListVsPgbench measures the tenant read API against the
// database doing the same work, in one run, variants interleaved (A B C D
// A B C D …) after VACUUM ANALYZE, at 8, 16 and 32 connections:
//
//   - api: GET /api/proposals?limit=20 with a session cookie through the
//     whole chain (request id, security headers, rate limits, the
//     session's resolution, the tenant transaction, the output filter,
//     JSON) on keep-alive HTTP connections, client in this process;
//   - noauth: the same chain and handler, the session's claims resolved
//     in advance (the cookie is still opened and its MAC checked; the
//     session's database read is what is left out);
//   - plain: pgbench sending the store's statements for the page one by
//     one (BEGIN; set_config(claims); SET LOCAL ROLE; the page SELECT;
//     COMMIT) as the runtime login over the same socket, -M prepared;
//   - pipelined: pgbench sending the five in one pipeline: the
//     database's limit for this work.
//
// Scale: 1,000 organizations × 200 proposals (RAMPART_BENCH_SCALE=quick:
// 100), 5.3 kB bodies and 1 kB briefs. Reported: throughput, p50 and
// p99 of each, and the ratios api/plain (goal ≥ 0.60), api/pipelined and
// auth-on/off (goal ≥ 0.95). pgbench's latencies come from its
// per-transaction logs.
func BenchmarkProposalListVsPgbench(b *testing.B) {
	orgs, phase, rounds := 1000, 3*time.Second, 3
	if pgtest.Quick() {
		orgs, phase, rounds = 100, time.Second, 1
	}
	const perOrg, maxConns = 200, 32
	if _, err := pgtest.PgbenchPath(); err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	db := pgtest.New(b)
	t0 := time.Now()
	f := seedProposals(b, db.AdminURL, orgs, perOrg)
	b.Logf("seeded %d organizations × %d proposals in %s", orgs, perOrg, time.Since(t0).Round(time.Millisecond))

	st, err := store.Open(ctx, db.AppURL, store.Options{MaxConns: maxConns + 2, Actor: "list bench", ServiceURL: db.ServiceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, _ := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: secret}})
	known := knownSessions{Store: edgeStore{st.Auth(), st.Audit()}, claims: map[uuid.UUID]store.ResolvedClaims{}}
	cookies := make([]string, orgs)
	for i, id := range f.sessions {
		c := sealer.Cookie(auth.SessionCookie{SessionID: id, ExpiresAt: time.Now().Add(24 * time.Hour)})
		cookies[i] = c.Name + "=" + c.Value
		rc, err := st.Auth().ResolveSession(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		known.claims[id] = rc
	}
	opts := Options{Store: st, Sealer: sealer, Mailer: &mailbox{}, Version: "bench", Tiers: roomyTiers()}
	on := httptest.NewServer(New(opts))
	b.Cleanup(on.Close)
	opts.credentials = known
	off := httptest.NewServer(New(opts))
	b.Cleanup(off.Close)

	var bytesPerResp atomic.Int64
	// In a phase, connection w reads organization first+w on every side,
	// so the sides do the same work; each round moves on to others.
	get := func(client *http.Client, url string, first int) func(int) error {
		return func(w int) error {
			req, _ := http.NewRequest(http.MethodGet, url+"/api/proposals?limit=20", nil)
			req.Header.Set("Cookie", cookies[(first+w)%orgs])
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
	}
	scripts := map[string][]pgtest.PgbenchScript{}
	for _, shape := range []string{"plain", "pipelined"} {
		if scripts[shape], err = listPgbenchScripts(f, shape); err != nil {
			b.Fatal(err)
		}
	}
	checkPgbenchPage(b, db.AppURL, scripts["plain"][0])
	variants := []string{"api", "noauth", "plain", "pipelined"}

	for _, conns := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
			defer client.CloseIdleConnections()
			phaseOf := func(variant string, d time.Duration, first int) (loadResult, error) {
				switch variant {
				case "api":
					return httpLoad(conns, d, get(client, on.URL, first))
				case "noauth":
					return httpLoad(conns, d, get(client, off.URL, first))
				}
				var mine []pgtest.PgbenchScript
				for w := range conns {
					mine = append(mine, scripts[variant][(first+w)%orgs])
				}
				r, err := pgtest.Pgbench{URL: db.AppURL, Scripts: mine, Duration: d, Dir: b.TempDir()}.Run(ctx)
				if err == nil && r.Failed > 0 {
					err = fmt.Errorf("pgbench %s: %d transactions failed", variant, r.Failed)
				}
				return loadResult{r.TPS, r.Latencies}, err
			}
			// Warm the API's paths (HTTP connections, the pool, statement
			// caches, the page cache); each pgbench phase starts its own
			// processes and prepares its statements once.
			for _, v := range variants[:2] {
				if _, err := phaseOf(v, phase/2, 0); err != nil {
					b.Fatal(err)
				}
			}
			sum := map[string]*loadResult{}
			for _, v := range variants {
				sum[v] = &loadResult{}
			}
			b.ResetTimer()
			for range b.N {
				for range rounds {
					first := mrand.IntN(orgs)
					for _, v := range variants {
						r, err := phaseOf(v, phase, first)
						if err != nil {
							b.Fatal(err)
						}
						sum[v].rate += r.rate / float64(rounds*b.N)
						sum[v].lat = append(sum[v].lat, r.lat...)
					}
				}
			}
			b.StopTimer()
			for _, v := range variants {
				unit := "tx/s"
				if v == "api" || v == "noauth" {
					unit = "req/s"
				}
				b.ReportMetric(sum[v].rate, v+"-"+unit)
				b.ReportMetric(quantileMs(sum[v].lat, 0.5), v+"-p50-ms")
				b.ReportMetric(quantileMs(sum[v].lat, 0.99), v+"-p99-ms")
			}
			api := sum["api"].rate
			b.ReportMetric(api/sum["plain"].rate, "api/plain")
			b.ReportMetric(api/sum["pipelined"].rate, "api/pipelined")
			b.ReportMetric(api/sum["noauth"].rate, "auth-on/off")
			b.ReportMetric(float64(bytesPerResp.Load()), "bytes/resp")
			b.Logf("%d orgs, %d connections: api %.0f req/s (p50 %.2f, p99 %.2f ms), noauth %.0f, plain %.0f tx/s (p50 %.2f), pipelined %.0f tx/s (p50 %.2f): api/plain %.3f, api/pipelined %.3f, on/off %.3f",
				orgs, conns, api, quantileMs(sum["api"].lat, 0.5), quantileMs(sum["api"].lat, 0.99), sum["noauth"].rate,
				sum["plain"].rate, quantileMs(sum["plain"].lat, 0.5), sum["pipelined"].rate, quantileMs(sum["pipelined"].lat, 0.5),
				api/sum["plain"].rate, api/sum["pipelined"].rate, api/sum["noauth"].rate)
		})
	}
}
