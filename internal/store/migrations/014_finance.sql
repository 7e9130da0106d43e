-- Issue 15: finance behind human sign-off. A statement of work per
-- proposal (draft → signed, and back only with a reason), budget lines
-- (planned → actualized, and back only with a reason), and change orders
-- on a signed statement of work (requested → approved | rejected by an
-- admin or executive producer).
--
-- Amounts are minor units of an ISO 4217 currency. They are shown only to
-- roles with full cost access (the use cases return a different type to
-- the others). Every row takes its proposal's venue, moved with it, so
-- venue managers see only their venues' finance.
CREATE TABLE sows (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  title           text        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  terms           text        NOT NULL DEFAULT '' CHECK (length(terms) <= 20000),
  amount_minor    bigint      NOT NULL CHECK (amount_minor BETWEEN 0 AND 100000000000000),
  currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status          text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),
  signed_by       uuid,
  signed_at       timestamptz,
  created_by      uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, proposal_id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  CHECK ((status = 'signed') = (signed_by IS NOT NULL AND signed_at IS NOT NULL))
);

CREATE TABLE budget_lines (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  category        text        NOT NULL CHECK (category IN ('audio', 'lighting', 'video', 'rigging', 'staging', 'power',
                                                           'backline', 'furniture', 'decor', 'catering', 'transport',
                                                           'crew', 'venue', 'other')),
  description     text        NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 200),
  currency        text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  planned_minor   bigint      NOT NULL CHECK (planned_minor BETWEEN 0 AND 100000000000000),
  actual_minor    bigint      CHECK (actual_minor BETWEEN 0 AND 100000000000000),
  status          text        NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'actualized')),
  actualized_by   uuid,
  actualized_at   timestamptz,
  created_by      uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  CHECK ((status = 'actualized') = (actual_minor IS NOT NULL AND actualized_by IS NOT NULL AND actualized_at IS NOT NULL))
);
CREATE INDEX budget_lines_proposal_idx ON budget_lines (organization_id, proposal_id, created_at, id);

CREATE TABLE change_orders (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  sow_id          uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  description     text        NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 2000),
  amount_delta_minor bigint   NOT NULL CHECK (amount_delta_minor BETWEEN -100000000000000 AND 100000000000000),
  status          text        NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'rejected')),
  requested_by    uuid        NOT NULL,
  decided_by      uuid,
  decided_at      timestamptz,
  decision_reason text        CHECK (length(decision_reason) <= 2000),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, sow_id) REFERENCES sows (organization_id, id) ON DELETE CASCADE,
  CHECK ((status = 'requested') = (decided_by IS NULL AND decided_at IS NULL))
);
CREATE INDEX change_orders_sow_idx ON change_orders (organization_id, sow_id, created_at, id);

-- Row-level security, the same shape for the three tables: every reader of
-- the organization reads (venue managers their venues); the editing roles
-- write (technical directors edit bills of materials only, so not these).
-- Who may sign, actualize, reverse or decide is the use cases' rule on top
-- (access.ActionSignSOW, ActionUnsignSOW, ActionActualizeBudget).
ALTER TABLE sows ENABLE ROW LEVEL SECURITY;
ALTER TABLE sows FORCE ROW LEVEL SECURITY;
CREATE POLICY sows_tenant_select ON sows FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY sows_tenant_insert ON sows FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY sows_tenant_update ON sows FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY sows_tenant_delete ON sows FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON sows TO rampart_app, rampart_service;

ALTER TABLE budget_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_lines_tenant_select ON budget_lines FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY budget_lines_tenant_insert ON budget_lines FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY budget_lines_tenant_update ON budget_lines FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY budget_lines_tenant_delete ON budget_lines FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON budget_lines TO rampart_app, rampart_service;

ALTER TABLE change_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE change_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY change_orders_tenant_select ON change_orders FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY change_orders_tenant_insert ON change_orders FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY change_orders_tenant_update ON change_orders FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY change_orders_tenant_delete ON change_orders FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON change_orders TO rampart_app, rampart_service;
