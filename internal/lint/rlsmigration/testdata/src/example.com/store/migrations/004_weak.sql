CREATE TABLE tags (organization_id uuid NOT NULL, name text);
ALTER TABLE tags ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
-- want "policy tags_all on tenant table tags never compares organization_id"
CREATE POLICY tags_all ON tags USING (true);
-- want "disables row-level security on venues"
ALTER TABLE venues DISABLE ROW LEVEL SECURITY;
-- want "stops forcing row-level security on crew"
ALTER TABLE crew NO FORCE ROW LEVEL SECURITY;
