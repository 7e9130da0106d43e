-- Issue 14: bills of materials, with cost, sourcing and lead time
-- encrypted field by field (internal/fieldcrypt, docs/field-encryption.md).
--
-- A proposal's bill of materials is its lines. Item, category, quantity
-- and unit are plain columns: every reader of the proposal sees them. Unit
-- cost, sourcing notes and lead time arrive here only as AES-256-GCM
-- envelopes sealed by the application for this organization, table, column
-- and row; the database never holds their plaintext and cannot compute on
-- them (totals are computed by the server for the roles with full cost
-- access). The currency is plain: it says nothing without the amount.
-- field_key_id names the key every envelope of the row is sealed under
-- (the envelopes name it too, authenticated): `rampart keys status` counts
-- by it and `rampart keys rotate` walks it.
--
-- venue_code is the proposal's, copied when a line is written and moved
-- with the proposal, so venue managers see only their venues' lines.
CREATE TABLE bom_lines (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  position        integer     NOT NULL CHECK (position BETWEEN 0 AND 9999),
  item            text        NOT NULL CHECK (length(btrim(item)) BETWEEN 1 AND 200),
  category        text        NOT NULL CHECK (category IN ('audio', 'lighting', 'video', 'rigging', 'staging', 'power',
                                                           'backline', 'furniture', 'decor', 'catering', 'transport',
                                                           'crew', 'venue', 'other')),
  quantity        numeric(13, 3) NOT NULL CHECK (quantity > 0 AND quantity <= 1000000),
  unit            text        NOT NULL CHECK (length(btrim(unit)) BETWEEN 1 AND 24),
  currency        text        CHECK (currency ~ '^[A-Z]{3}$'),
  unit_cost_enc   bytea       CHECK (octet_length(unit_cost_enc) BETWEEN 31 AND 200 AND get_byte(unit_cost_enc, 0) = 1),
  sourcing_enc    bytea       CHECK (octet_length(sourcing_enc) BETWEEN 31 AND 9000 AND get_byte(sourcing_enc, 0) = 1),
  lead_time_enc   bytea       CHECK (octet_length(lead_time_enc) BETWEEN 31 AND 100 AND get_byte(lead_time_enc, 0) = 1),
  field_key_id    text        CHECK (field_key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  ai_generated    boolean     NOT NULL DEFAULT false,
  created_by      uuid        NOT NULL,
  updated_by      uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  -- A unit cost has a currency and a currency has a unit cost.
  CHECK ((currency IS NULL) = (unit_cost_enc IS NULL)),
  -- The key column is set exactly when something is sealed.
  CHECK ((field_key_id IS NULL) = (unit_cost_enc IS NULL AND sourcing_enc IS NULL AND lead_time_enc IS NULL))
);
CREATE INDEX bom_lines_proposal_idx ON bom_lines (organization_id, proposal_id, position, id);
-- Rotation and `keys status` walk the values by key, across tenants.
CREATE INDEX bom_lines_field_key_idx ON bom_lines (field_key_id, organization_id, id) WHERE field_key_id IS NOT NULL;
ALTER TABLE bom_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE bom_lines FORCE ROW LEVEL SECURITY;
-- Every reader of the organization reads lines; venue managers only their
-- venues' (a line of a proposal without a venue is invisible to them).
CREATE POLICY bom_lines_tenant_select ON bom_lines FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- Writes: the roles that edit bills of materials (DESIGN.md §4: technical
-- directors edit BOMs; venue managers their venues'); the use cases check
-- the same with access.Check, and decide who may set the sealed fields.
CREATE POLICY bom_lines_tenant_insert ON bom_lines FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY bom_lines_tenant_update ON bom_lines FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY bom_lines_tenant_delete ON bom_lines FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- The service path re-seals values under the newest key (rotation), counts
-- them by key, and will erase people's data (privacy requests).
GRANT SELECT, INSERT, UPDATE, DELETE ON bom_lines TO rampart_app, rampart_service;

-- Key rotations: one row per `rampart keys rotate` run, so an interrupted
-- run (Ctrl-C, SIGKILL) is visible and the next run resumes it. Platform
-- data, no organization: the service path only.
CREATE TABLE field_key_rotations (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target_key  text        NOT NULL CHECK (target_key ~ '^[A-Za-z0-9_-]{1,32}$'),
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  resealed    bigint      NOT NULL DEFAULT 0 CHECK (resealed >= 0),
  failed      bigint      NOT NULL DEFAULT 0 CHECK (failed >= 0)
);
ALTER TABLE field_key_rotations ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_key_rotations FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON field_key_rotations TO rampart_service;
