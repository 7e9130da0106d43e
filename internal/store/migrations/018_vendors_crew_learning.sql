-- Issue 15 items 4 and 5: vendors and crew with ranking that shows its
-- signals, the choices people make from them, and per-tenant learned
-- ranking state (decision 0016, docs/vendors-and-crew.md).
--
-- Venues may carry coordinates: the vendor ranker's distance signal is the
-- great-circle distance from a vendor's depot to the proposal's venue.
ALTER TABLE venues
  ADD COLUMN latitude  numeric(8, 5) CHECK (latitude BETWEEN -90 AND 90),
  ADD COLUMN longitude numeric(8, 5) CHECK (longitude BETWEEN -180 AND 180),
  ADD CONSTRAINT venues_coordinates_both CHECK ((latitude IS NULL) = (longitude IS NULL));

-- Vendors are companies (no personal data). Their category uses the
-- vocabulary of bill-of-materials and budget lines. A vendor is sourcing
-- information (DESIGN.md §4): only roles with full cost access read or
-- write the directory. The depot is used only to compute a distance.
CREATE TABLE vendors (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  name            text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  category        text        NOT NULL CHECK (category IN ('audio', 'lighting', 'video', 'rigging', 'staging', 'power',
                                                           'backline', 'furniture', 'decor', 'catering', 'transport',
                                                           'crew', 'venue', 'other')),
  price_band      smallint    NOT NULL CHECK (price_band BETWEEN 1 AND 4),
  lead_time_days  integer     NOT NULL CHECK (lead_time_days BETWEEN 0 AND 365),
  on_time_count   integer     NOT NULL DEFAULT 0 CHECK (on_time_count BETWEEN 0 AND 1000000),
  late_count      integer     NOT NULL DEFAULT 0 CHECK (late_count BETWEEN 0 AND 1000000),
  depot_latitude  numeric(8, 5) CHECK (depot_latitude BETWEEN -90 AND 90),
  depot_longitude numeric(8, 5) CHECK (depot_longitude BETWEEN -180 AND 180),
  created_by      uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, category, name),
  CHECK ((depot_latitude IS NULL) = (depot_longitude IS NULL))
);
ALTER TABLE vendors ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendors FORCE ROW LEVEL SECURITY;
CREATE POLICY vendors_tenant_select ON vendors FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY vendors_tenant_insert ON vendors FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY vendors_tenant_update ON vendors FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY vendors_tenant_delete ON vendors FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
GRANT SELECT, INSERT, UPDATE, DELETE ON vendors TO rampart_app, rampart_service;

-- Crew members: what staffing needs and nothing more. Skills,
-- certifications with their expiry dates, availability as date ranges,
-- and the day rate, a cost field sealed by the application
-- (internal/fieldcrypt, bound to organization, table, column and row; the
-- database never holds its plaintext). No worker-monitoring data: no
-- location, GPS, screenshots, keystrokes or productivity scores
-- (TestStaffingTablesHoldNoMonitoringData reads the catalog).
CREATE TABLE crew_members (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  name            text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  skills          text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(skills) <= 50),
  certifications  jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(certifications) = 'array' AND jsonb_array_length(certifications) <= 50),
  availability    jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(availability) = 'array' AND jsonb_array_length(availability) <= 100),
  currency        text        CHECK (currency ~ '^[A-Z]{3}$'),
  day_rate_enc    bytea       CHECK (octet_length(day_rate_enc) BETWEEN 31 AND 200 AND get_byte(day_rate_enc, 0) = 1),
  field_key_id    text        CHECK (field_key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  created_by      uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  CHECK ((currency IS NULL) = (day_rate_enc IS NULL)),
  CHECK ((field_key_id IS NULL) = (day_rate_enc IS NULL))
);
-- Rotation and `keys status` walk the values by key, across tenants.
CREATE INDEX crew_members_field_key_idx ON crew_members (field_key_id, organization_id, id) WHERE field_key_id IS NOT NULL;
ALTER TABLE crew_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE crew_members FORCE ROW LEVEL SECURITY;
-- Every member of the organization may read the crew list (the day rate
-- is sealed and opened only for roles with full cost access); the roles
-- that edit everything write it.
CREATE POLICY crew_members_tenant_select ON crew_members FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager', 'stakeholder', 'viewer'));
CREATE POLICY crew_members_tenant_insert ON crew_members FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY crew_members_tenant_update ON crew_members FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY crew_members_tenant_delete ON crew_members FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
GRANT SELECT, INSERT, UPDATE, DELETE ON crew_members TO rampart_app, rampart_service;

-- The choices people make: one vendor per proposal and category, and crew
-- assigned to a proposal for a date range. They hang off a proposal, so
-- they take its venue (moved with it) and venue managers see only their
-- venues' rows. Who may choose or assign is the use cases' rule on top.
CREATE TABLE vendor_choices (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  category        text        NOT NULL CHECK (category IN ('audio', 'lighting', 'video', 'rigging', 'staging', 'power',
                                                           'backline', 'furniture', 'decor', 'catering', 'transport',
                                                           'crew', 'venue', 'other')),
  vendor_id       uuid        NOT NULL,
  chosen_by       uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, proposal_id, category),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organization_id, vendor_id) REFERENCES vendors (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX vendor_choices_vendor_idx ON vendor_choices (organization_id, vendor_id);

CREATE TABLE crew_assignments (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  crew_member_id  uuid        NOT NULL,
  starts_on       date        NOT NULL,
  ends_on         date        NOT NULL,
  assigned_by     uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, proposal_id, crew_member_id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  FOREIGN KEY (organization_id, crew_member_id) REFERENCES crew_members (organization_id, id) ON DELETE CASCADE,
  CHECK (ends_on >= starts_on AND ends_on - starts_on <= 366)
);
CREATE INDEX crew_assignments_member_idx ON crew_assignments (organization_id, crew_member_id, starts_on);

ALTER TABLE vendor_choices ENABLE ROW LEVEL SECURITY;
ALTER TABLE vendor_choices FORCE ROW LEVEL SECURITY;
CREATE POLICY vendor_choices_tenant_select ON vendor_choices FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY vendor_choices_tenant_insert ON vendor_choices FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY vendor_choices_tenant_update ON vendor_choices FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY vendor_choices_tenant_delete ON vendor_choices FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON vendor_choices TO rampart_app, rampart_service;

ALTER TABLE crew_assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE crew_assignments FORCE ROW LEVEL SECURITY;
CREATE POLICY crew_assignments_tenant_select ON crew_assignments FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY crew_assignments_tenant_insert ON crew_assignments FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY crew_assignments_tenant_update ON crew_assignments FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY crew_assignments_tenant_delete ON crew_assignments FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON crew_assignments TO rampart_app, rampart_service;

-- Learned ranking state, per organization and never pooled: an
-- adjustment per (ranker, feature) added to the ranker's base weight
-- (bounded here and in internal/learning), and the feedback history it was
-- learned from. Only internal/learning reaches these tables (an
-- architecture test holds it to that). The roles that run rankers or
-- approve their choices read and write them; only an admin resets them.
CREATE TABLE learned_weights (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  ranker          text        NOT NULL CHECK (ranker IN ('vendor_ranker', 'crew_matcher')),
  feature         text        NOT NULL CHECK (feature ~ '^[a-z][a-z0-9_]{0,39}$'),
  adjustment      double precision NOT NULL DEFAULT 0 CHECK (adjustment BETWEEN -0.15 AND 0.15),
  observations    integer     NOT NULL DEFAULT 0 CHECK (observations >= 0),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, ranker, feature)
);

CREATE TABLE learning_feedback (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  ranker          text        NOT NULL CHECK (ranker IN ('vendor_ranker', 'crew_matcher')),
  approved        boolean     NOT NULL,
  signals         jsonb       NOT NULL CHECK (jsonb_typeof(signals) = 'object'),
  actor_id        uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id)
);
CREATE INDEX learning_feedback_ranker_idx ON learning_feedback (organization_id, ranker, created_at);

ALTER TABLE learned_weights ENABLE ROW LEVEL SECURITY;
ALTER TABLE learned_weights FORCE ROW LEVEL SECURITY;
CREATE POLICY learned_weights_tenant_select ON learned_weights FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'));
CREATE POLICY learned_weights_tenant_insert ON learned_weights FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'));
CREATE POLICY learned_weights_tenant_update ON learned_weights FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'));
CREATE POLICY learned_weights_tenant_delete ON learned_weights FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, UPDATE, DELETE ON learned_weights TO rampart_app, rampart_service;

ALTER TABLE learning_feedback ENABLE ROW LEVEL SECURITY;
ALTER TABLE learning_feedback FORCE ROW LEVEL SECURITY;
-- The history may hold a costed signal's normalised value (where a chosen
-- member's day rate stood among the candidates): only the roles with full
-- cost access read it back. Every role that applies a choice appends.
CREATE POLICY learning_feedback_tenant_select ON learning_feedback FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer'));
CREATE POLICY learning_feedback_tenant_insert ON learning_feedback FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND (SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'venue_manager'));
-- History is appended, never edited: no UPDATE grant. An admin's reset
-- deletes it.
CREATE POLICY learning_feedback_tenant_delete ON learning_feedback FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, DELETE ON learning_feedback TO rampart_app, rampart_service;
