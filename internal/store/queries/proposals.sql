-- Proposals (proposals.go): a tenant's documents, venue-scoped by RLS.
-- Every statement also filters by organization_id (index use, defence in
-- depth). The AI body and its review state are written by StoreAIBody,
-- human approval by ApproveProposal.

-- fragment: proposal_columns
organization_id, id, title, client_name, venue_code, brief, body_html, status,
ai_generated, review_status, author_id, approved_by, approved_at, created_at, updated_at

-- name: CreateProposal
INSERT INTO proposals (organization_id, title, client_name, venue_code, brief, author_id)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${proposal_columns}

-- name: ListProposals
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1
ORDER BY updated_at DESC, id LIMIT $2

-- name: GetProposal
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1 AND id = $2

-- name: GetProposalLocked
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: UpdateProposal
UPDATE proposals SET title = $3, client_name = $4, venue_code = $5, brief = $6, updated_at = now()
WHERE organization_id = $1 AND id = $2 RETURNING ${proposal_columns}

-- name: StoreAIBody
UPDATE proposals SET body_html = $3, ai_generated = true, review_status = 'pending_review',
status = 'ai_pending_review', approved_by = NULL, approved_at = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2 RETURNING ${proposal_columns}

-- name: ApproveProposal
UPDATE proposals SET status = 'approved', review_status = 'approved', approved_by = $3,
approved_at = now(), updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'ai_pending_review' RETURNING ${proposal_columns}

-- name: MoveProposalJobs
-- A job's venue follows its proposal's (venue scoping of jobs and the
-- progress stream).
UPDATE ai_jobs SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2
