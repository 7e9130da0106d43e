package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/privacy"
	"github.com/rampart-dev/rampart/internal/refusal"
	"github.com/rampart-dev/rampart/internal/sanitize"
	"github.com/rampart-dev/rampart/internal/store"
)

// periodicTask is work the cluster does once per interval, whatever the
// number of serve and worker processes: every process ticks, and a tick
// runs the task only when it claims it (store.ClaimPeriodic).
type periodicTask struct {
	name  string
	every time.Duration
	first time.Duration // until the first tick (default: every)
	run   func(ctx context.Context) (result string, err error)
}

// claimGap is how long after a run's start no other run may start: most
// of an interval, so that the ticks of several processes, each a little
// late, still add up to one run per interval.
func claimGap(every time.Duration) time.Duration { return every - every/10 }

// runPeriodic runs the tasks until ctx ends.
func runPeriodic(ctx context.Context, st *store.Store, log *slog.Logger, by string, tasks []periodicTask) {
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := t.first
			if first <= 0 {
				first = t.every
			}
			timer := time.NewTimer(first)
			defer timer.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				runOnce(ctx, st, log, by, t)
				timer.Reset(t.every)
			}
		}()
	}
	wg.Wait()
}

func runOnce(ctx context.Context, st *store.Store, log *slog.Logger, by string, t periodicTask) {
	mine, err := st.Periodic().Claim(ctx, t.name, claimGap(t.every), by)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("claim periodic task", "task", t.name, "err", err)
		}
		return
	}
	if !mine {
		return // another process runs it this interval
	}
	result, runErr := t.run(ctx)
	if runErr != nil && ctx.Err() == nil {
		log.Error("periodic task failed", "task", t.name, "err", runErr)
	}
	// The record outlives a shutdown that cancelled the run.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := st.Periodic().Finish(fctx, t.name, result, runErr); err != nil {
		log.Error("record periodic task", "task", t.name, "err", err)
	}
}

// processName names this process (one run of a command) in the periodic
// tasks' records: the command, host, pid and a random instance id.
func processName(cmd string) string {
	host, _ := os.Hostname()
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	return fmt.Sprintf("rampart %s %s/%d/%x", cmd, host, os.Getpid(), id)
}

// maintenanceTasks are the cluster's periodic work: sealing the audit log
// every sealEvery, the retention purge once a day (first a minute after
// start), ending the AI jobs the queue gave up on every minute, and the
// chat turns whose answer was abandoned (still answering a minute past
// aiTimeout, the provider's time limit) every minute.
func maintenanceTasks(st *store.Store, log *slog.Logger, sealEvery time.Duration, retentionMonths int, aiTimeout time.Duration) []periodicTask {
	return []periodicTask{
		{name: "audit_seal", every: sealEvery, run: func(ctx context.Context) (string, error) {
			n, err := st.Audit().Seal(ctx)
			return fmt.Sprintf("sealed %d events", n), err
		}},
		{name: "audit_retention", every: 24 * time.Hour, first: time.Minute, run: func(ctx context.Context) (string, error) {
			res, err := st.Audit().Purge(ctx, time.Now().AddDate(0, -retentionMonths, 0))
			var events int64
			for _, r := range res {
				events += r.Events
				log.Info("audit retention purged events", "chain", r.Chain, "events", r.Events, "through_seal", r.ThroughSeal)
			}
			return fmt.Sprintf("purged %d events in %d chains", events, len(res)), err
		}},
		{name: "ai_job_sweep", every: time.Minute, run: func(ctx context.Context) (string, error) {
			n, err := st.Jobs().SweepStuck(ctx)
			if n > 0 {
				log.Warn("ended AI jobs the queue gave up on", "jobs", n)
			}
			return fmt.Sprintf("ended %d jobs", n), err
		}},
		{name: "chat_sweep", every: time.Minute, run: func(ctx context.Context) (string, error) {
			n, err := st.Periodic().SweepStaleChat(ctx, aiTimeout+time.Minute)
			if n > 0 {
				log.Warn("ended chat turns whose answer was abandoned", "turns", n)
			}
			return fmt.Sprintf("ended %d chat turns", n), err
		}},
		// Agent proposals wait a week for a person; then they expire
		// (decisions check the time too, so a late sweep never lets an
		// expired proposal be approved).
		{name: "agent_proposal_expiry", every: time.Minute, first: 15 * time.Second, run: func(ctx context.Context) (string, error) {
			return expireAgentProposals(ctx, st, time.Now())
		}},
		// Processed Stripe event ids are kept 90 days (docs/billing.md):
		// far beyond the signature's tolerance, which refuses older
		// deliveries anyway.
		{name: "stripe_event_prune", every: 24 * time.Hour, first: 2 * time.Minute, run: func(ctx context.Context) (string, error) {
			n, err := st.Billing().PruneStripeEvents(ctx, time.Now().Add(-billing.EventIDRetention))
			return fmt.Sprintf("pruned %d Stripe event ids", n), err
		}},
		// Rate-limit refusal counters are kept 400 days (decision 0029).
		{name: "rate_limit_refusal_prune", every: 24 * time.Hour, first: 3 * time.Minute, run: func(ctx context.Context) (string, error) {
			n, err := st.RateLimitRefusals().Prune(ctx, time.Now().Add(-refusal.Retention))
			return fmt.Sprintf("pruned %d rate-limit refusal counters", n), err
		}},
		// Data exports (docs/privacy.md): pending requests are built into
		// their archives here, each in its requester's tenant transaction.
		{name: "privacy_exports", every: 10 * time.Second, first: 5 * time.Second, run: func(ctx context.Context) (string, error) {
			n, err := privacy.BuildPending(ctx, st, 20)
			if n > 0 {
				log.Info("built data exports", "exports", n)
			}
			return fmt.Sprintf("built %d exports", n), err
		}},
		// Bodies are sanitised once, on write; a policy change (a new
		// sanitize.Version) reaches the stored ones here, in batches,
		// soon after start-up and hourly after that.
		{name: "resanitize_bodies", every: time.Hour, first: 10 * time.Second, run: func(ctx context.Context) (string, error) {
			n, err := st.Periodic().ResanitizeBodies(ctx, 500)
			if n > 0 {
				log.Info("re-sanitised proposal bodies written under an older policy", "bodies", n, "policy", sanitize.Version)
			}
			if err != nil {
				return fmt.Sprintf("re-sanitised %d bodies", n), err
			}
			a, err := st.Periodic().ResanitizeChatAnswers(ctx, 500)
			if a > 0 {
				log.Info("re-sanitised chat answers written under an older policy", "answers", a, "policy", sanitize.Version)
			}
			return fmt.Sprintf("re-sanitised %d bodies and %d chat answers", n, a), err
		}},
	}
}

// expireAgentProposals marks every pending agent proposal whose week ended
// by now expired, in batches of 500 (each batch one service transaction,
// one audit event per proposal).
func expireAgentProposals(ctx context.Context, st *store.Store, now time.Time) (string, error) {
	total := 0
	for {
		n, err := st.Periodic().ExpireAgentProposals(ctx, now, 500)
		total += n
		if err != nil || n < 500 {
			return fmt.Sprintf("expired %d agent proposals", total), err
		}
	}
}
