package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bytes"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestDrillKillNineUnderWriteLoad (issue #12, drill 1, short version):
// four clients create venues through the API as fast as the rate limits
// allow, recording every acknowledged write (201), while `serve` — a real
// OS process — is SIGKILLed 5 times (RAMPART_DRILL_KILLS) and restarted on the same
// database. Afterwards every acknowledged venue exists exactly once with
// exactly one venue.created audit event, no unacknowledged write left an
// event without its row or a row without its event, and `rampart audit
// verify` passes.
func TestDrillKillNineUnderWriteLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills OS processes")
	}
	t.Parallel()
	drillKills := 5 // make drills: RAMPART_DRILL_KILLS=20
	if v, err := strconv.Atoi(os.Getenv("RAMPART_DRILL_KILLS")); err == nil && v > 0 {
		drillKills = v
	}
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	env["RAMPART_LOG_FORMAT"] = "text"
	env["RAMPART_RATE_LIMITS"] = "api=100000/1m,org-api=100000/1m"
	env["RAMPART_AUDIT_SEAL_INTERVAL"] = "1s"
	st := openTestStore(t, db)
	ctx := context.Background()
	token := drillAdminToken(t, st)

	var base atomic.Value // the current serve's URL
	start := func() *osProcess {
		p := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
		base.Store(p.ready(t))
		return p
	}
	serve := start()

	var (
		mu         sync.Mutex
		acked      []string // venue codes answered 201
		attempts   atomic.Int64
		failures   atomic.Int64 // refused connections, resets, 5xx: the process was down
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		client     = &http.Client{Timeout: 5 * time.Second}
		unexpected atomic.Value
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				code := fmt.Sprintf("D%d-%05d", w, n)
				attempts.Add(1)
				req, _ := http.NewRequest(http.MethodPost, base.Load().(string)+"/api/venues",
					strings.NewReader(`{"code":"`+code+`","name":"Drill `+code+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch {
				case res.StatusCode == http.StatusCreated:
					mu.Lock()
					acked = append(acked, code)
					mu.Unlock()
				case res.StatusCode >= 500:
					failures.Add(1)
				default:
					unexpected.Store(fmt.Sprintf("%s: %d %s", code, res.StatusCode, body))
				}
			}
		})
	}
	for k := range drillKills {
		time.Sleep(700 * time.Millisecond)
		if err := serve.cmd.Process.Kill(); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		_ = serve.cmd.Wait()
		serve = start()
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	if v, _ := unexpected.Load().(string); v != "" {
		t.Fatalf("an unexpected answer: %s", v)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d kills: %d writes attempted, %d acknowledged, %d failed while serve was down", drillKills, attempts.Load(), len(acked), failures.Load())
	if len(acked) < 20 {
		t.Fatalf("only %d acknowledged writes: the drill did not load the server", len(acked))
	}

	admin := func(q string, args ...any) int {
		conn, err := pgx.Connect(ctx, db.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := admin(`SELECT count(*)::int FROM venues v WHERE v.code = ANY($1)
AND (SELECT count(*) FROM audit_events e WHERE e.action = 'venue.created' AND e.target_id = v.id::text) = 1`, acked); n != len(acked) {
		t.Errorf("%d of %d acknowledged venues exist with exactly one audit event", n, len(acked))
	}
	if n := admin(`SELECT count(*)::int FROM venues v WHERE v.code LIKE 'D%'
AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.action = 'venue.created' AND e.target_id = v.id::text)`); n != 0 {
		t.Errorf("%d venues without their audit event", n)
	}
	if n := admin(`SELECT count(*)::int FROM audit_events e WHERE e.action = 'venue.created'
AND NOT EXISTS (SELECT 1 FROM venues v WHERE v.id::text = e.target_id)`); n != 0 {
		t.Errorf("%d venue.created events without their venue", n)
	}
	if code, out, errOut := run(t, env, "audit", "verify"); code != 0 {
		t.Errorf("audit verify after the kills: %d\n%s\n%s", code, out, errOut)
	}
}

// drillAdminToken seeds an organization with an admin and returns an API
// token of theirs, signed with externalEnv's token key.
func drillAdminToken(t testing.TB, st *store.Store) string {
	t.Helper()
	_, token := drillOrgAdmin(t, st, "Drill Co", "drill-co", "admin@drill.example")
	return token
}

// drillOrgAdmin seeds organization name (slug) with admin email and
// returns the admin's claims and an API token of theirs, signed with
// externalEnv's token key.
func drillOrgAdmin(t testing.TB, st *store.Store, name, slug, email string) (rampart.Claims, string) {
	t.Helper()
	ctx := context.Background()
	var c rampart.Claims
	err := st.AsService(ctx, "drill fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, name, slug)
		if err != nil {
			return err
		}
		u, err := tx.Provision().UpsertUser(ctx, email, "")
		if err != nil {
			return err
		}
		c = rampart.Claims{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleAdmin}
		return tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleAdmin})
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseTokenKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(keys, tokenIssuer, tokenAudience)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := member.CreateToken(ctx, st, tokens, c, member.TokenInput{Name: "drill", ExpiresInDays: 1,
		Grant: member.Grant{Role: rampart.RoleAdmin}}, store.ClientInfo{UserAgent: "drill"})
	if err != nil {
		t.Fatal(err)
	}
	return c, raw
}
