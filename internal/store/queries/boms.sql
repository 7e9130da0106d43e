-- Bills of materials (boms.go): the lines of a proposal, venue-scoped by
-- RLS. The *_enc columns hold fieldcrypt envelopes only; plaintext cost,
-- sourcing and lead time never reach these statements.

-- fragment: bom_line_columns
organization_id, id, proposal_id, position, item, category, (quantity * 1000)::bigint, unit,
ai_generated, created_by, updated_by, created_at, updated_at

-- fragment: bom_sealed_columns
currency, unit_cost_enc, sourcing_enc, lead_time_enc, field_key_id

-- name: ListBOMLines
SELECT ${bom_line_columns} FROM bom_lines WHERE organization_id = $1 AND proposal_id = $2
ORDER BY position, created_at, id

-- name: ListCostedBOMLines
SELECT ${bom_line_columns}, ${bom_sealed_columns} FROM bom_lines WHERE organization_id = $1 AND proposal_id = $2
ORDER BY position, created_at, id

-- name: ProposalVisible
SELECT EXISTS (SELECT 1 FROM proposals WHERE organization_id = $1 AND id = $2)

-- name: CountBOMLines
SELECT count(*) FROM bom_lines WHERE organization_id = $1 AND proposal_id = $2

-- name: CreateBOMLine
-- The line takes its proposal's venue (RLS then decides whether the caller
-- may write there); no visible proposal, no row.
INSERT INTO bom_lines (organization_id, id, proposal_id, venue_code, position, item, category, quantity, unit,
                       currency, unit_cost_enc, sourcing_enc, lead_time_enc, field_key_id, ai_generated, created_by, updated_by)
SELECT p.organization_id, $2, p.id, p.venue_code,
       COALESCE($4, (SELECT COALESCE(max(position) + 1, 0) FROM bom_lines b WHERE b.organization_id = p.organization_id AND b.proposal_id = p.id)),
       $5, $6, $7::bigint / 1000.0, $8, $9, $10, $11, $12, $13, $15::boolean, $14, $14
FROM proposals p WHERE p.organization_id = $1 AND p.id = $3
RETURNING ${bom_line_columns}

-- name: GetBOMLineLocked
SELECT ${bom_line_columns}, ${bom_sealed_columns} FROM bom_lines WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: UpdateBOMLine
UPDATE bom_lines SET position = $3, item = $4, category = $5, quantity = $6::bigint / 1000.0, unit = $7,
  updated_by = $8, updated_at = now()
WHERE organization_id = $1 AND id = $2 RETURNING ${bom_line_columns}

-- name: UpdateBOMLineSealed
UPDATE bom_lines SET position = $3, item = $4, category = $5, quantity = $6::bigint / 1000.0, unit = $7,
  updated_by = $8, updated_at = now(),
  currency = $9, unit_cost_enc = $10, sourcing_enc = $11, lead_time_enc = $12, field_key_id = $13
WHERE organization_id = $1 AND id = $2 RETURNING ${bom_line_columns}

-- name: DeleteBOMLine
DELETE FROM bom_lines WHERE organization_id = $1 AND id = $2 RETURNING ${bom_line_columns}

-- name: FieldKeyCounts
-- Values per key across tenants (service path): a row holds up to three.
SELECT field_key_id, count(*),
       sum((unit_cost_enc IS NOT NULL)::int + (sourcing_enc IS NOT NULL)::int + (lead_time_enc IS NOT NULL)::int)
FROM bom_lines WHERE field_key_id IS NOT NULL GROUP BY field_key_id ORDER BY field_key_id

-- name: StaleSealedRows
-- A batch of rows sealed under another key than $1, after the cursor
-- ($2, $3), in key order; locked, and skipped when another rotation holds
-- them.
SELECT organization_id, id, unit_cost_enc, sourcing_enc, lead_time_enc, field_key_id FROM bom_lines
WHERE field_key_id IS NOT NULL AND field_key_id <> $1 AND (organization_id, id) > ($2::uuid, $3::uuid)
ORDER BY organization_id, id LIMIT $4 FOR UPDATE SKIP LOCKED

-- name: ResealRow
UPDATE bom_lines SET unit_cost_enc = $3, sourcing_enc = $4, lead_time_enc = $5, field_key_id = $6
WHERE organization_id = $1 AND id = $2 AND field_key_id = $7

-- name: OpenRotation
-- The unfinished rotation to the same key, if any: the run resumes it.
SELECT id, resealed, failed, started_at FROM field_key_rotations WHERE target_key = $1 AND finished_at IS NULL
ORDER BY id DESC LIMIT 1

-- name: StartRotation
INSERT INTO field_key_rotations (target_key) VALUES ($1) RETURNING id, started_at

-- name: CountRotation
UPDATE field_key_rotations SET resealed = resealed + $2, failed = failed + $3 WHERE id = $1

-- name: FinishRotation
UPDATE field_key_rotations SET finished_at = now() WHERE id = $1 AND finished_at IS NULL
RETURNING resealed, failed

-- name: GetBOMLine
SELECT ${bom_line_columns} FROM bom_lines WHERE organization_id = $1 AND id = $2
