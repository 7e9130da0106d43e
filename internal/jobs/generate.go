package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/rampart-dev/rampart/internal/agent"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
	"github.com/rampart-dev/rampart/internal/store"
)

// GenerateArgs is the River job of a proposal generation: only ids. The
// brief and everything else are read inside the tenant transaction.
type GenerateArgs struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	JobID          uuid.UUID `json:"job_id"`
}

// Kind is the River job kind.
func (GenerateArgs) Kind() string { return rampart.JobKindProposalGeneration }

type generateWorker struct {
	river.WorkerDefaults[GenerateArgs]
	q *Queue
}

// maxReportedTokens bounds the usage a provider may report for one call.
const maxReportedTokens = 10_000_000

// snoozeFor is how long a job waits when its organization is at its limit
// or the kill-switch state is unknown (River does not count a snooze as an attempt).
const snoozeFor = time.Second

// Work runs one attempt. Returning an error makes River retry with backoff
// (until MaxAttempts); river.JobCancel ends the job for good; nil completes it.
func (w *generateWorker) Work(ctx context.Context, rj *river.Job[GenerateArgs]) error {
	err := w.work(ctx, rj)
	var cancelled *river.JobCancelError
	var snoozed *river.JobSnoozeError
	if err != nil && rj.Attempt >= rj.MaxAttempts && !errors.As(err, &cancelled) && !errors.As(err, &snoozed) {
		// River discards the job after this: end the AI job too, or it
		// would stay "under way" (and keep its reservation) for ever.
		observe.CaptureJobError(rampart.JobKindProposalGeneration, err)
		msg := "the job failed on its last attempt: " + safeMessage(err)
		if ferr := w.q.store.Jobs().Fail(context.WithoutCancel(ctx), rj.Args.OrganizationID, rj.Args.JobID, "attempts_exhausted", msg); ferr != nil {
			w.q.log.Warn("could not end an AI job after its last attempt", "job_id", rj.Args.JobID, "err", ferr)
		}
		w.q.met.outcome(rampart.JobFailed)
	}
	return err
}

func (w *generateWorker) work(ctx context.Context, rj *river.Job[GenerateArgs]) error {
	q := w.q
	org, id, attempt := rj.Args.OrganizationID, rj.Args.JobID, rj.Attempt
	var guardTook time.Duration
	if q.opts.timings != nil {
		start := time.Now()
		defer func() {
			if guardTook > 0 {
				q.opts.timings(guardTook, time.Since(start))
			}
		}()
	}

	release, ok := q.acquireOrg(org)
	if !ok {
		q.met.outcome("snoozed")
		return river.JobSnooze(snoozeFor)
	}
	defer release()
	defer q.met.started()()

	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	unregister := q.opts.Watcher.Register(org, id, cancel)
	defer unregister()

	js, err := q.store.Jobs().Claims(ctx, org, id)
	claims := js.Claims
	switch {
	case rampart.ErrorKind(err) == rampart.KindNotFound:
		return river.JobCancel(err) // the job (or its organization) is gone
	case err != nil:
		return err
	case rampart.JobFinished(js.Status):
		return river.JobCancel(errors.New("the AI job has already finished: " + js.Status))
	case !js.Live:
		return river.JobCancel(q.failOrphan(ctx, org, id, "the requester is no longer a member of the organization"))
	case js.Inputs == nil:
		// The requester's live role no longer reaches the proposal (out of
		// its venue): nobody may run the job.
		return river.JobCancel(q.failOrphan(ctx, org, id, "the requester may no longer run this AI job"))
	}

	// The organization's ai feature flag, read with the claims: a platform
	// operator who turned AI off after this job was queued stops it here,
	// before any model call or reservation.
	if !js.AIEnabled {
		return q.stopForFeature(ctx, claims, id)
	}

	// The kill switches, global then organization, from memory.
	if err := q.opts.Watcher.Check(org); err != nil {
		var st *killswitch.Stopped
		if !errors.As(err, &st) {
			q.met.outcome("snoozed")
			return river.JobSnooze(snoozeFor) // state unknown: fail closed, wait
		}
		return q.stop(ctx, claims, id, 0, st, true)
	}

	// The guard, before any transaction of the attempt (pure computation:
	// no pooled connection waits on it): untrusted inputs become
	// guard.Text, or the job stops.
	guardStart := time.Now()
	data, verdict := q.guardInputs(*js.Inputs)
	guardTook = time.Since(guardStart)
	var req llm.Request
	if !verdict.Blocked {
		req = llm.Request{Prompt: promptFor(js.Kind), Data: data, MaxTokens: q.opts.MaxTokens}
	}

	// One transaction starts the attempt and reserves the token estimate
	// before dispatch. The proposal must still be the version guarded.
	var (
		job     rampart.AIJob
		overrun bool
	)
	reserve := 0
	if !verdict.Blocked {
		reserve = llm.EstimateTokens(req)
	}
	err = q.store.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
		var proposal rampart.Proposal
		var err error
		// The reservation rides in the start's round trip; a changed
		// proposal rolls both back.
		job, proposal, err = tx.AIJobs().Start(ctx, id, store.AttemptInfo{Attempt: attempt, Provider: q.opts.Provider.Name(), Model: q.opts.Provider.Model(),
			OrgLimit: q.opts.PerOrg, Reserve: reserve})
		if err != nil {
			return err
		}
		if !proposal.UpdatedAt.Equal(js.Inputs.UpdatedAt) {
			return errInputsChanged
		}
		overrun = reserve > 0 && job.EstimatedTokens == 0
		return nil
	})
	if errors.Is(err, errInputsChanged) {
		// Edited since it was guarded: nothing started; the next try
		// guards the new text (a snooze is not an attempt).
		q.met.outcome("snoozed")
		return river.JobSnooze(snoozeFor)
	}
	if errors.Is(err, store.ErrOrgAtJobLimit) {
		// Other processes run the organization's limit: wait (a snooze
		// is not an attempt).
		q.met.outcome("snoozed")
		return river.JobSnooze(snoozeFor)
	}
	if rampart.ErrorKind(err) == rampart.KindConflict {
		return river.JobCancel(err) // cancelled or finished meanwhile
	}
	if rampart.ErrorKind(err) == rampart.KindNotFound {
		// The requester's live role can no longer change the job (demoted
		// to a reader, or out of the proposal's venue): nobody may run it.
		return river.JobCancel(q.failOrphan(ctx, org, id, "the requester may no longer run this AI job"))
	}
	if err != nil {
		return err
	}
	if verdict.Blocked {
		return q.refuseInput(ctx, claims, id, attempt, verdict)
	}
	if overrun {
		return q.finish(ctx, claims, id, attempt, store.JobOutcome{Status: rampart.JobRefused, ErrorCode: "budget_exhausted",
			ErrorMessage: "the organization's monthly AI token budget cannot cover this job", Action: audit.ActionAIBudgetExhausted,
			GuardScore: verdict.Score, GuardRules: verdict.Rules()})
	}

	// The model call. Deltas are only counted: partial output is never
	// shown or stored before the whole text has been sanitised.
	streamed := 0
	resp, callErr := q.opts.Provider.Stream(jobCtx, req, func(d string) error {
		streamed += len(d)
		return nil
	})
	if errors.Is(callErr, llm.ErrOutputLeak) {
		// The answer leaked the system prompt or its canary (the input made
		// the model disclose its instructions): nothing is stored, the job
		// is refused for good, the tokens are billed.
		return q.finish(ctx, claims, id, attempt, store.JobOutcome{Status: rampart.JobRefused,
			InputTokens: min(max(resp.Usage.InputTokens, 0), maxReportedTokens), OutputTokens: min(max(resp.Usage.OutputTokens, 0), maxReportedTokens),
			GuardScore: verdict.Score, GuardRules: verdict.Rules(), ErrorCode: "output_leak",
			ErrorMessage: "the model's answer reproduced its instructions or their canary; nothing was stored",
			Action:       audit.ActionAIOutputLeak,
			Metadata: map[string]any{"proposal_id": job.ProposalID, "model": resp.Model, "input_tokens": resp.Usage.InputTokens,
				"output_tokens": resp.Usage.OutputTokens, "usage_estimated": resp.Usage.Estimated}})
	}
	if callErr != nil {
		var st *killswitch.Stopped
		if errors.As(context.Cause(jobCtx), &st) {
			spent := llm.EstimateTokens(llm.Request{Prompt: req.Prompt, Data: req.Data, MaxTokens: 1}) + streamed/4
			return q.stop(context.WithoutCancel(ctx), claims, id, spent, st, false)
		}
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) && attempt < rj.MaxAttempts {
			// Shutdown: River retries; the next attempt releases this
			// one's reservation and takes the job over.
			return callErr
		}
		// A timeout or a failure is recorded (retrying, or failed at the
		// last attempt, so no job is left "running" after River gives up).
		return q.retry(ctx, claims, id, attempt, rj.MaxAttempts, "provider_error", callErr)
	}

	// A switch that flipped after the last delta still wins: nothing is stored.
	var st *killswitch.Stopped
	if errors.As(context.Cause(jobCtx), &st) {
		return q.stop(context.WithoutCancel(ctx), claims, id, resp.Usage.Total(), st, false)
	}
	// Usage comes from the provider: bound it before it meets the budget.
	resp.Usage.InputTokens = min(max(resp.Usage.InputTokens, 0), maxReportedTokens)
	resp.Usage.OutputTokens = min(max(resp.Usage.OutputTokens, 0), maxReportedTokens)

	if _, proposes := agent.ProposalKind(js.Kind); proposes {
		return q.propose(ctx, claims, js.Kind, job, attempt, rj.MaxAttempts, resp, verdict)
	}

	body, err := sanitize.Markdown(resp.Text)
	if err != nil {
		return q.retry(ctx, claims, id, attempt, rj.MaxAttempts, "output_rejected", err)
	}
	err = q.store.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
		if _, err := tx.AIJobs().Finish(ctx, id, attempt, store.JobOutcome{Status: rampart.JobSucceeded,
			InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens,
			GuardScore: verdict.Score, GuardRules: verdict.Rules(), Action: audit.ActionAIGenerationCompleted,
			Metadata: map[string]any{"proposal_id": job.ProposalID, "input_tokens": resp.Usage.InputTokens,
				"output_tokens": resp.Usage.OutputTokens, "usage_estimated": resp.Usage.Estimated,
				"model": resp.Model, "stop_reason": resp.StopReason, "body_bytes": len(body.String())},
			Body: &body}); err != nil {
			return err
		}
		return nil
	})
	if errors.Is(err, store.ErrAttemptSuperseded) {
		_ = q.store.InTenant(context.WithoutCancel(ctx), claims, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.AIJobs().Release(ctx, id, resp.Usage.Total())
		})
		return river.JobCancel(err)
	}
	if err == nil {
		q.met.outcome(rampart.JobSucceeded)
		q.met.used(resp.Usage.InputTokens, resp.Usage.OutputTokens)
	}
	return err
}

// promptFor is the system prompt of a job kind.
func promptFor(kind string) llm.Prompt {
	switch kind {
	case rampart.JobKindBOMDraft:
		return llm.BOMDrafter
	case rampart.JobKindBudgetAnalysis:
		return llm.BudgetAnalyst
	}
	return llm.ProposalWriter
}

// propose ends a job whose agent proposes (bom_drafter, budget_analyst):
// the answer becomes an agent proposal, pending until a person approves
// it, recorded with the job's finish in one agent transaction. An answer
// that is not a valid draft is a failed attempt (retried like output the
// sanitiser rejects); nothing of it is stored.
func (q *Queue) propose(ctx context.Context, claims rampart.Claims, kind string, job rampart.AIJob, attempt, maxAttempts int, resp llm.Response, verdict guard.Verdict) error {
	d, err := agent.Parse(kind, resp.Text)
	if err != nil {
		return q.retry(ctx, claims, job.ID, attempt, maxAttempts, "output_rejected", err)
	}
	var created rampart.PricedAgentProposal
	err = q.store.InAgent(ctx, claims, job.AgentType, func(ctx context.Context, tx *store.AgentTx) error {
		var err error
		created, err = agent.Propose(ctx, tx, job, d, time.Now())
		if err != nil {
			return err
		}
		_, err = tx.FinishJob(ctx, job.ID, attempt, store.JobOutcome{Status: rampart.JobSucceeded,
			InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens,
			GuardScore: verdict.Score, GuardRules: verdict.Rules(), Action: audit.ActionAIGenerationCompleted,
			Metadata: map[string]any{"proposal_id": job.ProposalID, "input_tokens": resp.Usage.InputTokens,
				"output_tokens": resp.Usage.OutputTokens, "usage_estimated": resp.Usage.Estimated,
				"model": resp.Model, "stop_reason": resp.StopReason, "agent_proposal_id": created.ID,
				"proposed_lines": len(d.Change.BOMLines) + len(d.Change.BudgetLines)}})
		return err
	})
	if errors.Is(err, store.ErrAttemptSuperseded) {
		_ = q.store.InTenant(context.WithoutCancel(ctx), claims, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.AIJobs().Release(ctx, job.ID, resp.Usage.Total())
		})
		return river.JobCancel(err)
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		// The draft broke a domain rule (a line the validator refuses).
		return q.retry(ctx, claims, job.ID, attempt, maxAttempts, "output_rejected", err)
	}
	if err == nil {
		q.met.outcome(rampart.JobSucceeded)
		q.met.used(resp.Usage.InputTokens, resp.Usage.OutputTokens)
	}
	return err
}

// errInputsChanged: the proposal changed between the guard's read and the
// start of the attempt.
var errInputsChanged = errors.New("the proposal changed after its inputs were guarded")

// guardInputs passes every untrusted field through the guard, each at its
// own threshold (RAMPART_AI_GUARD_THRESHOLDS); the verdict joins them
// (guard.Join: the rules' scores add up across fields, the model's
// evidence is the strongest field's, held to the highest threshold of the
// fields with findings). The labels are config.GuardFields.
func (q *Queue) guardInputs(p rampart.Proposal) ([]guard.Text, guard.Verdict) {
	fields := []struct{ label, text string }{{"title", p.Title}, {"client", p.ClientName}, {"brief", p.Brief}}
	if p.VenueCode != nil {
		fields = append(fields, struct{ label, text string }{"venue", *p.VenueCode})
	}
	var out []guard.Text
	var vs []guard.Verdict
	for _, f := range fields {
		if f.text == "" {
			continue
		}
		t, v := q.opts.Guard.Inspect(f.label, f.text)
		out = append(out, t)
		vs = append(vs, v)
	}
	all := guard.Join(q.opts.Guard.Threshold(), vs...)
	return out, all
}

// refuseInput ends a job whose input the guard flagged: refused, or held
// for human review, audited with the rules (never the text).
func (q *Queue) refuseInput(ctx context.Context, claims rampart.Claims, id uuid.UUID, attempt int, v guard.Verdict) error {
	out := store.JobOutcome{Status: rampart.JobRefused, GuardScore: v.Score, GuardRules: v.Rules(), ErrorCode: "guard_refused",
		ErrorMessage: "the input looks like a prompt injection and was refused", Action: audit.ActionAIGenerationRefused,
		Metadata: map[string]any{"rules": v.Rules(), "score": v.Score, "rules_score": v.RulesScore, "model_score": v.ModelScore,
			"model_probability": v.ModelProbability, "threshold": v.Threshold, "mode": q.opts.GuardMode}}
	if q.opts.GuardMode == GuardReview {
		out.Status, out.ErrorCode, out.Action = rampart.JobNeedsReview, "guard_review", audit.ActionAIGenerationHeld
		out.ErrorMessage = "the input looks like a prompt injection; a person must review it before any AI work"
	}
	return q.finish(ctx, claims, id, attempt, out)
}

// stop ends a job stopped by a kill switch: cancelled, audited with the
// scope. before says whether the model call had not started yet. It
// returns what Work returns: river.JobCancel, or, for a job-level notice
// the database does not confirm (NOTIFY needs no privilege, so a notice
// may be forged), a plain error so the attempt is retried.
func (q *Queue) stop(ctx context.Context, claims rampart.Claims, id uuid.UUID, spent int, st *killswitch.Stopped, before bool) error {
	forged := false
	err := q.store.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
		if st.Scope == "job" {
			job, err := tx.AIJobs().Get(ctx, id)
			if err != nil {
				return err
			}
			if job.Status != rampart.JobCancelled {
				forged = true
				return nil
			}
			// The requester or an admin marked it cancelled (and audited).
			return tx.AIJobs().Release(ctx, id, spent)
		}
		action := audit.ActionAIGenerationCancelled
		if before {
			action = audit.ActionAIGenerationKillBlocked
		}
		return tx.AIJobs().Stop(ctx, id, st.Scope, st.Error(), action, spent)
	})
	if err != nil {
		q.log.Warn("could not record a kill-switch stop", "job_id", id, "err", err)
	}
	if forged {
		q.log.Warn("job-level kill-switch notice not confirmed by the database; retrying the attempt", "job_id", id)
		q.met.outcome("retrying")
		return errors.New("a job-level kill-switch notice was not confirmed by the database")
	}
	q.met.stopped(st.Scope)
	return river.JobCancel(st)
}

// featureStopReason is the cancel reason of a job whose organization's
// ai flag a platform operator turned off after it was queued.
const featureStopReason = "cancelled before it ran: a platform operator turned off the ai feature for this organization after the job was queued"

// stopForFeature cancels a job whose organization's ai feature flag is
// off (StopForFeature: audited, reservation released). It returns what
// Work returns: river.JobCancel, or the error that made recording fail
// (River retries the attempt, which checks the flag again).
func (q *Queue) stopForFeature(ctx context.Context, claims rampart.Claims, id uuid.UUID) error {
	err := q.store.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.AIJobs().StopForFeature(ctx, id, rampart.FeatureAI, featureStopReason)
	})
	if err != nil {
		return err
	}
	q.met.outcome(rampart.JobCancelled)
	return river.JobCancel(errors.New(featureStopReason))
}

// retry records a failed attempt: retrying (River retries with backoff)
// or, at the last attempt, failed. Only an error code and a safe message
// are stored; the provider's text is never logged or stored.
func (q *Queue) retry(ctx context.Context, claims rampart.Claims, id uuid.UUID, attempt, maxAttempts int, code string, cause error) error {
	out := store.JobOutcome{Status: rampart.JobRetrying, ErrorCode: code, ErrorMessage: safeMessage(cause),
		Action: audit.ActionAIGenerationFailed, Metadata: map[string]any{"will_retry": attempt < maxAttempts, "error_code": code}}
	if attempt >= maxAttempts {
		out.Status = rampart.JobFailed
	}
	if err := q.finish(context.WithoutCancel(ctx), claims, id, attempt, out); err != nil {
		return err
	}
	if out.Status == rampart.JobFailed {
		return river.JobCancel(cause)
	}
	return cause
}

// finish records the outcome; a superseded attempt changes nothing.
func (q *Queue) finish(ctx context.Context, claims rampart.Claims, id uuid.UUID, attempt int, out store.JobOutcome) error {
	q.met.outcome(out.Status)
	err := q.store.InTenant(ctx, claims, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := tx.AIJobs().Finish(ctx, id, attempt, out)
		return err
	})
	if errors.Is(err, store.ErrAttemptSuperseded) {
		return river.JobCancel(err)
	}
	return err
}

// failOrphan ends a job whose requester is no longer a member, or may no
// longer run it: nobody's claims may run it. The service path records it
// (the tenant context needs a member who may).
func (q *Queue) failOrphan(ctx context.Context, org, id uuid.UUID, why string) error {
	err := errors.New(why)
	if serr := q.store.Jobs().Fail(ctx, org, id, "requester_gone", err.Error()); serr != nil {
		q.log.Warn("could not record an orphaned AI job", "job_id", id, "err", serr)
	}
	return err
}

// safeMessage is a short description of an error for the job row: the
// domain message (never the wrapped cause, which may quote the provider).
func safeMessage(err error) string {
	msg := rampart.ErrorMessage(err)
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}
