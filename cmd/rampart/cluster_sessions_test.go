package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/redistest"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestClusterSessionsAndOrgKillSwitch completes TestClusterOfRealProcesses
// (issue #12): with two serve and a worker as OS processes on one database
// and one Redis, a session signed in on one serve is valid on the other
// and signing out on that other ends it on both; and the organization
// kill switch, turned on through one serve's API by the organization's
// admin, stops the organization's AI jobs running in all three processes,
// and the other serve refuses new ones with 423.
func TestClusterSessionsAndOrgKillSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three OS processes")
	}
	t.Parallel()
	db := pgtest.New(t)
	model := newScriptedModel(t, 1000)
	env := externalEnv(db, db.AppURL)
	for k, v := range map[string]string{
		"RAMPART_LOG_FORMAT": "text", "RAMPART_REDIS_URL": redistest.Start(t), "RAMPART_DATA_DIR": dataDir(t),
		"RAMPART_AI_ORG_CONCURRENCY": "6",
	} {
		env[k] = v
	}
	env = aiEnv(env, model, "2")
	serveA := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	serveB := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	worker := startOS(t, env, "worker")
	urlA, urlB := serveA.ready(t), serveB.ready(t)
	worker.ready(t)
	st := openTestStore(t, db)
	admin, token := drillOrgAdmin(t, st, "Cluster Sessions Co", "cluster-sessions", "admin@cluster-sessions.example")

	// Signed in on A (a magic link from A's outbox, opened and confirmed on A).
	res, err := http.Post(urlA+"/api/auth/login-link", "application/json", strings.NewReader(`{"email":"admin@cluster-sessions.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var link string
	for deadline := time.Now().Add(30 * time.Second); link == ""; time.Sleep(50 * time.Millisecond) {
		_, out, _ := run(t, env, "mail", "outbox", "--to", "admin@cluster-sessions.example", "--last", "1")
		link = outboxLinkRE.FindString(out)
		if link == "" && time.Now().After(deadline) {
			t.Fatalf("no sign-in link in the outbox:\n%s", out)
		}
	}
	onA := &plainClient{t: t, base: urlA, cookies: map[string]string{}}
	onA.redeem(link)
	onB := &plainClient{t: t, base: urlB, cookies: onA.cookies} // the same cookies, the other serve
	for _, c := range []*plainClient{onA, onB} {
		if status, me := c.do(http.MethodGet, "/api/me", ""); status != http.StatusOK || !strings.Contains(fmt.Sprint(me), "admin@cluster-sessions.example") {
			t.Fatalf("GET /api/me on %s with the session from A: %d %v", c.base, status, me)
		}
	}

	// Six jobs of the organization: two per process.
	requester := drillRequester(t, st)
	var ids []rampart.AIJob
	for i := range 6 {
		p, err := store.InTenantValue(context.Background(), st, admin, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
			return tx.Proposals().Create(ctx, rampart.Proposal{ProposalSummary: rampart.ProposalSummary{Title: fmt.Sprintf("Gala %d", i), ClientName: "Acme"},
				Brief: "An evening gala for 300 guests with a stage, live music and dinner."})
		})
		if err != nil {
			t.Fatal(err)
		}
		j, err := requester.Request(context.Background(), admin, p.ID, "proposal_writer")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j)
	}
	for deadline := time.Now().Add(60 * time.Second); model.inFlight.Load() < 6; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d model calls in flight, want 6 (two per process)", model.inFlight.Load())
		}
	}

	// The organization's switch, through A's API, with the session.
	if status, body := onA.do(http.MethodPut, "/api/killswitch", `{"active":true,"reason":"cluster drill"}`); status != http.StatusOK {
		t.Fatalf("PUT /api/killswitch on A: %d %v", status, body)
	}
	switched := time.Now()
	for deadline := time.Now().Add(30 * time.Second); model.inFlight.Load() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d model calls still running after the organization's switch", model.inFlight.Load())
		}
	}
	t.Logf("the organization's switch on A closed the 6 model streams of 3 processes within %s of its answer", time.Since(switched).Round(time.Millisecond))
	api := drillAPI{base: urlA, token: token, client: &http.Client{Timeout: 10 * time.Second}}
	for _, j := range ids {
		var got rampart.AIJob
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			api.json(t, http.MethodGet, "/api/jobs/"+j.ID.String(), "", http.StatusOK, &got)
			if rampart.JobFinished(got.Status) || time.Now().After(deadline) {
				break
			}
		}
		if got.Status != rampart.JobCancelled || got.ErrorCode != "kill_switch_organization" {
			t.Errorf("job %s after the organization's switch: %s (%s)", j.ID, got.Status, got.ErrorCode)
		}
	}
	// B refuses new work for the organization.
	if status, body := onB.do(http.MethodPost, "/api/proposals/"+ids[0].ProposalID.String()+"/generate", ""); status != http.StatusLocked {
		t.Errorf("generate on B with the organization's switch on: %d %v, want 423", status, body)
	}

	// Signed out on B: the session is over on A too, whatever cookie A is shown.
	kept := map[string]string{}
	for k, v := range onB.cookies {
		kept[k] = v
	}
	if status, body := onB.do(http.MethodPost, "/api/auth/logout", ""); status/100 != 2 {
		t.Fatalf("logout on B: %d %v", status, body)
	}
	onA.cookies = kept
	if status, _ := onA.do(http.MethodGet, "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me on A after signing out on B: %d, want 401", status)
	}
}
