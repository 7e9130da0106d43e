package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Decision 0027: two serve processes and a worker, as real OS processes
// on one database, each running two AI jobs. The global kill switch stops
// all six; every process records an acknowledgement of that change with
// the jobs it stopped, and the counts are what happened (two each, six in
// all, six model calls aborted). `killswitch status` lists the three live
// processes as acknowledged with their counts, and flags a process whose
// heartbeat stopped as stale and not acknowledged.
func TestKillSwitchAcknowledgementsOfRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three OS processes")
	}
	t.Parallel()
	db := pgtest.New(t)
	model := newSlowModel(t)
	env := externalEnv(db, db.AppURL)
	for k, v := range map[string]string{
		"RAMPART_LOG_FORMAT": "text", "RAMPART_TEST_PROCESS_HEARTBEAT": "500ms",
		"RAMPART_LLM": "openai", "RAMPART_OPENAI_BASE_URL": model.srv.URL + "/v1", "RAMPART_LLM_MODEL": "slow",
		"RAMPART_AI_WORKERS": "2", "RAMPART_AI_ORG_CONCURRENCY": "6", "RAMPART_AI_POLL_INTERVAL": "50ms",
	} {
		env[k] = v
	}
	procs := []*osProcess{startOS(t, env, "serve", "--addr", "127.0.0.1:0"), startOS(t, env, "serve", "--addr", "127.0.0.1:0"), startOS(t, env, "worker")}
	for _, p := range procs {
		p.ready(t)
	}
	st := openTestStore(t, db)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	pids := map[int]bool{}
	for _, p := range procs {
		pids[p.cmd.Process.Pid] = true
	}
	// Each process registered itself (audited) before it said it was ready.
	var registered, events int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM rampart_processes WHERE stopped_at IS NULL AND pid = ANY($1)),
  (SELECT count(*) FROM audit_events WHERE action = 'operations.process.started')`, mapKeys(pids)).Scan(&registered, &events); err != nil || registered != 3 || events != 3 {
		t.Fatalf("registered processes %d, events %d, %v", registered, events, err)
	}

	producer := seedProducer(t, st)
	provider, _ := llm.New(llm.Config{})
	g, _ := guard.New(guard.Options{})
	watcher, _ := killswitch.New(st, killswitch.Options{})
	if err := watcher.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	requester, err := jobs.New(ctx, st, jobs.Options{Provider: provider, Guard: g, Watcher: watcher, Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = requester.Stop(context.Background()) })
	// six jobs in flight, two per process (each runs two at a time).
	sixInFlight := func(round int) {
		t.Helper()
		if err := watcher.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			p, err := store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
				code := "HALL"
				return tx.Proposals().Create(ctx, rampart.Proposal{ProposalSummary: rampart.ProposalSummary{
					Title: fmt.Sprintf("Gala %d.%d", round, i), ClientName: "Acme", VenueCode: &code},
					Brief: "An evening gala for 300 guests with a stage, live music and dinner."})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := requester.Request(ctx, producer, p.ID, "proposal_writer"); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(60 * time.Second); model.inFlight.Load() < 6; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d model calls in flight, want 6 (two per process)", round, model.inFlight.Load())
			}
		}
	}
	allAborted := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); model.inFlight.Load() > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d model calls still running after the kill switch", model.inFlight.Load())
			}
		}
		if n := model.aborted.Load(); n != want {
			t.Fatalf("%d model calls aborted, want %d", n, want)
		}
	}
	type ackRow struct {
		pid, jobs, streams int
		active             bool
	}
	// acksOf waits for one acknowledgement per process of the switch's
	// current change (query: pid, jobs, streams, active) totalling jobs.
	acksOf := func(query string, jobs int) []ackRow {
		t.Helper()
		var acks []ackRow
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			rows, err := admin.Query(ctx, query)
			if err != nil {
				t.Fatal(err)
			}
			acks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ackRow, error) {
				var a ackRow
				return a, r.Scan(&a.pid, &a.jobs, &a.streams, &a.active)
			})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, a := range acks {
				total += a.jobs
			}
			if (len(acks) == 3 && total == jobs) || time.Now().After(deadline) {
				return acks
			}
		}
	}

	// The global switch.
	sixInFlight(1)
	if code, out, errOut := run(t, env, "killswitch", "on", "--global", "--reason", "acknowledgement test"); code != 0 {
		t.Fatalf("killswitch on: %d %s %s", code, out, errOut)
	}
	allAborted(6)
	acks := acksOf(`SELECT p.pid, a.jobs_stopped, a.streams_closed, a.active FROM killswitch_acks a
JOIN rampart_processes p ON p.id = a.process_id
WHERE a.switch_changed_at = (SELECT changed_at FROM platform_kill_switch) ORDER BY p.pid`, 6)
	if len(acks) != 3 {
		t.Fatalf("acknowledgements %+v, want one per process", acks)
	}
	for _, a := range acks {
		if !pids[a.pid] || a.jobs != 2 || a.streams != 0 || !a.active {
			t.Errorf("global acknowledgement %+v, want 2 jobs stopped by an active switch in one of %v", a, pids)
		}
	}
	var lags []string
	if rows, err := admin.Query(ctx, `SELECT (extract(epoch FROM installed_at - switch_changed_at) * 1000)::int, (extract(epoch FROM recorded_at - switch_changed_at) * 1000)::int
FROM killswitch_acks WHERE switch_changed_at = (SELECT changed_at FROM platform_kill_switch)`); err == nil {
		for rows.Next() {
			var inst, rec int
			if rows.Scan(&inst, &rec) == nil {
				lags = append(lags, fmt.Sprintf("installed +%d ms, recorded +%d ms", inst, rec))
			}
		}
		rows.Close()
	}
	t.Logf("after the global change: %s", strings.Join(lags, "; "))
	var ackEvents int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'killswitch.acknowledged' AND organization_id IS NULL`).Scan(&ackEvents); err != nil || ackEvents != 3 {
		t.Fatalf("acknowledgement events: %d %v", ackEvents, err)
	}

	// Lowered: acknowledged with nothing stopped. Then the organization's
	// switch stops the next six jobs, two per process.
	if code, out, errOut := run(t, env, "killswitch", "off", "--global", "--reason", "acknowledgement test over"); code != 0 {
		t.Fatalf("killswitch off: %d %s %s", code, out, errOut)
	}
	for _, a := range acksOf(`SELECT p.pid, a.jobs_stopped, a.streams_closed, a.active FROM killswitch_acks a
JOIN rampart_processes p ON p.id = a.process_id
WHERE a.switch_changed_at = (SELECT changed_at FROM platform_kill_switch) ORDER BY p.pid`, 0) {
		if a.active || a.jobs != 0 {
			t.Errorf("lowering acknowledged as %+v", a)
		}
	}
	sixInFlight(2)
	if code, out, errOut := run(t, env, "killswitch", "on", "--org", "cluster-co", "--reason", "organization acknowledgement test"); code != 0 {
		t.Fatalf("killswitch on --org: %d %s %s", code, out, errOut)
	}
	allAborted(12)
	acks = acksOf(`SELECT p.pid, a.jobs_stopped, a.streams_closed, a.active FROM org_killswitch_acks a
JOIN rampart_processes p ON p.id = a.process_id
JOIN org_kill_switches k ON k.organization_id = a.organization_id AND k.changed_at = a.switch_changed_at
ORDER BY p.pid`, 6)
	if len(acks) != 3 {
		t.Fatalf("organization acknowledgements %+v, want one per process", acks)
	}
	for _, a := range acks {
		if !pids[a.pid] || a.jobs != 2 || !a.active {
			t.Errorf("organization acknowledgement %+v, want 2 jobs stopped", a)
		}
	}
	var orgEvents int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'killswitch.acknowledged' AND organization_id = $1`, producer.OrganizationID).Scan(&orgEvents); err != nil || orgEvents != 3 {
		t.Fatalf("the organization's acknowledgement events: %d %v", orgEvents, err)
	}

	// A process that stopped beating (killed without a clean stop) shows
	// stale and not acknowledged.
	if _, err := admin.Exec(ctx, `INSERT INTO rampart_processes (id, role, hostname, pid, version, started_at, last_seen)
VALUES (gen_random_uuid(), 'worker', 'gone-host', 4242, 'old', now() - interval '1 hour', now() - interval '10 minutes')`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, env, "killswitch", "status", "--org", "cluster-co")
	if code != 0 {
		t.Fatalf("status: %d %s", code, errOut)
	}
	t.Logf("killswitch status --org cluster-co:\n%s", out)
	global, org, ok := strings.Cut(out, "organization: ")
	if !ok || !strings.Contains(global, "global:       off") || !strings.Contains(global, "processes: 4 live, 3 acknowledged the latest change") ||
		!strings.HasPrefix(org, "ON") || !strings.Contains(org, "processes: 4 live, 3 acknowledged the latest change") {
		t.Fatalf("status:\n%s", out)
	}
	for pid := range pids {
		if !regexp.MustCompile(fmt.Sprintf(`/%d\s+\S+\s+acknowledged at \S+: 0 jobs stopped, 0 streams closed\n`, pid)).MatchString(global) {
			t.Errorf("process %d not listed under the global switch as acknowledged with 0 jobs:\n%s", pid, out)
		}
		if !regexp.MustCompile(fmt.Sprintf(`/%d\s+\S+\s+acknowledged at \S+: 2 jobs stopped, 0 streams closed\n`, pid)).MatchString(org) {
			t.Errorf("process %d not listed under the organization's switch as acknowledged with 2 jobs:\n%s", pid, out)
		}
	}
	for _, part := range []string{global, org} {
		if !regexp.MustCompile(`gone-host/4242\s+\S+\s+NOT acknowledged — STALE: last heartbeat`).MatchString(part) {
			t.Errorf("the stale process is not flagged:\n%s", out)
		}
	}
}

func mapKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
