-- The audit log's table (DESIGN.md §6). Written in the same transaction as
-- the change it records. The runtime role may INSERT and read its own
-- organization's events; it has no UPDATE, DELETE or TRUNCATE. Platform
-- events (organization_id NULL, e.g. a use of the service role) are
-- invisible to every tenant. Hash chaining and retention come with the audit
-- issue and extend this table.
CREATE TABLE audit_events (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  organization_id uuid        REFERENCES organizations (id),
  occurred_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_type      text        NOT NULL CHECK (actor_type IN ('user', 'api_token', 'agent', 'service', 'system')),
  actor_id        text        NOT NULL DEFAULT '' CHECK (length(actor_id) <= 200),
  actor_scope     jsonb       NOT NULL DEFAULT '{}',
  action          text        NOT NULL CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
  target_type     text        NOT NULL DEFAULT '',
  target_id       text        NOT NULL DEFAULT '',
  before          jsonb,
  after           jsonb,
  ip              inet,
  user_agent      text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 1000),
  request_id      text        NOT NULL DEFAULT '' CHECK (length(request_id) <= 200),
  reason          text        NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
  metadata        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org_time_idx ON audit_events (organization_id, occurred_at, id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant_select ON audit_events FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
CREATE POLICY audit_events_tenant_insert ON audit_events FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()));
GRANT SELECT, INSERT ON audit_events TO rampart_app;
GRANT SELECT, INSERT ON audit_events TO rampart_service;
