-- Data subject requests (privacy.go, docs/privacy.md): an admin's export
-- or erasure of one member. Tenant statements run under the admin's
-- claims (row-level security: the organization's rows only) and also
-- filter by organization_id ($1). The export statements each return one
-- table's rows about the subject ($2) as a JSON array, secrets removed.

-- fragment: request_columns
organization_id, id, kind, subject_user_id, requested_by, status, outcome::text, error,
  archive_bytes, archive_sha256, link_expires_at, downloaded_at, created_at, completed_at

-- fragment: event_text
lower(concat_ws(' ', e.before::text, e.after::text, e.metadata::text, e.reason))

-- fragment: subject_events
-- The audit events about the subject: what they did (actor), what was done
-- to them (target), and events whose content names their id or email.
FROM audit_events e
WHERE e.organization_id = $1
  AND (e.actor_id = $2::text OR e.target_id = $2::text
       OR strpos(${event_text}, $2::text) > 0 OR strpos(${event_text}, lower($3::text)) > 0)

-- name: SubjectMember
-- The subject as a member of the organization; another organization's
-- member (or nobody) is no row.
SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.organization_id = $1 AND (u.id = $2 OR ($2 IS NULL AND u.email = lower($3::text)))

-- name: CreatePrivacyRequest
INSERT INTO privacy_requests (organization_id, kind, subject_user_id, requested_by)
VALUES ($1, $2, $3, $4)
RETURNING ${request_columns}

-- name: GetPrivacyRequest
SELECT ${request_columns} FROM privacy_requests WHERE organization_id = $1 AND id = $2

-- name: ListPrivacyRequests
SELECT ${request_columns} FROM privacy_requests WHERE organization_id = $1
ORDER BY created_at DESC, id LIMIT 200

-- name: CompleteErasure
UPDATE privacy_requests SET status = 'completed', outcome = $3::json, completed_at = now()
WHERE organization_id = $1 AND id = $2 AND kind = 'erasure' AND status = 'pending'
RETURNING ${request_columns}

-- name: EraseMember
SELECT privacy_erase_member($1, $2::bigint[], $3::bytea[])::text

-- name: SchemeOneSubjectEvents
-- The scheme-1 events about the subject that erasure may attest (the
-- columns of AuditPage's scan).
SELECT ${audit_page_columns}
${subject_events}
  AND e.scheme = 1 AND e.redaction_mac IS NULL AND e.action NOT LIKE 'privacy.%'

-- name: PendingExports
-- Service path (the export worker): pending exports of every
-- organization, oldest first, with whether the requester is still an
-- admin there (an export runs under the requester's claims).
SELECT r.organization_id, r.id, r.requested_by,
       EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = r.organization_id
               AND m.user_id = r.requested_by AND m.role = 'admin')
FROM privacy_requests r
WHERE r.status = 'pending' AND r.kind = 'export'
ORDER BY r.created_at LIMIT $1

-- name: FailExport
UPDATE privacy_requests SET status = 'failed', error = $3
WHERE organization_id = $1 AND id = $2 AND status = 'pending'

-- name: PendingExport
-- Tenant path: the export to build, locked so two workers cannot both build it.
SELECT subject_user_id FROM privacy_requests
WHERE organization_id = $1 AND id = $2 AND kind = 'export' AND status = 'pending'
FOR UPDATE SKIP LOCKED

-- name: SaveExport
UPDATE privacy_requests SET status = 'ready', archive = $3, archive_sha256 = sha256($3), archive_bytes = octet_length($3),
  outcome = $4::json, completed_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'pending'
RETURNING ${request_columns}

-- name: IssueExportLink
-- Only the admin who asked, only while the archive waits; a new link
-- replaces the previous one.
UPDATE privacy_requests SET link_token_hash = $4, link_expires_at = $5
WHERE organization_id = $1 AND id = $2 AND requested_by = $3 AND kind = 'export' AND status = 'ready'
RETURNING ${request_columns}

-- name: TakeExport
-- The one download: an atomic conditional update (the requester, the
-- token's hash, not expired, not taken) that returns the archive and
-- deletes it in the same statement.
WITH taken AS (
  SELECT organization_id, id, archive FROM privacy_requests
  WHERE organization_id = $1 AND link_token_hash = $2 AND requested_by = $3
    AND status = 'ready' AND link_expires_at > now()
  FOR UPDATE
)
UPDATE privacy_requests r SET status = 'downloaded', archive = NULL, downloaded_at = now(),
  link_token_hash = NULL, link_expires_at = NULL
FROM taken WHERE r.organization_id = taken.organization_id AND r.id = taken.id
RETURNING r.id, r.subject_user_id, taken.archive

-- name: ExportUser
SELECT coalesce(json_agg(t), '[]')::text FROM (
  SELECT id, email, display_name, created_at, updated_at FROM users WHERE id = $2
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = $1 AND m.user_id = $2)) t

-- name: ExportMemberships
SELECT coalesce(json_agg(t), '[]')::text FROM (
  SELECT organization_id, user_id, role, venue_codes, created_at, updated_at
  FROM memberships WHERE organization_id = $1 AND user_id = $2) t

-- name: ExportSessions
-- Session metadata: never the session's secret (there is none stored).
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, created_at, expires_at, revoked_at, revoked_reason, host(ip) AS ip, user_agent
  FROM sessions WHERE user_id = $2 AND active_organization_id = $1) t

-- name: ExportInvites
-- Invites addressed to them (not the ones they sent: those are other
-- people's addresses). Never the token hash.
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, email, role, venue_codes, created_at, expires_at, redeemed_at, revoked_at
  FROM invites WHERE organization_id = $1 AND (email = lower($3::text) OR redeemed_by = $2)) t

-- name: ExportAPITokens
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, name, role, venue_codes, created_at, expires_at, revoked_at, last_used_at
  FROM api_tokens WHERE organization_id = $1 AND created_by = $2) t

-- name: ExportProposals
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, title, client_name, venue_code, status, brief, body_html, ai_generated, review_status,
         author_id, approved_by, approved_at, created_at, updated_at
  FROM proposals WHERE organization_id = $1 AND (author_id = $2 OR approved_by = $2)) t

-- name: ExportAIJobs
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, kind, proposal_id, venue_code, agent_type, status, input_tokens, output_tokens,
         error_code, cancel_reason, created_at, finished_at
  FROM ai_jobs WHERE organization_id = $1 AND (requested_by = $2 OR cancelled_by = $2)) t

-- name: ExportBOMLines
-- Encrypted cost fields stay out (they are the organization's, not theirs).
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, proposal_id, venue_code, item, category, quantity, unit, created_by, updated_by, created_at, updated_at
  FROM bom_lines WHERE organization_id = $1 AND (created_by = $2 OR updated_by = $2)) t

-- name: ExportAttachments
-- Metadata only: the files are the organization's documents.
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, proposal_id, venue_code, filename, content_type, size_bytes, encode(sha256, 'hex') AS sha256, created_at
  FROM attachments WHERE organization_id = $1 AND uploaded_by = $2) t

-- name: ExportSOWs
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, proposal_id, venue_code, title, status, created_by, signed_by, signed_at, created_at
  FROM sows WHERE organization_id = $1 AND (created_by = $2 OR signed_by = $2)) t

-- name: ExportBudgetLines
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, proposal_id, venue_code, category, description, status, created_by, actualized_by, actualized_at, created_at
  FROM budget_lines WHERE organization_id = $1 AND (created_by = $2 OR actualized_by = $2)) t

-- name: ExportChangeOrders
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, sow_id, venue_code, description, status, requested_by, decided_by, decided_at, decision_reason, created_at
  FROM change_orders WHERE organization_id = $1 AND (requested_by = $2 OR decided_by = $2)) t

-- name: ExportPrivacyRequests
SELECT coalesce(json_agg(t ORDER BY t.created_at), '[]')::text FROM (
  SELECT id, kind, status, requested_by, created_at, completed_at
  FROM privacy_requests WHERE organization_id = $1 AND subject_user_id = $2) t

-- name: ExportAuditEvents
-- Their own IP and user agent only on events they did; snapshots,
-- metadata and reason only on events about them (an event they did to
-- someone else describes that person).
SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text FROM (
  SELECT e.id, e.occurred_at, e.actor_type, e.actor_id, e.action, e.target_type, e.target_id, e.request_id,
         CASE WHEN e.actor_id = $2::text THEN host(e.ip) END AS ip,
         CASE WHEN e.actor_id = $2::text THEN e.user_agent END AS user_agent,
         CASE WHEN e.target_id = $2::text OR e.actor_id <> $2::text THEN e.before END AS before,
         CASE WHEN e.target_id = $2::text OR e.actor_id <> $2::text THEN e.after END AS after,
         CASE WHEN e.target_id = $2::text OR e.actor_id <> $2::text THEN e.metadata END AS metadata,
         CASE WHEN e.target_id = $2::text OR e.actor_id <> $2::text THEN e.reason END AS reason,
         e.erased_at
  ${subject_events}) t
