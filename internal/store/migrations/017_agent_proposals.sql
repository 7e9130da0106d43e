-- Issue 15: agents propose, people decide. Every consequential agent
-- action (bill-of-materials lines from bom_drafter, budget lines from
-- budget_analyst, a vendor or crew choice) is a row here: the typed change,
-- the rationale, pending until a person approves or rejects it, expired
-- seven days after it was made (a cluster-wide periodic task marks it).
-- Approval applies the change in the approver's own tenant transaction,
-- with the approver's permissions (internal/agentproposal).
--
-- change holds what every reader of the proposal may see; change_cost the
-- restricted part (planned amounts of budget lines), read only for roles
-- with full cost access (a different query and a different Go type).
-- Each row takes its proposal's venue, moved with it.
CREATE TABLE agent_proposals (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  job_id          uuid,
  agent_type      text        NOT NULL CHECK (agent_type IN ('proposal_writer', 'bom_drafter', 'vendor_ranker',
                                                             'budget_analyst', 'crew_matcher')),
  kind            text        NOT NULL CHECK (kind IN ('bom_lines', 'budget_lines', 'vendor_choice', 'crew_assignment')),
  change          jsonb       NOT NULL CHECK (jsonb_typeof(change) = 'object' AND pg_column_size(change) <= 262144),
  change_cost     jsonb       CHECK (change_cost IS NULL OR (jsonb_typeof(change_cost) = 'object'
                                                             AND pg_column_size(change_cost) <= 65536)),
  rationale       text        NOT NULL CHECK (length(btrim(rationale)) BETWEEN 1 AND 4000),
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
  requested_by    uuid        NOT NULL,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  decided_by      uuid,
  decided_at      timestamptz,
  decision_reason text        CHECK (decision_reason IS NULL OR length(decision_reason) <= 2000),
  applied         jsonb       CHECK (applied IS NULL OR jsonb_typeof(applied) = 'object'),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  CHECK (expires_at = created_at + interval '7 days'),
  CHECK ((status = 'pending') = (decided_at IS NULL)),
  CHECK ((status IN ('approved', 'rejected')) = (decided_by IS NOT NULL)),
  CHECK ((status = 'approved') = (applied IS NOT NULL))
);
CREATE INDEX agent_proposals_queue_idx ON agent_proposals (organization_id, status, created_at DESC, id);
CREATE INDEX agent_proposals_proposal_idx ON agent_proposals (organization_id, proposal_id, created_at DESC);
-- The expiry task's scan, across organizations.
CREATE INDEX agent_proposals_expiry_idx ON agent_proposals (expires_at) WHERE status = 'pending';

ALTER TABLE agent_proposals ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_proposals FORCE ROW LEVEL SECURITY;
-- Every reader of the organization reads (venue managers their venues).
CREATE POLICY agent_proposals_tenant_select ON agent_proposals FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- An agent writes as the member who asked for it: roles that may request AI.
CREATE POLICY agent_proposals_tenant_insert ON agent_proposals FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND requested_by = (SELECT current_user_id())
              AND status = 'pending'
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- Roles that may approve some agent proposal decide (technical directors
-- bills of materials only: the use case's rule on top); the venue move
-- updates the venue.
CREATE POLICY agent_proposals_tenant_update ON agent_proposals FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT ON agent_proposals TO rampart_app;
GRANT UPDATE (status, decided_by, decided_at, decision_reason, applied, venue_code, updated_at) ON agent_proposals TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_proposals TO rampart_service;

-- AI jobs of the new agents: a drafted bill of materials and a budget
-- analysis end in an agent proposal, not in the proposal's body.
ALTER TABLE ai_jobs DROP CONSTRAINT ai_jobs_kind_check;
ALTER TABLE ai_jobs ADD CONSTRAINT ai_jobs_kind_check CHECK (kind IN ('proposal_generation', 'bom_draft', 'budget_analysis'));
-- One unfinished job per proposal and kind, under concurrent requests
-- too: a drafting agent may run beside the proposal's generation. (The
-- rule was one per proposal, kept by locking the proposal, which the
-- proposing agents' requesters — technical directors — may not do.)
CREATE UNIQUE INDEX ai_jobs_one_unfinished ON ai_jobs (organization_id, proposal_id, kind)
  WHERE status IN ('queued', 'running', 'retrying');
