-- Running processes and their kill-switch acknowledgements (issue #17,
-- decision 0027): every `serve` and `worker` registers itself, beats a
-- coarse heartbeat, and records, when it installs a new state of a switch,
-- which switch (scope, organization, the switch's changed_at), when it
-- installed it, and how many in-flight AI jobs it stopped and model
-- streams it closed. `rampart killswitch status` and the operator console
-- read them on the service path.
--
-- Processes and the global switch's acknowledgements are platform
-- bookkeeping with no tenant data: service path only (rampart_service),
-- RLS enabled and forced with no policy, no runtime grant at all.
CREATE TABLE rampart_processes (
  id              uuid        PRIMARY KEY,
  role            text        NOT NULL CHECK (role IN ('serve', 'worker')),
  hostname        text        NOT NULL CHECK (length(hostname) BETWEEN 1 AND 255),
  pid             integer     NOT NULL CHECK (pid > 0),
  version         text        NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
  started_at      timestamptz NOT NULL DEFAULT now(),
  last_seen       timestamptz NOT NULL DEFAULT now(),
  -- When the process first held the whole kill-switch state (database
  -- clock): every switch changed before then was in its first read.
  state_loaded_at timestamptz,
  stopped_at      timestamptz,
  CHECK (last_seen >= started_at)
);
CREATE INDEX rampart_processes_last_seen ON rampart_processes (last_seen DESC);
ALTER TABLE rampart_processes ENABLE ROW LEVEL SECURITY;
ALTER TABLE rampart_processes FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON rampart_processes TO rampart_service;

-- One row per process and version of the global switch (its changed_at).
-- A later cancellation under the same version adds to the counts.
CREATE TABLE killswitch_acks (
  process_id        uuid        NOT NULL REFERENCES rampart_processes (id) ON DELETE CASCADE,
  switch_changed_at timestamptz NOT NULL,
  active            boolean     NOT NULL,
  installed_at      timestamptz NOT NULL,
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  jobs_stopped      integer     NOT NULL DEFAULT 0 CHECK (jobs_stopped >= 0),
  streams_closed    integer     NOT NULL DEFAULT 0 CHECK (streams_closed >= 0),
  PRIMARY KEY (process_id, switch_changed_at)
);
CREATE INDEX killswitch_acks_switch ON killswitch_acks (switch_changed_at DESC);
ALTER TABLE killswitch_acks ENABLE ROW LEVEL SECURITY;
ALTER TABLE killswitch_acks FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON killswitch_acks TO rampart_service;

-- An organization's switch's acknowledgements name the organization: its
-- members may read their own (which processes heard their switch, and
-- what it stopped), never write; another organization's rows are
-- invisible. The process behind process_id stays service-only.
CREATE TABLE org_killswitch_acks (
  organization_id   uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  switch_changed_at timestamptz NOT NULL,
  process_id        uuid        NOT NULL REFERENCES rampart_processes (id) ON DELETE CASCADE,
  active            boolean     NOT NULL,
  installed_at      timestamptz NOT NULL,
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  jobs_stopped      integer     NOT NULL DEFAULT 0 CHECK (jobs_stopped >= 0),
  streams_closed    integer     NOT NULL DEFAULT 0 CHECK (streams_closed >= 0),
  PRIMARY KEY (organization_id, switch_changed_at, process_id)
);
CREATE INDEX org_killswitch_acks_process ON org_killswitch_acks (organization_id, process_id);
ALTER TABLE org_killswitch_acks ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_killswitch_acks FORCE ROW LEVEL SECURITY;
CREATE POLICY org_killswitch_acks_tenant_select ON org_killswitch_acks FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
GRANT SELECT ON org_killswitch_acks TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON org_killswitch_acks TO rampart_service;
