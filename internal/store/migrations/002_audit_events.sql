-- The audit log's table (DESIGN.md §6, docs/audit.md). Written in the same
-- transaction as the change it records. The runtime role may INSERT and
-- read its own organization's events; it has no UPDATE, DELETE or
-- TRUNCATE, and triggers (migration 004) refuse those to everyone but the
-- retention path. Platform events (organization_id NULL) are invisible to
-- every tenant.
--
-- Tamper evidence: the writer signs every event with an HMAC (mac) over a
-- canonical encoding of its fields, with a key the database never sees.
-- JSON columns are json, not jsonb, so the stored text is exactly what was
-- signed. xact_id records the writing transaction; seals (migration 004)
-- chain the events of each organization by transaction ranges.
CREATE TABLE audit_events (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_key       uuid        NOT NULL UNIQUE,
  -- No foreign key: the trail outlives the organization (deletion on
  -- request must not erase the record of what happened), and a key-share
  -- lock on the organization row per event would make every audited write
  -- of an organization contend on that row.
  organization_id uuid,
  occurred_at     timestamptz NOT NULL,
  actor_type      text        NOT NULL CHECK (actor_type IN ('user', 'api_token', 'agent', 'service', 'system')),
  actor_id        text        NOT NULL DEFAULT '' CHECK (length(actor_id) <= 200),
  actor_scope     json,
  action          text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
  target_type     text        NOT NULL DEFAULT '' CHECK (length(target_type) <= 100),
  target_id       text        NOT NULL DEFAULT '' CHECK (length(target_id) <= 200),
  before          json,
  after           json,
  ip              inet,
  user_agent      text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 1000),
  request_id      text        NOT NULL DEFAULT '' CHECK (length(request_id) <= 200),
  reason          text        NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
  metadata        json,
  xact_id         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  mac_key_id      text        NOT NULL CHECK (length(mac_key_id) BETWEEN 1 AND 32),
  mac             bytea       NOT NULL CHECK (length(mac) = 32)
);
CREATE INDEX audit_events_org_time_idx ON audit_events (organization_id, occurred_at, id);
CREATE INDEX audit_events_org_xact_idx ON audit_events (organization_id, xact_id, id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
-- Only an organization's admins read its events (DESIGN.md §4 "view audit log").
CREATE POLICY audit_events_tenant_select ON audit_events FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY audit_events_tenant_insert ON audit_events FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()));
GRANT SELECT, INSERT ON audit_events TO rampart_app;
GRANT SELECT, INSERT ON audit_events TO rampart_service;
