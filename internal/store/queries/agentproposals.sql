-- Agent proposals (agentproposals.go): an agent's proposed change waiting
-- for a person. Readers see change; only the priced reads return
-- change_cost (amounts), for roles with full cost access.

-- fragment: agent_proposal_columns
organization_id, id, proposal_id, venue_code, job_id, agent_type, kind, change, rationale, status, requested_by,
created_at, expires_at, decided_by, decided_at, decision_reason, applied, updated_at

-- name: CreateAgentProposal
-- The proposal's venue comes from the proposal, in the same statement.
INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, job_id, agent_type, kind, change, change_cost,
                             rationale, requested_by, created_at, expires_at)
SELECT p.organization_id, p.id, p.venue_code, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $10::timestamptz + interval '7 days'
  FROM proposals p WHERE p.organization_id = $1 AND p.id = $2
RETURNING ${agent_proposal_columns}, change_cost

-- name: GetAgentProposal
SELECT ${agent_proposal_columns} FROM agent_proposals WHERE organization_id = $1 AND id = $2

-- name: GetAgentProposalPriced
SELECT ${agent_proposal_columns}, change_cost FROM agent_proposals WHERE organization_id = $1 AND id = $2

-- name: LockAgentProposal
SELECT ${agent_proposal_columns}, change_cost FROM agent_proposals WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: ListAgentProposals
-- Newest first, optionally one status and one proposal; keyset paging on
-- (created_at, id) below the cursor ($5, $6).
SELECT ${agent_proposal_columns} FROM agent_proposals
 WHERE organization_id = $1
   AND ($2::text IS NULL OR status = $2)
   AND ($3::uuid IS NULL OR proposal_id = $3)
   AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
 ORDER BY created_at DESC, id DESC
 LIMIT $4

-- name: DecideAgentProposal
UPDATE agent_proposals SET status = $3, decided_by = $4, decided_at = $5, decision_reason = $6, applied = $7,
       updated_at = clock_timestamp()
 WHERE organization_id = $1 AND id = $2 AND status = 'pending'
RETURNING ${agent_proposal_columns}

-- name: ExpireAgentProposals
-- Service path (the task spans tenants): a batch of pending proposals
-- whose week is over, marked expired; SKIP LOCKED leaves one being
-- decided right now to its decision (which then finds it expired).
WITH due AS (
  SELECT organization_id, id FROM agent_proposals
   WHERE status = 'pending' AND expires_at <= $1
   ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE agent_proposals a SET status = 'expired', decided_at = $1, updated_at = clock_timestamp()
  FROM due WHERE a.organization_id = due.organization_id AND a.id = due.id
RETURNING a.organization_id, a.id, a.proposal_id, a.agent_type, a.kind, a.created_at, a.expires_at
