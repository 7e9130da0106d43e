-- Cluster-wide periodic work (issue 11): audit sealing, retention and the
-- AI job sweep run once per interval for the whole cluster, whatever the
-- number of serve and worker processes. Each process ticks; a tick runs
-- the task only if it claims the task's row (the last start is at least
-- most of an interval ago), which one conditional upsert decides. The row
-- is also the task's run log: who ran it last, when, and with what result.
CREATE TABLE periodic_runs (
  task             text        NOT NULL PRIMARY KEY CHECK (task ~ '^[a-z][a-z_]{0,62}$'),
  last_started_at  timestamptz NOT NULL,
  last_finished_at timestamptz,
  last_result      text        NOT NULL DEFAULT '' CHECK (length(last_result) <= 500),
  last_error       text        NOT NULL DEFAULT '' CHECK (length(last_error) <= 500),
  run_by           text        NOT NULL CHECK (length(run_by) <= 200),
  runs             bigint      NOT NULL DEFAULT 1 CHECK (runs > 0)
);
-- Platform bookkeeping, no tenant data: reached on the service path only.
ALTER TABLE periodic_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE periodic_runs FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON periodic_runs TO rampart_service;
