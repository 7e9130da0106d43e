-- Backups and restore drills (backup.go): the facts a backup's manifest
-- records, read inside the very snapshot pg_dump dumps, and read again
-- from the restored copy by the drill; and the scratch database the drill
-- restores into. They run as the backup login (a superuser, or a login
-- with BYPASSRLS that can read every table), never as the runtime login.
-- Identifiers of databases and roles are quoted by the server (format's
-- %I and %L), never concatenated in Go.

-- name: BackupBegin
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY

-- name: BackupRowSecurityOff
-- A count under row-level security would count one tenant's rows, or
-- none: with row_security off, a login subject to RLS gets an error
-- instead of a wrong manifest (pg_dump does the same).
SET LOCAL row_security = off

-- name: BackupExportSnapshot
SELECT pg_export_snapshot()

-- name: BackupServer
SELECT current_database(), current_setting('server_version'), current_setting('server_version_num')::int, now()

-- name: BackupSchemaVersion
SELECT version FROM rampart_schema_version

-- name: BackupTableCounts
-- Every table of Rampart's schemas with its exact row count, counted in
-- this transaction's snapshot (query_to_xml runs the count; format quotes
-- the catalog's own names).
SELECT n.nspname::text, c.relname::text,
  (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'river')
ORDER BY 1, 2

-- name: BackupChainHeads
-- Every audit chain (an organization's, or "platform"): its event count,
-- its newest event (chain order: transaction, then id) and its newest
-- seal or retention checkpoint.
WITH events AS (
  SELECT coalesce(organization_id::text, 'platform') AS chain, count(*) AS n FROM audit_events GROUP BY 1
), last_event AS (
  SELECT DISTINCT ON (organization_id) coalesce(organization_id::text, 'platform') AS chain, id, mac
  FROM audit_events ORDER BY organization_id, xact_id DESC, id DESC
), last_seal AS (
  SELECT DISTINCT ON (chain) chain, seq, mac FROM audit_seals ORDER BY chain, seq DESC
)
SELECT c.chain, coalesce(e.n, 0), l.id, l.mac, s.seq, s.mac
FROM (SELECT chain FROM events UNION SELECT chain FROM last_seal) AS c
LEFT JOIN events e USING (chain) LEFT JOIN last_event l USING (chain) LEFT JOIN last_seal s USING (chain)
ORDER BY c.chain

-- name: ScratchMissingRoles
-- The cluster-wide roles a restored Rampart database refers to.
SELECT coalesce(array_agg(r ORDER BY r), '{}') FROM unnest($1::text[]) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)

-- name: ScratchCreateDatabase
SELECT format('CREATE DATABASE %I OWNER rampart_owner ENCODING ''UTF8'' TEMPLATE template0', $1::text)

-- name: ScratchRevokeTemporary
-- As sql/roles.sql does for a migrated database (pg_dump does not carry
-- database-level privileges).
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', $1::text)

-- name: ScratchDropDatabase
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text)

-- name: DrillCreateLogin
-- A temporary login for the drill's runtime and service checks on a
-- server whose real logins' passwords Rampart does not hold.
SELECT format('CREATE ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L VALID UNTIL %L IN ROLE %I',
  $1::text, $2::text, $3::text, $4::text)

-- name: DrillDropLogin
SELECT format('DROP ROLE IF EXISTS %I', $1::text)

-- name: DatabaseExists
SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)

-- name: RenameDatabase
SELECT format('ALTER DATABASE %I RENAME TO %I', $1::text, $2::text)

-- name: BackupXactHorizon
-- The newest transaction id the audit log refers to (an event's xact_id
-- or a seal's range end): a database restored onto a cluster whose
-- transaction ids are behind it could neither verify nor seal in order.
SELECT greatest((SELECT coalesce(max(xact_id::text::bigint), 0) FROM audit_events),
                (SELECT coalesce(max(to_xid::text::bigint), 0) FROM audit_seals))
