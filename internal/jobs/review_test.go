package jobs

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// adminExec runs statements as the cluster superuser: tampering and
// crashes a test cannot cause through the store.
func (e *env) adminExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestSweepEndsJobsTheQueueGaveUp: a job whose River job was discarded
// (its worker died on the last attempt) is ended as failed by the sweep,
// audited, with its reservation settled; a job the queue still holds is
// left alone, and a new request for the proposal is possible again.
func TestSweepEndsJobsTheQueueGaveUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	q := e.newQueue(t, e.st, Options{Workers: 0})
	gone := e.proposal(t, a.producer, "Gone", benignBrief)
	held := e.proposal(t, a.producer, "Held", benignBrief)
	jobGone := e.request(t, q, a.producer, gone.ID)
	jobHeld := e.request(t, q, a.producer, held.ID)
	// The dead worker's state: running with a reservation, River gave up.
	e.adminExec(t, `UPDATE river.river_job SET state = 'discarded', finalized_at = now() WHERE args->>'job_id' = $1`, jobGone.ID.String())
	e.adminExec(t, `UPDATE ai_jobs SET status = 'running', attempt = 5, estimated_tokens = 700, updated_at = now() - interval '2 minutes' WHERE id = $1`, jobGone.ID)
	e.adminExec(t, `INSERT INTO ai_usage (organization_id, month, reserved_tokens) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 700)`, a.org.ID)
	e.adminExec(t, `UPDATE ai_jobs SET updated_at = now() - interval '2 minutes' WHERE id = $1`, jobHeld.ID)

	n, err := e.st.Jobs().SweepStuck(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1", n, err)
	}
	if j := e.job(t, a.producer, jobGone.ID); j.Status != rampart.JobFailed || j.ErrorCode != "queue_gave_up" || j.EstimatedTokens != 0 {
		t.Errorf("swept job = %s/%s, %d reserved", j.Status, j.ErrorCode, j.EstimatedTokens)
	}
	if j := e.job(t, a.producer, jobHeld.ID); j.Status != rampart.JobQueued {
		t.Errorf("a job River still holds was swept: %s", j.Status)
	}
	if b := e.budget(t, a.producer); b.ReservedTokens != 0 || b.UsedTokens != 700 {
		t.Errorf("usage after the sweep %+v, want the reservation settled as used", b)
	}
	if evs := e.jobEvents(t, a.org.ID, jobGone.ID, audit.ActionAIGenerationFailed); len(evs) != 1 {
		t.Errorf("%d failed events for the swept job, want 1", len(evs))
	}
	if n, err := e.st.Jobs().SweepStuck(context.Background()); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want nothing", n, err)
	}
	e.request(t, q, a.producer, gone.ID) // the proposal is free again
}

// TestForgedJobNoticeIsNotTrusted: NOTIFY needs no privilege, so a forged
// job-level notice cancels the attempt's context, but the worker finds the
// job not cancelled in the database, retries, and the job completes.
func TestForgedJobNoticeIsNotTrusted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	key := newKey("forged")
	p := e.proposal(t, a.producer, "Forged "+key, benignBrief)
	prov := newStub(true)
	q := e.startQueue(t, e.st, Options{Workers: 1, Provider: prov})
	job := e.request(t, q, a.producer, p.ID)
	prov.waitRunning(t, key)

	e.adminExec(t, fmt.Sprintf(`NOTIFY %s, '{"scope":"job","job_id":"%s","active":true}'`, store.KillSwitchChannel, job.ID))
	if err := prov.waitEnded(t, key); err == nil {
		t.Fatal("the forged notice did not reach the running call (the test proves nothing)")
	}
	prov.Release(key)
	done := e.waitStatus(t, a.producer, job.ID, rampart.JobSucceeded)
	if done.Attempt < 2 {
		t.Errorf("job finished on attempt %d; the forged notice should have cost one attempt, not the job", done.Attempt)
	}
	if evs := e.jobEvents(t, a.org.ID, job.ID, audit.ActionAIGenerationCancelled); len(evs) != 0 {
		t.Errorf("a forged notice was recorded as a cancellation (%d events)", len(evs))
	}
}

// TestPlatformOrgSwitchIsLocked: an organization switch turned on by a
// platform operator (service path, `rampart killswitch on --org`) cannot
// be turned off by the organization's admins; the operator's "off" unlocks it.
func TestPlatformOrgSwitchIsLocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.seedTenant(t, "org-a")
	ctx := context.Background()
	platform := func(active bool, reason string) {
		t.Helper()
		if err := e.st.AsService(ctx, "test: operator", func(ctx context.Context, tx *store.ServiceTx) error {
			_, err := tx.KillSwitches().SetOrg(ctx, a.org.ID, active, reason, "cli:operator")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	admin := func(active bool) error {
		return e.st.InTenant(ctx, a.admin, func(ctx context.Context, tx *store.TenantTx) error {
			_, err := tx.KillSwitch().Set(ctx, active, "admin says so", "user:"+a.admin.UserID.String())
			return err
		})
	}
	platform(true, "abuse investigation")
	wantKind(t, "admin turning off a platform switch", admin(false), rampart.KindForbidden)
	// Nothing changed: still on, locked, with the operator's reason.
	err := e.st.InTenant(ctx, a.admin, func(ctx context.Context, tx *store.TenantTx) error {
		ks, err := tx.KillSwitch().Get(ctx)
		if err != nil {
			return err
		}
		if !ks.Active || !ks.PlatformLocked || ks.Reason != "abuse investigation" {
			t.Errorf("switch after the admin's attempt = %+v", ks)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	platform(false, "investigation closed")
	if err := admin(true); err != nil {
		t.Fatalf("admin switching on after the operator unlocked: %v", err)
	}
	if err := admin(false); err != nil {
		t.Fatalf("admin switching off their own switch: %v", err)
	}
}
