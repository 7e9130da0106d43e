-- Restore drills (issue #16 item 4): every `rampart restore-drill` run
-- leaves one row here, so the trust report can show the last drill's
-- result and age, and an operator can see the history.
--
-- Platform bookkeeping, no tenant data: the row describes a backup file
-- and the checks run on a scratch copy, never a tenant's rows. It has no
-- organization_id and is reached on the service path only (rampart_service,
-- BYPASSRLS): the runtime role holds no grant at all, and RLS is enabled
-- and forced with no policy, so any other role that ever got a grant
-- would still see nothing. Append-only: no UPDATE or DELETE grant; each
-- insert is audited (operations.restore_drill.recorded) in the same
-- transaction.
CREATE TABLE restore_drills (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL,
  ok              boolean     NOT NULL,
  backup_file     text        NOT NULL CHECK (length(backup_file) BETWEEN 1 AND 1000),
  backup_taken_at timestamptz,
  backup_sha256   text        NOT NULL DEFAULT '' CHECK (backup_sha256 ~ '^([0-9a-f]{64})?$'),
  backup_bytes    bigint      NOT NULL DEFAULT 0 CHECK (backup_bytes >= 0),
  schema_version  integer     NOT NULL DEFAULT 0 CHECK (schema_version >= 0),
  restore_ms      bigint      NOT NULL DEFAULT 0 CHECK (restore_ms >= 0),
  total_ms        bigint      NOT NULL CHECK (total_ms >= 0),
  tables_checked  integer     NOT NULL DEFAULT 0 CHECK (tables_checked >= 0),
  rows_checked    bigint      NOT NULL DEFAULT 0 CHECK (rows_checked >= 0),
  failed_checks   integer     NOT NULL DEFAULT 0 CHECK (failed_checks >= 0),
  summary         text        NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
  checks          jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(checks) = 'array'),
  run_by          text        NOT NULL CHECK (length(run_by) BETWEEN 1 AND 200),
  CHECK (finished_at >= started_at),
  CHECK (ok = (failed_checks = 0))
);
CREATE INDEX restore_drills_recent ON restore_drills (recorded_at DESC, id DESC);
ALTER TABLE restore_drills ENABLE ROW LEVEL SECURITY;
ALTER TABLE restore_drills FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON restore_drills TO rampart_service;
