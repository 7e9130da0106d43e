-- The store side of `rampart trust-report` (trust.go): the cross-tenant
-- probe's helpers, the kill-switch canary, key first uses and versions.
-- The probe's own statements name a table from the live catalog
-- (pgx.Identifier, never input) and are built in trust.go like the
-- rls-audit probe's.

-- name: TrustOrganizations
-- The two oldest organizations (service path, read-only): the probe's
-- attacker and victim.
SELECT id FROM organizations ORDER BY created_at, id LIMIT 2

-- name: TrustUpdatableColumn
-- The first column of table $1 the app role ($2) may UPDATE and that can
-- be set to itself (not generated, not an identity ALWAYS column): the
-- cross-tenant UPDATE sets it to its own value.
SELECT a.attname::text FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = '' AND a.attidentity <> 'a'
  AND pg_catalog.has_column_privilege($2::name, a.attrelid, a.attnum, 'UPDATE')
ORDER BY a.attnum LIMIT 1

-- name: TrustProbeLimits
-- The probe runs beside live traffic: it waits for no lock for long and
-- no statement runs away (SET LOCAL: they end with the transaction).
SELECT pg_catalog.set_config('lock_timeout', '2s', true), pg_catalog.set_config('statement_timeout', '15s', true)

-- name: TrustSavepoint
SAVEPOINT rampart_trust_probe

-- name: TrustRollbackTo
ROLLBACK TO SAVEPOINT rampart_trust_probe

-- name: TrustRelease
RELEASE SAVEPOINT rampart_trust_probe

-- name: KillSwitchCanary
-- A job-level kill-switch notice for a synthetic job ($1 is its JSON
-- payload), on the channel the migration-005 triggers use.
SELECT pg_catalog.pg_notify('rampart_killswitch', $1)

-- name: AuditKeyUse
-- Per audit MAC key: its first and last use and how many events it signs.
SELECT mac_key_id, min(occurred_at), max(occurred_at), count(*) FROM audit_events GROUP BY mac_key_id ORDER BY mac_key_id

-- name: FieldKeyFirstUse
-- Per field key: the oldest and newest sealed bill-of-materials line.
SELECT field_key_id, min(created_at), max(created_at), count(*) FROM bom_lines
WHERE field_key_id IS NOT NULL GROUP BY field_key_id ORDER BY field_key_id

-- name: ServerVersion
SELECT pg_catalog.current_setting('server_version')
