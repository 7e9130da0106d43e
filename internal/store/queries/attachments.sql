-- Attachments (attachments.go): files of a proposal, venue-scoped by RLS
-- like the proposal itself. Every statement also filters by
-- organization_id. Lists never read the content column.

-- fragment: attachment_columns
organization_id, id, proposal_id, venue_code, filename, content_type, size_bytes, sha256, uploaded_by, created_at

-- name: CreateAttachment
-- The venue is the proposal's, copied from its row here (never given by
-- the caller); FOR SHARE holds the proposal so that a concurrent move to
-- another venue waits for this insert and then moves it too.
INSERT INTO attachments (organization_id, proposal_id, venue_code, filename, content_type, size_bytes, sha256, content, uploaded_by)
SELECT p.organization_id, p.id, p.venue_code, $3, $4, $5, $6, $7, $8
  FROM (SELECT organization_id, id, venue_code FROM proposals WHERE organization_id = $1 AND id = $2 FOR SHARE) p
RETURNING ${attachment_columns}

-- name: ListAttachments
SELECT ${attachment_columns} FROM attachments WHERE organization_id = $1 AND proposal_id = $2
ORDER BY created_at, id

-- name: GetAttachment
SELECT ${attachment_columns} FROM attachments WHERE organization_id = $1 AND id = $2

-- name: GetAttachmentContent
SELECT ${attachment_columns}, content FROM attachments WHERE organization_id = $1 AND id = $2

-- name: DeleteAttachment
DELETE FROM attachments WHERE organization_id = $1 AND id = $2 RETURNING ${attachment_columns}
