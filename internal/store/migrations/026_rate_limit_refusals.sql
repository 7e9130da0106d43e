-- Issue #17 (console usage): rate-limit refusals per organization, per
-- UTC day and per tier (decision 0029, docs/edge.md).
--
-- Each serve process counts the 429s of authenticated requests in memory
-- (internal/refusal) and adds them here in one upsert every 10 s and at
-- shutdown, on the service path without an audit event per flush: a
-- flood must not become database load, nor audit events. Unauthenticated
-- refusals (budgets per address) have no organization and never reach
-- this table. Admins read their own organization's rows (the usage page,
-- GET /api/admin/usage/refusals); the runtime role cannot write, update
-- or delete them. Rows older than 400 days are pruned daily.
CREATE TABLE rate_limit_refusals (
  organization_id uuid   NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day             date   NOT NULL,
  tier            text   NOT NULL CHECK (tier ~ '^[a-z][a-z-]{0,31}$'),
  refusals        bigint NOT NULL CHECK (refusals > 0),
  PRIMARY KEY (organization_id, day, tier)
);
ALTER TABLE rate_limit_refusals ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_refusals FORCE ROW LEVEL SECURITY;
CREATE POLICY rate_limit_refusals_admin_select ON rate_limit_refusals FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT ON rate_limit_refusals TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_refusals TO rampart_service;
-- No index on day alone: every index is led by organization_id (a
-- distribution by tenant keeps working), and the daily prune's scan of
-- at most organizations × 400 days × tiers small rows is cheap.
