-- AI jobs (aijobs.go): a proposal's generation requests, their attempts
-- as the queue runs them, the progress stream and the sweeps. Tenant
-- statements filter by organization_id as well as RLS; the service path
-- (stuck jobs, job claims) runs as rampart_service.

-- fragment: ai_job_columns
organization_id, id, kind, proposal_id, venue_code, agent_type, requested_by, status, attempt,
provider, model, estimated_tokens, input_tokens, output_tokens, guard_score, guard_rules, error_code, error_message,
cancelled_by, cancel_reason, created_at, started_at, finished_at, updated_at

-- fragment: unfinished_ai_job
-- The statuses of a job that has not ended.
('queued', 'running', 'retrying')

-- name: CreateAIJob
INSERT INTO ai_jobs (organization_id, kind, proposal_id, venue_code, agent_type, requested_by)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ai_job_columns}

-- name: SetAIJobQueueID
UPDATE ai_jobs SET queue_job_id = $3 WHERE organization_id = $1 AND id = $2

-- name: GetAIJob
SELECT ${ai_job_columns} FROM ai_jobs WHERE organization_id = $1 AND id = $2

-- name: LockAIJob
SELECT ${ai_job_columns} FROM ai_jobs WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: ProposalAIJobs
SELECT ${ai_job_columns} FROM ai_jobs WHERE organization_id = $1 AND proposal_id = $2
ORDER BY created_at DESC, id LIMIT 50

-- name: AIJobsSince
SELECT ${ai_job_columns} FROM ai_jobs
WHERE organization_id = $1 AND (updated_at, id) > ($2, $3) ORDER BY updated_at, id LIMIT $4

-- name: ActiveAIJobForProposal
SELECT EXISTS (SELECT 1 FROM ai_jobs WHERE organization_id = $1 AND proposal_id = $2
AND status IN ${unfinished_ai_job})

-- name: ActiveAIJobAndBacklog
-- The proposal's unfinished job of kind $4, if any, and how many of the
-- organization's jobs are unfinished (every venue's, at most $3: 011).
SELECT EXISTS (SELECT 1 FROM ai_jobs WHERE organization_id = $1 AND proposal_id = $2 AND kind = $4
AND status IN ${unfinished_ai_job}), CASE WHEN $3::int > 0 THEN ai_org_unfinished_jobs($3::int) ELSE 0 END

-- name: CancelAIJob
UPDATE ai_jobs SET status = 'cancelled', cancelled_by = $3, cancel_reason = $4,
finished_at = now(), updated_at = clock_timestamp()
WHERE organization_id = $1 AND id = $2 AND status IN ${unfinished_ai_job} RETURNING ${ai_job_columns}

-- name: StartAIJob
-- Starts an attempt unless the organization already runs $6 other jobs
-- ($6 = 0: no limit), across every process: the count runs after
-- LockOrgAIJobs, in a statement of its own, so it sees the attempts that
-- other workers started and committed meanwhile.
UPDATE ai_jobs SET status = 'running', attempt = $3, provider = $4, model = $5,
started_at = coalesce(started_at, now()), updated_at = clock_timestamp()
WHERE organization_id = $1 AND id = $2 AND status IN ${unfinished_ai_job}
  AND ($6::int = 0 OR ai_org_running_jobs($2) < $6::int) RETURNING ${ai_job_columns}

-- name: LockOrgAIJobs
-- Serialises the starts of one organization's jobs.
SELECT pg_advisory_xact_lock(hashtextextended('rampart.ai_org:' || $1::text, 0))

-- name: FinishAIJob
UPDATE ai_jobs SET status = $4, input_tokens = input_tokens + $5, output_tokens = output_tokens + $6,
guard_score = $7, guard_rules = $8, error_code = $9, error_message = $10, cancel_reason = $11,
finished_at = CASE WHEN $4 IN ${unfinished_ai_job} THEN NULL ELSE now() END,
estimated_tokens = 0, reserved_month = NULL, updated_at = clock_timestamp()
WHERE organization_id = $1 AND id = $2 AND attempt = $3 AND status = 'running' RETURNING ${ai_job_columns}

-- name: LockAIJobReservation
-- The job locked, with where its reservation is held.
SELECT ${ai_job_columns}, coalesce(reserved_month = ${this_month}, true), reserved_month
FROM ai_jobs WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: ProposalOfJob
SELECT ${proposal_columns} FROM proposals
WHERE organization_id = $1 AND id = (SELECT proposal_id FROM ai_jobs WHERE organization_id = $1 AND id = $2)

-- name: AIJobClaims
SELECT status, user_id, role, venue_codes, person_id FROM ai_job_claims($1, $2)

-- name: SetAIJobClaims
-- The same live claims, as the transaction's tenant context (the keys of
-- rampart.Claims' JSON; TestJobClaimsMatchGo checks them): the inputs
-- that follow are read as the requester may read them now. No live
-- requester: no claims, and row-level security returns nothing.
SELECT pg_catalog.set_config('request.jwt.claims', coalesce((
  SELECT json_build_object('organization_id', $1::uuid, 'sub', c.user_id, 'role', c.role,
                           'venue_codes', coalesce(c.venue_codes, '{}'::text[]))::text
    FROM ai_job_claims($1, $2) c WHERE c.user_id IS NOT NULL), ''), true)

-- name: AIJobInputs
-- The untrusted text a job sends to a model, and the version it is.
SELECT p.title, p.client_name, p.brief, p.venue_code, p.updated_at, j.kind, j.agent_type, j.proposal_id
  FROM ai_jobs j JOIN proposals p ON p.organization_id = j.organization_id AND p.id = j.proposal_id
 WHERE j.organization_id = $1 AND j.id = $2

-- name: StreamSessionClaims
-- The progress stream's credential re-check (AIJobEvents): the session
-- check is auth_resolve_session's condition without its renewal (a stream
-- cannot send the renewed cookie). Under the stream's claims RLS shows the
-- app role only the caller's own session and its organization's
-- memberships, so a session moved to another organization finds no row.
SELECT s.user_id, s.active_organization_id, m.role, m.venue_codes FROM sessions s
JOIN memberships m ON m.user_id = s.user_id AND m.organization_id = s.active_organization_id
WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()

-- name: StreamTokenClaims
-- auth_resolve_token checks the token itself (it only stamps
-- last_used_at, at most once a minute).
SELECT organization_id, role, venue_codes FROM auth_resolve_token($1, $2)

-- name: StopAIJob
-- (The tokens spent are added to the job by SettleJobTokens, before.)
UPDATE ai_jobs SET status = 'cancelled', cancel_reason = $3, error_code = $4,
finished_at = now(), updated_at = clock_timestamp()
WHERE organization_id = $1 AND id = $2 AND status IN ${unfinished_ai_job} RETURNING ${ai_job_columns}

-- name: CancelOrgAIJobsForFeature
-- A platform operator turned the organization's ai feature flag off
-- (features.go): every unfinished job is cancelled. Queued ones never
-- start; running ones stop through the job-level NOTIFY of the trigger
-- ai_jobs_cancel_notify (migration 005), as a cancellation by a person
-- does. (The reservations are settled by the caller.)
UPDATE ai_jobs SET status = 'cancelled', cancel_reason = $2, error_code = 'feature_disabled',
finished_at = now(), updated_at = clock_timestamp()
WHERE organization_id = $1 AND status IN ${unfinished_ai_job} RETURNING ${ai_job_columns}

-- name: FailAIJob
UPDATE ai_jobs SET status = 'failed', error_code = $3, error_message = $4,
finished_at = now(), updated_at = clock_timestamp()
WHERE organization_id = $1 AND id = $2 AND status IN ${unfinished_ai_job} RETURNING ${ai_job_columns}

-- name: StuckAIJobs
-- Unfinished AI jobs the queue no longer holds: their River job was
-- discarded (its worker died on the last attempt), cancelled, completed or
-- deleted, and nothing changed them for a minute.
SELECT j.organization_id, j.id FROM ai_jobs j
WHERE j.status IN ${unfinished_ai_job} AND j.updated_at < now() - interval '1 minute'
  AND NOT EXISTS (SELECT 1 FROM river.river_job r WHERE r.id = j.queue_job_id
                  AND r.state IN ('available', 'pending', 'retryable', 'running', 'scheduled'))
ORDER BY j.updated_at LIMIT 100

-- name: AIUsagePerDay
-- The organization's AI jobs per UTC day since $2: how many were requested,
-- the tokens they used (input + output) and how many were refused.
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*)::int,
       coalesce(sum(input_tokens + output_tokens), 0)::bigint,
       (count(*) FILTER (WHERE status = 'refused'))::int
FROM ai_jobs WHERE organization_id = $1 AND created_at >= $2
GROUP BY 1 ORDER BY 1
