-- Issue 14 part 6: proposal attachments (riders, floor plans, quotes),
-- stored in PostgreSQL as bytea under the same row-level security as
-- their proposal (docs/attachments.md, decision 0012).
--
-- The content was checked before it arrived here (internal/attachment:
-- the type sniffed from the bytes against an allow-list, the name
-- sanitised); the database is the last word on the rest: the type is one
-- of the five allowed, the size and digest match the bytes, the name has
-- no path, control or reserved characters, and the size is capped.
--
-- Venue scoping follows the proposal's venue, denormalised into
-- venue_code (as ai_jobs does): the insert copies it from the proposal
-- row, and the store moves it with the proposal (MoveProposalChildren,
-- in the same transaction as the proposal's update).
CREATE TABLE attachments (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  proposal_id     uuid        NOT NULL,
  venue_code      text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  filename        text        NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255
                                              AND filename !~ '[\x01-\x1f\x7f/\\<>:"|?*]'
                                              AND filename !~ '^[ .]' AND filename !~ '[ .]$'),
  content_type    text        NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'text/csv', 'text/plain')),
  size_bytes      bigint      NOT NULL CHECK (size_bytes BETWEEN 1 AND 67108864),
  sha256          bytea       NOT NULL CHECK (octet_length(sha256) = 32),
  content         bytea       NOT NULL,
  uploaded_by     uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  CHECK (octet_length(content) = size_bytes),
  CHECK (sha256 = sha256(content))
);
CREATE INDEX attachments_proposal_idx ON attachments (organization_id, proposal_id, created_at);
ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE attachments FORCE ROW LEVEL SECURITY;
-- Reading: whoever may read the proposal (venue managers: their venues).
CREATE POLICY attachments_tenant_select ON attachments FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- Writing: the roles that edit proposals (access.ActionEdit on the
-- proposal), as the uploader themselves; readers cannot write even
-- through a handler bug.
CREATE POLICY attachments_tenant_insert ON attachments FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND uploaded_by = (SELECT current_user_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
-- The only change is the venue following its proposal's move.
CREATE POLICY attachments_tenant_update ON attachments FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY attachments_tenant_delete ON attachments FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, DELETE ON attachments TO rampart_app;
GRANT UPDATE (venue_code) ON attachments TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON attachments TO rampart_service;
