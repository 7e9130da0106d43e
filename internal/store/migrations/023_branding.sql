-- Per-organization branding (issue #17): a JSON override of the console's
-- look (display name, colours, logo) on the tenant root. The row already
-- has forced row-level security and its policies (001): members read and
-- update their own organization only. The use case (internal/branding)
-- validates the fields; the CHECK bounds what any writer can store.
ALTER TABLE organizations
  ADD COLUMN branding jsonb NOT NULL DEFAULT '{}'::jsonb
  CONSTRAINT organizations_branding_shape CHECK (jsonb_typeof(branding) = 'object' AND pg_column_size(branding) <= 98304);

