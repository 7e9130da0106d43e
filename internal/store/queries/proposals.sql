-- Proposals (proposals.go): a tenant's documents, venue-scoped by RLS.
-- Every statement also filters by organization_id (index use, defence in
-- depth). The AI body and its review state are written by StoreAIBody,
-- human approval by ApproveProposal.

-- fragment: proposal_summary_columns
organization_id, id, title, client_name, venue_code, status,
ai_generated, review_status, author_id, approved_by, approved_at, created_at, updated_at

-- fragment: proposal_columns
${proposal_summary_columns}, brief, body_html

-- name: CreateProposal
INSERT INTO proposals (organization_id, title, client_name, venue_code, brief, author_id)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${proposal_columns}

-- name: ListProposals
-- A page, newest first, after the cursor ($3, $4) when one is given:
-- keyset paging on (updated_at, id), served by proposals_page_idx.
SELECT ${proposal_summary_columns} FROM proposals WHERE organization_id = $1
  AND ($3::timestamptz IS NULL OR (updated_at, id) < ($3::timestamptz, $4::uuid))
ORDER BY updated_at DESC, id DESC LIMIT $2

-- name: ListProposalsWhere
-- ListProposals narrowed to a status ($5; NULL: any) and a venue code
-- ($6; NULL: any): the console's filtered list, on the same index.
SELECT ${proposal_summary_columns} FROM proposals WHERE organization_id = $1
  AND ($3::timestamptz IS NULL OR (updated_at, id) < ($3::timestamptz, $4::uuid))
  AND ($5::text IS NULL OR status = $5::text) AND ($6::text IS NULL OR venue_code = $6::text)
ORDER BY updated_at DESC, id DESC LIMIT $2

-- name: GetProposal
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1 AND id = $2

-- name: GetProposalSummary
-- What an access check needs (the venue) without the brief and body.
SELECT ${proposal_summary_columns} FROM proposals WHERE organization_id = $1 AND id = $2

-- name: GetProposalLocked
SELECT ${proposal_columns} FROM proposals WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: UpdateProposal
UPDATE proposals SET title = $3, client_name = $4, venue_code = $5, brief = $6, updated_at = now()
WHERE organization_id = $1 AND id = $2 RETURNING ${proposal_columns}

-- name: StoreAIBody
UPDATE proposals SET body_html = $3, body_sanitizer = $4, ai_generated = true, review_status = 'pending_review',
status = 'ai_pending_review', approved_by = NULL, approved_at = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2 RETURNING ${proposal_columns}

-- name: ApproveProposal
UPDATE proposals SET status = 'approved', review_status = 'approved', approved_by = $3,
approved_at = now(), updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'ai_pending_review' RETURNING ${proposal_columns}

-- name: MoveProposalChildren
-- The venue of everything under a proposal follows the proposal's (venue
-- scoping of its jobs and the progress stream, bill of materials,
-- attachments, statement of work, budget, change orders, agent proposals and
-- chat), in one statement of data-modifying CTEs.
WITH j AS (UPDATE ai_jobs SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1),
     g AS (UPDATE agent_proposals SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1),
     b AS (UPDATE bom_lines SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1),
     a AS (UPDATE attachments SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1),
     s AS (UPDATE sows SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING id),
     l AS (UPDATE budget_lines SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1),
     m AS (UPDATE proposal_chat_messages SET venue_code = $3 WHERE organization_id = $1 AND proposal_id = $2 RETURNING 1)
UPDATE change_orders SET venue_code = $3 WHERE organization_id = $1 AND sow_id IN (SELECT id FROM s)

-- name: AnyStaleBody
SELECT EXISTS (SELECT 1 FROM proposals WHERE body_html <> '' AND body_sanitizer < $1)

-- name: StaleBodies
-- A batch of bodies written under an older sanitiser policy (service
-- path: the task spans tenants), locked so two runs never take the same.
SELECT organization_id, id, body_html FROM proposals
 WHERE body_html <> '' AND body_sanitizer < $1
 ORDER BY body_sanitizer, organization_id, id LIMIT $2 FOR UPDATE SKIP LOCKED

-- name: ResanitizeBody
UPDATE proposals SET body_html = $3, body_sanitizer = $4 WHERE organization_id = $1 AND id = $2
