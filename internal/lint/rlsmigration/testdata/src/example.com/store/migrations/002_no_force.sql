-- want "rls-migration: migrations/002_no_force.sql: table crew holds tenant data \\(organization_id\\) but this migration lacks \\[ALTER TABLE crew FORCE ROW LEVEL SECURITY\\]"
CREATE TABLE crew (
  organization_id uuid NOT NULL,
  id uuid NOT NULL,
  PRIMARY KEY (organization_id, id)
);
ALTER TABLE crew ENABLE ROW LEVEL SECURITY;
CREATE POLICY crew_tenant ON crew USING (organization_id = (SELECT current_user_org_id()));
