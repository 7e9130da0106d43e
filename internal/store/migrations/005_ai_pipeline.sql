-- The AI pipeline (DESIGN.md §5): proposals, AI jobs, the three-level kill
-- switch and token budgets, and the grants and policies on River's queue
-- tables (schema river, created by the River migration that store.Migrate
-- runs before this file).

-- Proposals: the first AI job type's subject. The brief is untrusted text
-- (it reaches a prompt only through the guard); the body is sanitised HTML.
-- Venue managers see and change only proposals of their venues; a proposal
-- without a venue is invisible to them (fail closed).
CREATE TABLE proposals (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  title           text        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  client_name     text        NOT NULL DEFAULT '' CHECK (length(client_name) <= 200),
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  brief           text        NOT NULL DEFAULT '' CHECK (length(brief) <= 20000),
  body_html       text        NOT NULL DEFAULT '' CHECK (length(body_html) <= 400000),
  status          text        NOT NULL DEFAULT 'draft'
                              CHECK (status IN ('draft', 'ai_pending_review', 'approved')),
  ai_generated    boolean     NOT NULL DEFAULT false,
  review_status   text        NOT NULL DEFAULT 'none'
                              CHECK (review_status IN ('none', 'pending_review', 'approved')),
  author_id       uuid        NOT NULL,
  approved_by     uuid,
  approved_at     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  -- AI output always waits for a human: it cannot be stored as approved.
  CHECK (status <> 'ai_pending_review' OR (ai_generated AND review_status = 'pending_review')),
  CHECK (status <> 'approved' OR (approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE INDEX proposals_updated_idx ON proposals (organization_id, updated_at DESC);
ALTER TABLE proposals ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposals FORCE ROW LEVEL SECURITY;
CREATE POLICY proposals_tenant_select ON proposals FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- Writes: the roles that edit proposals (the API checks the same in
-- access.Check); readers cannot write even through a handler bug.
CREATE POLICY proposals_tenant_insert ON proposals FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY proposals_tenant_update ON proposals FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY proposals_tenant_delete ON proposals FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON proposals TO rampart_app, rampart_service;

-- AI jobs: Rampart's own record of each generation request, what the API,
-- the progress stream and the job-level kill switch read. The River job
-- carries only this row's ids. Venue scoping follows the proposal's venue.
CREATE TABLE ai_jobs (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  kind            text        NOT NULL CHECK (kind IN ('proposal_generation')),
  proposal_id     uuid        NOT NULL,
  venue_code      text,
  agent_type      text        NOT NULL,
  requested_by    uuid        NOT NULL,
  status          text        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed',
                                                'cancelled', 'refused', 'needs_review')),
  attempt         integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  queue_job_id    bigint,
  provider        text        NOT NULL DEFAULT '',
  model           text        NOT NULL DEFAULT '',
  estimated_tokens integer    NOT NULL DEFAULT 0 CHECK (estimated_tokens >= 0), -- outstanding reservation
  reserved_month  date,       -- the ai_usage month holding the reservation
  input_tokens    integer     NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens   integer     NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  guard_score     integer     NOT NULL DEFAULT 0,
  guard_rules     text[]      NOT NULL DEFAULT '{}',
  error_code      text        NOT NULL DEFAULT '' CHECK (length(error_code) <= 64),
  error_message   text        NOT NULL DEFAULT '' CHECK (length(error_message) <= 500),
  cancelled_by    uuid,
  cancel_reason   text        NOT NULL DEFAULT '' CHECK (length(cancel_reason) <= 500),
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX ai_jobs_updated_idx ON ai_jobs (organization_id, updated_at, id);
CREATE INDEX ai_jobs_proposal_idx ON ai_jobs (organization_id, proposal_id);
ALTER TABLE ai_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_jobs_tenant_select ON ai_jobs FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY ai_jobs_tenant_insert ON ai_jobs FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND requested_by = (SELECT current_user_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- Only roles that may request AI (the requester's worker, or an admin
-- cancelling) change a job; readers cannot.
CREATE POLICY ai_jobs_tenant_update ON ai_jobs FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT ON ai_jobs TO rampart_app;
GRANT UPDATE (status, attempt, queue_job_id, provider, model, estimated_tokens, reserved_month, venue_code, input_tokens, output_tokens,
              guard_score, guard_rules, error_code, error_message, cancelled_by, cancel_reason,
              started_at, finished_at, updated_at) ON ai_jobs TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ai_jobs TO rampart_service;

-- The worker runs a job with its requester's live claims: the requester's
-- current membership, re-read at every attempt, so a removed member's or a
-- demoted member's queued job runs with what they have now (or not at all).
-- It answers only for an unfinished job of the given organization.
-- It answers the job's status and, only while the job is unfinished, the
-- requester's membership (NULLs when the requester is no longer a member).
CREATE FUNCTION ai_job_claims(p_organization_id uuid, p_job_id uuid)
RETURNS TABLE (status text, user_id uuid, role text, venue_codes text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT j.status, m.user_id, m.role, m.venue_codes
    FROM ai_jobs j
    LEFT JOIN memberships m ON m.organization_id = j.organization_id AND m.user_id = j.requested_by
                           AND j.status IN ('queued', 'running', 'retrying')
   WHERE j.organization_id = p_organization_id AND j.id = p_job_id
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION ai_job_claims(uuid, uuid) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION ai_job_claims(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ai_job_claims(uuid, uuid) TO rampart_app;

-- Kill switches. Every change NOTIFYs the watchers of every process on
-- channel rampart_killswitch (the only NOTIFY in request transactions).
-- The organization level is tenant data; the global level is a single
-- platform row the runtime may only read.
CREATE TABLE org_kill_switches (
  organization_id uuid        NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  active          boolean     NOT NULL,
  reason          text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
  changed_by      text        NOT NULL CHECK (length(changed_by) BETWEEN 1 AND 200),
  changed_at      timestamptz NOT NULL DEFAULT now(),
  -- Set by a platform operator (service path): the organization's admins
  -- cannot turn the switch off (or change it) until the operator does.
  platform_locked boolean     NOT NULL DEFAULT false CHECK (active OR NOT platform_locked)
);
ALTER TABLE org_kill_switches ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_kill_switches FORCE ROW LEVEL SECURITY;
CREATE POLICY org_kill_switches_tenant_select ON org_kill_switches FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
-- Only an organization's admins may flip its switch (the API checks too).
CREATE POLICY org_kill_switches_admin_insert ON org_kill_switches FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
              AND NOT platform_locked);
CREATE POLICY org_kill_switches_admin_update ON org_kill_switches FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
         AND NOT platform_locked)
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
              AND NOT platform_locked);
GRANT SELECT ON org_kill_switches TO rampart_app;
GRANT INSERT (organization_id, active, reason, changed_by, changed_at),
      UPDATE (active, reason, changed_by, changed_at) ON org_kill_switches TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON org_kill_switches TO rampart_service;

CREATE TABLE platform_kill_switch (
  singleton  boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
  active     boolean     NOT NULL DEFAULT false,
  reason     text        NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
  changed_by text        NOT NULL DEFAULT '',
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform_kill_switch DEFAULT VALUES;
GRANT SELECT ON platform_kill_switch TO rampart_app;
GRANT SELECT, UPDATE ON platform_kill_switch TO rampart_service;

CREATE FUNCTION killswitch_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF TG_TABLE_NAME = 'platform_kill_switch' THEN
    PERFORM pg_notify('rampart_killswitch', json_build_object('scope', 'global', 'active', NEW.active)::text);
  ELSIF TG_TABLE_NAME = 'org_kill_switches' THEN
    PERFORM pg_notify('rampart_killswitch', json_build_object('scope', 'organization',
      'organization_id', NEW.organization_id, 'active', NEW.active)::text);
  ELSE
    PERFORM pg_notify('rampart_killswitch', json_build_object('scope', 'job',
      'organization_id', NEW.organization_id, 'job_id', NEW.id, 'active', true)::text);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER platform_kill_switch_notify AFTER UPDATE ON platform_kill_switch
  FOR EACH ROW EXECUTE FUNCTION killswitch_notify();
CREATE TRIGGER org_kill_switches_notify AFTER INSERT OR UPDATE ON org_kill_switches
  FOR EACH ROW EXECUTE FUNCTION killswitch_notify();
-- The job level: a cancellation of a job that may be running somewhere.
CREATE TRIGGER ai_jobs_cancel_notify AFTER UPDATE OF status ON ai_jobs
  FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status IN ('queued', 'running', 'retrying'))
  EXECUTE FUNCTION killswitch_notify();

-- What every process's watcher holds in memory: the global switch and the
-- ids of organizations whose switch is on (no reasons: a tenant reads its
-- own reason through RLS).
CREATE FUNCTION killswitch_state()
RETURNS TABLE (scope text, organization_id uuid, active boolean, reason text, changed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT 'global', NULL::uuid, p.active, p.reason, p.changed_at FROM platform_kill_switch p
  UNION ALL
  SELECT 'organization', o.organization_id, true, '', o.changed_at FROM org_kill_switches o WHERE o.active
$$;
GRANT CREATE ON SCHEMA public TO rampart_service;
ALTER FUNCTION killswitch_state() OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION killswitch_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION killswitch_state() TO rampart_app;

-- Token budgets: an optional monthly limit per organization, and the usage
-- of each month (reserved before a model call, settled after), so
-- concurrent jobs cannot overshoot: reserving takes the month's row lock.
CREATE TABLE ai_budgets (
  organization_id uuid        NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  monthly_tokens  bigint      CHECK (monthly_tokens IS NULL OR monthly_tokens BETWEEN 1 AND 1000000000000),
  updated_by      uuid,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ai_budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_budgets_tenant_select ON ai_budgets FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
CREATE POLICY ai_budgets_admin_insert ON ai_budgets FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY ai_budgets_admin_update ON ai_budgets FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, UPDATE ON ai_budgets TO rampart_app, rampart_service;

CREATE TABLE ai_usage (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  month           date        NOT NULL CHECK (month = date_trunc('month', month)::date),
  reserved_tokens bigint      NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
  used_tokens     bigint      NOT NULL DEFAULT 0 CHECK (used_tokens >= 0),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, month)
);
ALTER TABLE ai_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_usage_tenant_select ON ai_usage FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
-- Usage changes only in the transactions of AI work (the requester's
-- claims) or a cancellation: the roles that may request AI.
CREATE POLICY ai_usage_tenant_insert ON ai_usage FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'));
CREATE POLICY ai_usage_tenant_update ON ai_usage FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'))
  WITH CHECK (organization_id = (SELECT current_user_org_id()));
GRANT SELECT, INSERT, UPDATE ON ai_usage TO rampart_app, rampart_service;

-- River's queue. The queue role (the worker's pool) works every tenant's
-- jobs; the runtime may only insert a job of its own organization in the
-- request's transaction (args carry organization_id), and River's insert
-- needs SELECT for RETURNING and UPDATE (kind) for its ON CONFLICT clause.
GRANT USAGE ON SCHEMA river TO rampart_queue, rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA river TO rampart_queue;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA river TO rampart_queue;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA river TO rampart_queue, rampart_app;
GRANT SELECT, INSERT, UPDATE (kind) ON river.river_job TO rampart_app;
GRANT SELECT ON river.river_migration TO rampart_app; -- start-up checks the queue schema's version
GRANT USAGE ON SEQUENCE river.river_job_id_seq TO rampart_app;
ALTER TABLE river.river_job ENABLE ROW LEVEL SECURITY;
ALTER TABLE river.river_job FORCE ROW LEVEL SECURITY;
CREATE POLICY river_job_queue_all ON river.river_job FOR ALL TO rampart_queue USING (true) WITH CHECK (true);
CREATE POLICY river_job_tenant_select ON river.river_job FOR SELECT TO rampart_app
  USING ((args ->> 'organization_id') = (SELECT current_user_org_id())::text);
CREATE POLICY river_job_tenant_insert ON river.river_job FOR INSERT TO rampart_app
  WITH CHECK ((args ->> 'organization_id') = (SELECT current_user_org_id())::text);
CREATE POLICY river_job_tenant_update ON river.river_job FOR UPDATE TO rampart_app
  USING ((args ->> 'organization_id') = (SELECT current_user_org_id())::text)
  WITH CHECK ((args ->> 'organization_id') = (SELECT current_user_org_id())::text);
