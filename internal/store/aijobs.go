package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// From queries/aijobs.sql.
var (
	sqlCreateAIJob            = query("CreateAIJob")
	sqlSetAIJobQueueID        = query("SetAIJobQueueID")
	sqlGetAIJob               = query("GetAIJob")
	sqlLockAIJob              = query("LockAIJob")
	sqlProposalAIJobs         = query("ProposalAIJobs")
	sqlAIJobsSince            = query("AIJobsSince")
	sqlActiveAIJobForProposal = query("ActiveAIJobForProposal")
	sqlActiveAIJobAndBacklog  = query("ActiveAIJobAndBacklog")
	sqlCancelAIJob            = query("CancelAIJob")
	sqlStartAIJob             = query("StartAIJob")
	sqlLockOrgAIJobs          = query("LockOrgAIJobs")
	sqlFinishAIJob            = query("FinishAIJob")
	sqlLockAIJobReservation   = query("LockAIJobReservation")
	sqlProposalOfJob          = query("ProposalOfJob")
	sqlAIJobClaims            = query("AIJobClaims")
	sqlSetAIJobClaims         = query("SetAIJobClaims")
	sqlAIJobInputs            = query("AIJobInputs")
)

// Limits of the progress stream's pages.
const MaxJobEvents = 500

// QueueRequest names the queue job that carries an AI job to a worker.
type QueueRequest struct {
	// BacklogCap bounds the count of the organization's unfinished jobs
	// given to Insert (0: not counted, backlog is 0).
	BacklogCap int
	// Insert returns the queue insert of job; backlog is how many of the
	// organization's jobs were unfinished before it (every venue's, at
	// most BacklogCap): the queue schedules by it (decision 0011).
	Insert func(job rampart.AIJob, backlog int) QueueInsert
}

// RequestAIJob records an AI generation request for a proposal and inserts
// its queue job in the same transaction as the request's audit event: all
// three commit together or not at all. A proposal with an unfinished job
// is a conflict.
func (tx AIJobsTx) Request(ctx context.Context, proposalID uuid.UUID, agentType string, enqueue QueueRequest) (rampart.AIJob, error) {
	const op = "store.RequestAIJob"
	c := tx.tc
	kind := rampart.JobKindFor(agentType)
	// A generation locks the proposal (its editors hold that right); the
	// proposing agents only read it: a technical director, who edits no
	// proposal, may still ask bom_drafter. Either way the partial unique
	// index ai_jobs_one_unfinished (017) keeps one unfinished job per
	// proposal and kind under concurrent requests.
	var p rampart.ProposalSummary
	if kind == rampart.JobKindProposalGeneration {
		full, err := ProposalsTx(tx).lock(ctx, op, proposalID)
		if err != nil {
			return rampart.AIJob{}, err
		}
		p = full.ProposalSummary
	} else {
		var err error
		if p, err = ProposalsTx(tx).Summary(ctx, proposalID); err != nil {
			return rampart.AIJob{}, err
		}
	}
	var busy bool
	var backlog int
	if err := tx.queryRow(ctx, sqlActiveAIJobAndBacklog, c.OrganizationID, proposalID, enqueue.BacklogCap, kind).Scan(&busy, &backlog); err != nil {
		return rampart.AIJob{}, classify(op, err)
	}
	if busy {
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindConflict, "a %s job for this proposal is already queued or running", kind)
	}
	job, err := scanAIJob(tx.queryRow(ctx, sqlCreateAIJob, c.OrganizationID, kind, p.ID, p.VenueCode, agentType, c.UserID))
	if err != nil {
		return job, classify(op, err)
	}
	qid, err := tx.insertQueueJob(ctx, enqueue.Insert(job, backlog))
	if err != nil {
		return job, classify(op, err)
	}
	if _, err := tx.exec(ctx, sqlSetAIJobQueueID, c.OrganizationID, job.ID, qid); err != nil {
		return job, classify(op, err)
	}
	return job, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAIGenerationRequested,
		TargetType: "ai_job", TargetID: job.ID.String(), After: snapshot(job),
		Metadata: metadata(map[string]any{"proposal_id": p.ID, "agent_type": agentType})}))
}

// AIJob reads one job; another tenant's is not found.
func (tx AIJobsTx) Get(ctx context.Context, id uuid.UUID) (rampart.AIJob, error) {
	const op = "store.AIJob"
	c := tx.tc
	j, err := scanAIJob(tx.queryRow(ctx, sqlGetAIJob, c.OrganizationID, id))
	return j, classify(op, err)
}

// ProposalAIJobs lists a proposal's latest jobs.
func (tx AIJobsTx) ForProposal(ctx context.Context, proposalID uuid.UUID) ([]rampart.AIJob, error) {
	const op = "store.ProposalAIJobs"
	c := tx.tc
	rows, err := tx.query(ctx, sqlProposalAIJobs, c.OrganizationID, proposalID)
	return collectAIJobs(op, rows, err)
}

// JobCursor is a position in the stream of job changes.
type JobCursor struct {
	UpdatedAt time.Time
	ID        uuid.UUID
}

// AIJobsSince lists the jobs of the tenant changed after cursor, oldest
// change first. RLS limits it to the caller's organization (and venues).
// The progress stream reads through AIJobEvents, which adds a check of
// the stream's credential.
func (tx AIJobsTx) Since(ctx context.Context, after JobCursor, limit int) ([]rampart.AIJob, error) {
	const op = "store.AIJobsSince"
	c := tx.tc
	if limit <= 0 || limit > MaxJobEvents {
		limit = MaxJobEvents
	}
	rows, err := tx.query(ctx, sqlAIJobsSince, c.OrganizationID, after.UpdatedAt, after.ID, limit)
	return collectAIJobs(op, rows, err)
}

// The progress stream's credential re-check (AIJobEvents). The session
// check is auth_resolve_session's condition without its renewal: a stream
// cannot send the renewed cookie, and a session renewed behind its
// cookie's back would still end at the cookie's expiry. Under the
// stream's claims RLS shows the app role only the caller's own session
// and its organization's memberships, so a session moved to another
// organization finds no row. A token is checked by auth_resolve_token
// itself (it only stamps last_used_at, at most once a minute). From
// queries/aijobs.sql.
var (
	sqlStreamSessionClaims = query("StreamSessionClaims")
	sqlStreamTokenClaims   = query("StreamTokenClaims")
)

// Events is AIJobsSince for the progress stream, which holds one set
// of claims for as long as it is open: it reads the tenant's job changes
// after cursor and then re-checks that the credential the claims came from
// (claims.SessionID, or claims.TokenID) still gives exactly these claims —
// same user, organization, role and venue codes, session or token neither
// revoked nor expired. Otherwise (a member removed, demoted or moved to
// other venues, a session ended or switched to another organization, a
// token revoked) it returns KindUnauthenticated and no jobs, and the
// stream must end. The check runs after the read in the same READ
// COMMITTED transaction, so it sees every change committed before the
// read began: no job change that committed after the claims were
// withdrawn is ever returned under them. Claims, read, check and COMMIT go
// as one pipelined batch: one round trip per read.
func (j Jobs) Events(ctx context.Context, claims rampart.Claims, after JobCursor, limit int) ([]rampart.AIJob, error) {
	s := j.s
	const op = "store.AIJobEvents"
	if err := claims.Validate(); err != nil {
		return nil, err
	}
	js, err := claims.JSON()
	if err != nil {
		return nil, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if limit <= 0 || limit > MaxJobEvents {
		limit = MaxJobEvents
	}
	var jobs []rampart.AIJob
	var now rampart.Claims // what the credential gives now
	found := false
	var role string
	err = s.oneBatchTx(ctx, sqlBegin, func(b *pgx.Batch) {
		b.Queue(sqlSetClaims, string(js))
		b.Queue(sqlAIJobsSince, claims.OrganizationID, after.UpdatedAt, after.ID, limit).Query(func(rows pgx.Rows) error {
			var err error
			jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.AIJob, error) { return scanAIJob(r) })
			return err
		})
		scanClaims := func(rows pgx.Rows, dst ...any) error {
			defer rows.Close()
			if rows.Next() {
				found = true
				if err := rows.Scan(dst...); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		if claims.ViaToken() {
			now.UserID = claims.TokenID
			b.Queue(sqlStreamTokenClaims, claims.TokenID, claims.OrganizationID).Query(func(rows pgx.Rows) error {
				return scanClaims(rows, &now.OrganizationID, &role, &now.VenueCodes)
			})
		} else {
			b.Queue(sqlStreamSessionClaims, claims.SessionID).Query(func(rows pgx.Rows) error {
				return scanClaims(rows, &now.UserID, &now.OrganizationID, &role, &now.VenueCodes)
			})
		}
	})
	if err != nil {
		return nil, classify(op, err)
	}
	now.Role = rampart.Role(role)
	if !found || !sameClaims(claims, now) {
		return nil, rampart.Errorf(op, rampart.KindUnauthenticated, "the credential no longer gives these claims")
	}
	return jobs, nil
}

// sameClaims reports whether a and b grant the same: user, organization,
// role and venue codes (in the membership's order).
func sameClaims(a, b rampart.Claims) bool {
	return a.UserID == b.UserID && a.OrganizationID == b.OrganizationID && a.Role == b.Role && slices.Equal(a.VenueCodes, b.VenueCodes)
}

// CancelAIJob is the job-level kill switch: the requester or an admin
// cancels an unfinished job. The change NOTIFYs every process (a trigger),
// which cancels the job's context wherever it runs.
func (tx AIJobsTx) Cancel(ctx context.Context, id uuid.UUID, reason string) (rampart.AIJob, error) {
	const op = "store.CancelAIJob"
	c := tx.tc
	reason, err := rampart.ValidateReason(reason)
	if err != nil {
		return rampart.AIJob{}, err
	}
	// Who may cancel is decided on the job as the caller reads it: a member
	// who can read the job but not change it (the update policy hides it
	// from FOR UPDATE) is forbidden, not told that it does not exist.
	visible, err := scanAIJob(tx.queryRow(ctx, sqlGetAIJob, c.OrganizationID, id))
	if err != nil {
		return visible, classify(op, err)
	}
	if visible.RequestedBy != c.UserID && c.Role != rampart.RoleAdmin {
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindForbidden, "only the requester or an admin can cancel a job")
	}
	before, err := scanAIJob(tx.queryRow(ctx, sqlLockAIJob, c.OrganizationID, id))
	if err != nil {
		return before, classify(op, err)
	}
	if rampart.JobFinished(before.Status) {
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindConflict, "the job has already finished (%s)", before.Status)
	}
	after, err := scanAIJob(tx.queryRow(ctx, sqlCancelAIJob, c.OrganizationID, id, c.UserID, reason))
	if err != nil {
		return after, classify(op, err)
	}
	// Release the reservation now: the worker, if one is still running
	// the job, adds what its call spent when it stops; if none is, nothing
	// else would.
	if err := BudgetTx(tx).release(ctx, c.OrganizationID, id, 0); err != nil {
		return after, err
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAIGenerationCancelled,
		TargetType: "ai_job", TargetID: id.String(), Reason: reason, Before: snapshot(before), After: snapshot(after),
		Metadata: metadata(map[string]any{"scope": "job"})}))
}

// JobStart is what an attempt of a job starts from, read before any of
// its transactions: the requester's live claims and the untrusted inputs
// as they may read them now.
type JobStart struct {
	Claims rampart.Claims
	// Status is the job's status; Live is false when the job is finished
	// or the requester is no longer a member.
	Status string
	Live   bool
	// Inputs is the proposal's untrusted text and version (Title,
	// ClientName, Brief, VenueCode, UpdatedAt), read under Claims; nil when
	// the requester can no longer read it. The worker guards it outside
	// every transaction; the start transaction checks the proposal is
	// still this version.
	Inputs *rampart.Proposal
	// Kind and AgentType are the job's (read with Inputs).
	Kind      string
	AgentType string
	// AIEnabled is the organization's ai feature flag now (read under
	// Claims; true when no operator turned it off): a job queued before a
	// platform operator turned AI off must not run.
	AIEnabled bool
}

// Claims reads what an attempt of a job starts from (JobStart).
func (j Jobs) Claims(ctx context.Context, orgID, jobID uuid.UUID) (JobStart, error) {
	s := j.s
	const op = "store.AIJobClaims"
	var out JobStart
	// One round trip: a read-only transaction as rampart_app, sent as one
	// pipelined batch (every job attempt starts here). The claims read
	// through the narrow ai_job_claims() become the tenant context of the
	// inputs' read, in SQL, so no second round trip is needed.
	var user, person *uuid.UUID
	var role *string
	var codes []string
	found := false
	err := s.oneBatchTx(ctx, sqlBeginReadOnly, func(b *pgx.Batch) {
		b.Queue(sqlAIJobClaims, orgID, jobID).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&out.Status, &user, &role, &codes, &person)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
		b.Queue(sqlSetAIJobClaims, orgID, jobID)
		b.Queue(sqlAIJobInputs, orgID, jobID).QueryRow(func(row pgx.Row) error {
			var p rampart.Proposal
			err := row.Scan(&p.Title, &p.ClientName, &p.Brief, &p.VenueCode, &p.UpdatedAt, &out.Kind, &out.AgentType, &p.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			out.Inputs = &p
			return err
		})
		b.Queue(sqlJobOrgAIFeature, orgID).QueryRow(func(row pgx.Row) error {
			return row.Scan(&out.AIEnabled)
		})
	})
	if err != nil {
		return JobStart{}, classify(op, err)
	}
	if !found {
		return JobStart{}, rampart.Errorf(op, rampart.KindNotFound, "AI job %s not found", jobID)
	}
	if user != nil && role != nil {
		out.Claims = rampart.Claims{OrganizationID: orgID, UserID: *user, Role: rampart.Role(*role), VenueCodes: codes}
		if person != nil && *person != *user {
			// Requested with an API token: the token is the principal,
			// its creator the person behind it (migration 016).
			out.Claims.TokenID, out.Claims.PersonID = *user, *person
		}
		out.Live = true
	}
	if !out.Live {
		out.Inputs = nil
	}
	return out, nil
}

// AttemptInfo says which attempt of a job a worker runs.
type AttemptInfo struct {
	Attempt  int
	Provider string
	Model    string
	// OrgLimit is how many of the organization's jobs may run at once in
	// the whole cluster (0: no limit); StartAIJob answers ErrOrgAtJobLimit
	// and starts nothing when that many others are running.
	OrgLimit int
	// Reserve, when > 0, is the token estimate to reserve for the attempt
	// in the same round trip as its start (ReserveTokens). When the budget
	// cannot cover it, the attempt starts without a reservation: the
	// returned job's EstimatedTokens is 0 and the caller must refuse it.
	Reserve int
}

// ErrOrgAtJobLimit means the organization already runs its limit of AI
// jobs (in any process): the attempt was not started and should wait.
var ErrOrgAtJobLimit = rampart.Errorf("store.StartAIJob", rampart.KindQuotaExceeded, "the organization runs its limit of AI jobs at once")

// StartAIJob marks the job running for this attempt and returns it with
// its proposal. A finished or cancelled job is a conflict: the worker
// must not run it. A job left running by a crashed worker is taken over.
func (tx AIJobsTx) Start(ctx context.Context, id uuid.UUID, a AttemptInfo) (rampart.AIJob, rampart.Proposal, error) {
	const op = "store.StartAIJob"
	c := tx.tc
	// One round trip: lock and read the job, start it (a finished job is
	// not touched: the UPDATE's condition), read its proposal. Every
	// attempt begins here, so the statements are pipelined.
	b := &pgx.Batch{}
	if a.OrgLimit > 0 {
		b.Queue(sqlLockOrgAIJobs, c.OrganizationID)
	}
	b.Queue(sqlLockAIJob, c.OrganizationID, id)
	b.Queue(sqlStartAIJob, c.OrganizationID, id, a.Attempt, a.Provider, a.Model, a.OrgLimit)
	b.Queue(sqlProposalOfJob, c.OrganizationID, id)
	if a.Reserve > 0 {
		b.Queue(sqlEnsureUsage, c.OrganizationID)
		b.Queue(sqlReserveForStarted, c.OrganizationID, a.Reserve, id, a.Attempt)
	}
	br := tx.sendBatch(ctx, b)
	if a.OrgLimit > 0 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return rampart.AIJob{}, rampart.Proposal{}, classify(op, err)
		}
	}
	before, errBefore := scanAIJob(br.QueryRow())
	job, errJob := scanAIJob(br.QueryRow())
	p, errProposal := scanProposal(br.QueryRow())
	reserved, errReserve := false, error(nil)
	if a.Reserve > 0 {
		if _, errReserve = br.Exec(); errReserve == nil {
			var one int
			errReserve = br.QueryRow().Scan(&one)
			reserved = errReserve == nil
			if errors.Is(errReserve, pgx.ErrNoRows) {
				errReserve = nil
			}
		}
	}
	if err := br.Close(); err != nil && errBefore == nil {
		return before, p, classify(op, err)
	}
	switch {
	case errBefore != nil:
		return before, p, classify(op, errBefore)
	case rampart.JobFinished(before.Status):
		return before, p, rampart.Errorf(op, rampart.KindConflict, "the job has finished (%s)", before.Status)
	case errors.Is(errJob, pgx.ErrNoRows) && a.OrgLimit > 0:
		return before, p, ErrOrgAtJobLimit
	case errJob != nil:
		return before, p, classify(op, errJob)
	case errProposal != nil:
		return job, p, classify(op, errProposal)
	case errReserve != nil:
		return job, p, classify(op, errReserve)
	}
	// A reservation left by a crashed attempt is settled as used (its
	// model call may have run; the budget must not be overshot) before a
	// new one is made (the batch's reservation skipped such a job).
	if before.EstimatedTokens > 0 {
		if err := BudgetTx(tx).release(ctx, c.OrganizationID, id, int64(before.EstimatedTokens)); err != nil {
			return before, rampart.Proposal{}, err
		}
		job.EstimatedTokens = 0
		if a.Reserve > 0 {
			err := BudgetTx(tx).Reserve(ctx, id, a.Reserve)
			if err != nil && !errors.Is(err, ErrBudgetExhausted) {
				return job, p, err
			}
			reserved = err == nil
		}
	}
	if reserved {
		job.EstimatedTokens = a.Reserve
	}
	action := audit.ActionAIGenerationStarted
	if a.Attempt > 1 {
		action = audit.ActionAIGenerationRetried
	}
	return job, p, tx.recordAudit(ctx, tx.agentEvent(job, audit.Event{Action: action, Before: snapshot(before), After: snapshot(job),
		Metadata: metadata(map[string]any{"attempt": a.Attempt, "provider": a.Provider, "model": a.Model})}))
}

// JobOutcome is how one attempt of a job ended.
type JobOutcome struct {
	Status       string // a rampart.Job* status; retrying for a failed attempt that will be retried
	InputTokens  int
	OutputTokens int
	GuardScore   int
	GuardRules   []string
	ErrorCode    string
	ErrorMessage string // safe, short, never model or brief text
	CancelReason string
	Action       string // the audit action; empty = none
	Reason       string
	Metadata     map[string]any
	// Body, when set, is stored as the job's proposal's AI draft in the
	// same transaction (StoreAIBody), only if this attempt finishes the job.
	Body *sanitize.HTML
}

// ErrAttemptSuperseded means the job is no longer running this attempt (it
// was cancelled, or a later attempt took it over): the attempt's result is discarded.
var ErrAttemptSuperseded = rampart.Errorf("store.FinishAIJob", rampart.KindConflict, "the job is no longer running this attempt")

// FinishAIJob records the outcome of the attempt, settles its token
// reservation with the actual use, and writes the audit event. It changes
// nothing and returns ErrAttemptSuperseded if the job is not running this
// attempt any more: exactly one attempt can finish a job.
func (tx AIJobsTx) Finish(ctx context.Context, id uuid.UUID, attempt int, out JobOutcome) (rampart.AIJob, error) {
	const op = "store.FinishAIJob"
	c := tx.tc
	var r reservation
	before, err := scanAIJobWith(tx.queryRow(ctx, sqlLockAIJobReservation, c.OrganizationID, id), &r.sameMonth, &r.month)
	if err != nil {
		return before, classify(op, err)
	}
	if before.Status != rampart.JobRunning || before.Attempt != attempt {
		return before, ErrAttemptSuperseded
	}
	rules := out.GuardRules
	if rules == nil {
		rules = []string{}
	}
	// One round trip for the rest: settle the reservation with the actual
	// use, finish the job (which clears the reservation), store the draft.
	r.tokens = int64(before.EstimatedTokens)
	b := &pgx.Batch{}
	queueSettlement(b, c.OrganizationID, r, int64(out.InputTokens+out.OutputTokens))
	nPre := b.Len()
	b.Queue(sqlFinishAIJob, c.OrganizationID, id, attempt, out.Status,
		out.InputTokens, out.OutputTokens, out.GuardScore, rules, out.ErrorCode, out.ErrorMessage, out.CancelReason)
	if out.Body != nil {
		b.Queue(sqlStoreAIBody, c.OrganizationID, before.ProposalID, out.Body.String(), sanitize.Version)
	}
	br := tx.sendBatch(ctx, b)
	for range nPre {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return before, classify(op, err)
		}
	}
	after, err := scanAIJob(br.QueryRow())
	if err == nil && out.Body != nil {
		_, err = scanProposal(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return after, classify(op, err)
	}
	if out.Action == "" {
		return after, nil
	}
	md := out.Metadata
	if md == nil {
		md = map[string]any{}
	}
	md["attempt"] = attempt
	return after, tx.recordAudit(ctx, tx.agentEvent(after, audit.Event{Action: out.Action, Reason: out.Reason,
		Before: snapshot(before), After: snapshot(after), Metadata: metadata(md)}))
}

// agentEvent is an audit event of the worker acting as the job's agent on
// behalf of its requester.
func (tx AIJobsTx) agentEvent(job rampart.AIJob, ev audit.Event) audit.Event {
	ev = tx.userEvent(ev)
	ev.ActorType = audit.ActorAgent
	ev.ActorID = job.AgentType + ":" + job.RequestedBy.String()
	ev.TargetType, ev.TargetID = "ai_job", job.ID.String()
	return ev
}

func collectAIJobs(op string, rows pgx.Rows, err error) ([]rampart.AIJob, error) {
	if err != nil {
		return nil, classify(op, err)
	}
	js, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.AIJob, error) { return scanAIJob(r) })
	return js, classify(op, err)
}

func scanAIJob(r pgx.Row) (rampart.AIJob, error) { return scanAIJobWith(r) }

// scanAIJobWith scans a job row followed by extra columns into extra.
func scanAIJobWith(r pgx.Row, extra ...any) (rampart.AIJob, error) {
	var j rampart.AIJob
	dst := []any{&j.OrganizationID, &j.ID, &j.Kind, &j.ProposalID, &j.VenueCode, &j.AgentType, &j.RequestedBy, &j.Status,
		&j.Attempt, &j.Provider, &j.Model, &j.EstimatedTokens, &j.InputTokens, &j.OutputTokens, &j.GuardScore, &j.GuardRules,
		&j.ErrorCode, &j.ErrorMessage, &j.CancelledBy, &j.CancelReason, &j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UpdatedAt}
	err := r.Scan(append(dst, extra...)...)
	return j, err
}

func metadata(m map[string]any) json.RawMessage {
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// RecordTenantEvent writes one audit event as claims' user in a
// transaction of its own: for refusals, whose request changed nothing.
func (l AuditLog) RecordTenantEvent(ctx context.Context, claims rampart.Claims, ev audit.Event) error {
	s := l.s
	return s.InTenant(ctx, claims, func(ctx context.Context, tx *TenantTx) error {
		return tx.recordAudit(ctx, tx.userEvent(ev))
	})
}

// ReleaseAIJob settles the outstanding token reservation of a job whose
// attempt ended without FinishAIJob (cancelled by a kill switch or by its
// requester), counting actual tokens as used.
func (tx AIJobsTx) Release(ctx context.Context, id uuid.UUID, actual int) error {
	c := tx.tc
	return BudgetTx(tx).release(ctx, c.OrganizationID, id, int64(actual))
}

// sqlStopAIJob is in queries/aijobs.sql.
var sqlStopAIJob = query("StopAIJob")

// StopAIJob ends an unfinished job stopped by a kill switch (scope
// "global" or "organization"): cancelled, its reservation settled with the
// tokens spent, audited with the scope. A finished job is left alone.
func (tx AIJobsTx) Stop(ctx context.Context, id uuid.UUID, scope, reason, action string, spent int) error {
	return tx.stop(ctx, "store.StopAIJob", id, "kill_switch_"+scope, reason, action, spent, map[string]any{"scope": scope})
}

// StopForFeature ends an unfinished job before its model call because a
// platform operator turned off the organization's feature f after the job
// was queued: cancelled with error code "feature_disabled" and reason,
// its reservation released, audited (ActionAIGenerationFeatureBlocked)
// with the flag. A finished job is left alone.
func (tx AIJobsTx) StopForFeature(ctx context.Context, id uuid.UUID, f rampart.Feature, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	return tx.stop(ctx, "store.StopAIJobForFeature", id, "feature_disabled", reason, audit.ActionAIGenerationFeatureBlocked, 0,
		map[string]any{"feature": string(f)})
}

func (tx AIJobsTx) stop(ctx context.Context, op string, id uuid.UUID, code, reason, action string, spent int, meta map[string]any) error {
	c := tx.tc
	var r reservation
	before, err := scanAIJobWith(tx.queryRow(ctx, sqlLockAIJobReservation, c.OrganizationID, id), &r.sameMonth, &r.month)
	if err != nil {
		return classify(op, err)
	}
	if rampart.JobFinished(before.Status) {
		return nil
	}
	r.tokens = int64(before.EstimatedTokens)
	if err := tx.settle(ctx, c.OrganizationID, id, r, int64(spent)); err != nil {
		return err
	}
	after, err := scanAIJob(tx.queryRow(ctx, sqlStopAIJob, c.OrganizationID, id, reason, code))
	if err != nil {
		return classify(op, err)
	}
	return tx.recordAudit(ctx, tx.agentEvent(after, audit.Event{Action: action, Reason: reason,
		Before: snapshot(before), After: snapshot(after), Metadata: metadata(meta)}))
}

// sqlFailAIJob is in queries/aijobs.sql.
var sqlFailAIJob = query("FailAIJob")

// Fail ends an unfinished job as failed on the service path: when no
// tenant context can (its requester left or may no longer run it), or when
// the queue gives up on it (its last attempt failed or its worker died).
// An outstanding reservation is settled as used (the model may have been
// called). A finished job is left alone.
func (j Jobs) Fail(ctx context.Context, orgID, id uuid.UUID, code, message string) error {
	s := j.s
	const op = "store.FailAIJob"
	if len(message) > 500 {
		message = message[:500]
	}
	return s.asService(ctx, "end an AI job no tenant context can finish ("+code+")", func(ctx context.Context, tx *txn) error {
		return tx.failAIJob(ctx, op, orgID, id, code, message)
	})
}

func (tx *txn) failAIJob(ctx context.Context, op string, orgID, id uuid.UUID, code, message string) error {
	r, err := tx.jobReservation(ctx, orgID, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return classify(op, err)
	}
	after, err := scanAIJob(tx.queryRow(ctx, sqlFailAIJob, orgID, id, code, message))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return classify(op, err)
	}
	// The reservation is counted as used: the model may have been called.
	if err := tx.settle(ctx, orgID, id, r, r.tokens); err != nil {
		return err
	}
	return tx.recordAudit(ctx, audit.Event{OrganizationID: &orgID, ActorType: audit.ActorService, ActorID: tx.service,
		Action: audit.ActionAIGenerationFailed, TargetType: "ai_job", TargetID: id.String(), Reason: message, After: snapshot(after),
		Metadata: metadata(map[string]any{"error_code": code})})
}

// sqlStuckAIJobs is in queries/aijobs.sql.
var sqlStuckAIJobs = query("StuckAIJobs")

// SweepStuck ends, as failed, the AI jobs the queue gave up on, so
// none stays "under way" for ever (blocking new requests for its proposal
// and holding its token reservation). serve runs it every minute.
func (j Jobs) SweepStuck(ctx context.Context) (int, error) {
	s := j.s
	const op = "store.SweepStuckAIJobs"
	type stuck struct{ org, id uuid.UUID }
	var found []stuck
	err := s.asService(ctx, "sweep AI jobs the job queue gave up on", func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlStuckAIJobs)
		if err != nil {
			return err
		}
		found, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (stuck, error) {
			var x stuck
			return x, r.Scan(&x.org, &x.id)
		})
		if err != nil {
			return err
		}
		for _, x := range found {
			if err := tx.failAIJob(ctx, op, x.org, x.id, "queue_gave_up",
				"the job queue gave up on this job (its worker stopped on the last attempt)"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, classify(op, err)
	}
	return len(found), nil
}

var sqlAIUsagePerDay = query("AIUsagePerDay")

// UsagePerDay sums the organization's AI jobs per UTC day since since,
// oldest first; days without a job are absent.
func (tx AIJobsTx) UsagePerDay(ctx context.Context, since time.Time) ([]rampart.DailyAIUsage, error) {
	const op = "store.AIUsagePerDay"
	rows, err := tx.query(ctx, sqlAIUsagePerDay, tx.tc.OrganizationID, since)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.DailyAIUsage, error) {
		var u rampart.DailyAIUsage
		err := r.Scan(&u.Day, &u.Jobs, &u.Tokens, &u.Refused)
		return u, err
	})
	return out, classify(op, err)
}
