package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// TestServeRecordsRefusalsAtShutdown: a serve with a one-request api tier
// answers a token's second request 429; stopping serve flushes the
// in-memory count (well before the 10 s tick), so the organization's
// refusal is in rate_limit_refusals once serve has exited.
func TestServeRecordsRefusalsAtShutdown(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	env["RAMPART_DATA_DIR"] = dataDir(t)
	env["RAMPART_RATE_LIMITS"] = "api=1/1h"
	st := openTestStore(t, db)
	admin, token := drillOrgAdmin(t, st, "Refused Co", "refused", "admin@refused.example")
	r := start(t, env, "serve", "--addr", "127.0.0.1:0")
	base := "http://" + r.waitListen(t).String()
	var got []int
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		got = append(got, res.StatusCode)
	}
	if got[0] != http.StatusOK || got[1] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 200 then 429", got)
	}
	r.cancel()
	if code := r.wait(t); code != 0 {
		t.Fatalf("serve exited with %d\n%s", code, r.errOut)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(refusals), 0)::int FROM rate_limit_refusals WHERE organization_id = $1 AND tier = 'api'`,
		admin.OrganizationID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d refusals recorded at shutdown, want 1\n%s", n, r.errOut)
	}
}
