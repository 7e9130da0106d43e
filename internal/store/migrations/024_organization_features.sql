-- Organization feature flags (issue #17): gates that platform operators set
-- per organization and that its members read but cannot change, not even
-- an admin. A missing row means the defaults: every feature on.
--
-- The runtime role may only read its own organization's row (forced RLS,
-- one SELECT policy, a column grant that leaves out who changed it); it
-- holds no INSERT, UPDATE or DELETE grant and no write policy, so no
-- tenant transaction, whatever its role, can write a flag. Operators write
-- through `rampart org features` on the service path (audited in the
-- organization's chain and as a platform event).
--
--   ai    every AI request: generation, the drafting agents, the vendor
--         ranker and crew matcher, and the proposal chat; the worker
--         cancels queued jobs of an organization whose ai flag is off
--         (the operator's change cancels its unfinished jobs as well)
--   chat  the proposal chat (needs ai as well)
CREATE TABLE organization_features (
  organization_id uuid        NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  ai              boolean     NOT NULL DEFAULT true,
  chat            boolean     NOT NULL DEFAULT true,
  reason          text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
  updated_by      text        NOT NULL CHECK (length(btrim(updated_by)) BETWEEN 1 AND 200),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE organization_features ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_features FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_features_tenant_select ON organization_features FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
-- Members see the flags, the operator's reason and when; not which
-- operator (updated_by is the platform's business).
GRANT SELECT (organization_id, ai, chat, reason, updated_at) ON organization_features TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON organization_features TO rampart_service;
