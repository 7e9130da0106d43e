package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/demo"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestWorkerScaleOut: `serve` with no AI workers requests a generation;
// a separate `rampart worker` on the same embedded cluster works it.
func TestWorkerScaleOut(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	env := map[string]string{"RAMPART_DATA_DIR": dir, "RAMPART_LOG_FORMAT": "text", "RAMPART_AI_WORKERS": "0"}
	r := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	r.waitListen(t)

	wenv := map[string]string{"RAMPART_DATA_DIR": dir, "RAMPART_LOG_FORMAT": "text", "RAMPART_AI_WORKERS": "2",
		"RAMPART_AI_POLL_INTERVAL": "20ms"}
	w := start(t, wenv, "worker")
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(w.out.String()+w.errOut.String(), "worker ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not get ready:\n%s\n%s", w.out, w.errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A client of the same database: the demo producer asks for the demo proposal.
	ctx := context.Background()
	code, appURL, _ := run(t, env, "db", "url")
	if code != 0 {
		t.Fatalf("db url: %d", code)
	}
	appURL = strings.TrimSpace(appURL)
	serviceURL := strings.Replace(appURL, "postgres://rampart@", "postgres://"+store.ServiceLogin("rampart")+"@", 1)
	keys, err := auth.LoadOrCreateKeyFile(filepath.Join(dir, "secrets", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auditKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, appURL, store.Options{ServiceURL: serviceURL, Audit: ring})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var producer rampart.Claims
	err = st.AsService(ctx, "test: find the demo producer", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().OrganizationBySlug(ctx, demo.Slug)
		if err != nil {
			return err
		}
		u, err := tx.Provision().UpsertUser(ctx, string(rampart.RoleProducer)+"@"+demo.Domain, "")
		producer = rampart.Claims{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleProducer}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	proposals, err := store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) ([]rampart.ProposalSummary, error) {
		page, _, err := tx.Proposals().List(ctx, 10, nil)
		return page, err
	})
	if err != nil || len(proposals) != 1 {
		t.Fatalf("demo proposals: %d, %v", len(proposals), err)
	}
	provider, _ := llm.New(llm.Config{})
	g, _ := guard.New(guard.Options{})
	watcher, _ := killswitch.New(st, killswitch.Options{})
	if err := watcher.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, st, jobs.Options{Provider: provider, Guard: g, Watcher: watcher, Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	job, err := q.Request(ctx, producer, proposals[0].ID, "proposal_writer")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		j, err := store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) (rampart.AIJob, error) {
			return tx.AIJobs().Get(ctx, job.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == rampart.JobSucceeded {
			break
		}
		if rampart.JobFinished(j.Status) || time.Now().After(deadline) {
			t.Fatalf("job %s (%s) after %s; worker log:\n%s", j.Status, j.ErrorCode, time.Since(deadline.Add(-60*time.Second)), w.errOut)
		}
	}
	p, err := store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
		return tx.Proposals().Get(ctx, proposals[0].ID)
	})
	if err != nil || p.Status != rampart.ProposalAIPendingReview || !strings.Contains(p.BodyHTML, "650") {
		t.Fatalf("proposal after the worker's job: %s, %v; body mentions the brief's 650 guests: %v", p.Status, err, strings.Contains(p.BodyHTML, "650"))
	}
}
