package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestFeatureFlagCancelsQueuedJob: the worker's own check. A job that is
// still queued while its organization's ai flag is off — queued by a
// request that passed the edge's gate just before an operator's change,
// so the change's cancellation did not see it (simulated by writing the
// flag directly, which cancels nothing) — is cancelled before the model
// is called (feature_disabled, nothing reserved, audited once); the
// other organization's job runs.
func TestFeatureFlagCancelsQueuedJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	b := e.seedTenant(t, "org-b")
	pA := e.proposal(t, a.producer, "Launch", benignBrief)
	pB := e.proposal(t, b.producer, "Launch", benignBrief)
	requester := e.newQueue(t, e.st, Options{Workers: 0})
	jobA := e.request(t, requester, a.producer, pA.ID)
	jobB := e.request(t, requester, b.producer, pB.ID)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, e.db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `INSERT INTO organization_features (organization_id, ai, chat, reason, updated_by)
VALUES ($1, false, true, 'contract paused', 'test')`, a.org.ID); err != nil {
		t.Fatal(err)
	}
	stub := newStub(false)
	e.startQueue(t, e.st, Options{Provider: stub, Workers: 1})
	done := e.waitJob(t, a.admin, jobA.ID, hangAfter, "finished", func(j rampart.AIJob) bool { return rampart.JobFinished(j.Status) })
	if done.Status != rampart.JobCancelled || done.ErrorCode != "feature_disabled" ||
		!strings.Contains(done.CancelReason, "platform operator turned off the ai feature") || done.StartedAt != nil {
		t.Errorf("A's job ended %s (%s, %q, started %v), want cancelled feature_disabled before it started",
			done.Status, done.ErrorCode, done.CancelReason, done.StartedAt)
	}
	if n := len(e.jobEvents(t, a.org.ID, jobA.ID, audit.ActionAIGenerationFeatureBlocked)); n != 1 {
		t.Errorf("%d feature stops audited for A's job, want 1", n)
	}
	if bud := e.budget(t, a.producer); bud.ReservedTokens != 0 || bud.UsedTokens != 0 {
		t.Errorf("A's usage %+v, want nothing reserved or used", bud)
	}
	stub.ReleaseAll()
	e.waitStatus(t, b.producer, jobB.ID, rampart.JobSucceeded)
	// One model call: B's. A's job never reached the provider.
	if calls := stub.Calls(); len(calls) != 1 {
		t.Errorf("%d model calls, want 1 (B's job only)", len(calls))
	}
}
