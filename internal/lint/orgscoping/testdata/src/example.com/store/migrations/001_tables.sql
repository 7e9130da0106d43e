CREATE TABLE organizations (id uuid PRIMARY KEY, name text);
CREATE TABLE proposals (organization_id uuid NOT NULL, id uuid NOT NULL, title text, venue_code text, PRIMARY KEY (organization_id, id));
CREATE TABLE sows (organization_id uuid NOT NULL, id uuid NOT NULL, proposal_id uuid, PRIMARY KEY (organization_id, id));
-- want "org-scoping: migrations/001_tables.sql: statement at line 5 updates tenant table proposals without filtering on organization_id"
UPDATE proposals SET title = '' WHERE title IS NULL;
-- An exception: a justified backfill.
UPDATE sows SET proposal_id = NULL WHERE proposal_id IS NULL;
