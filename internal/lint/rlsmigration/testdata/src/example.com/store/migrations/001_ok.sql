-- A tenant table done right, and a global table (no organization_id).
CREATE TABLE venues (
  organization_id uuid NOT NULL,
  code text NOT NULL,
  PRIMARY KEY (organization_id, code)
);
ALTER TABLE venues ENABLE ROW LEVEL SECURITY;
ALTER TABLE venues FORCE ROW LEVEL SECURITY;
CREATE POLICY venues_tenant ON venues TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()))
  WITH CHECK (organization_id = (SELECT current_user_org_id()));

CREATE TABLE currencies (code text PRIMARY KEY);
CREATE TEMP TABLE scratch (organization_id uuid);
