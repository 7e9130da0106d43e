-- Issue 12: lists page and bodies are sanitised once.
--
-- Pages of proposals run newest first by (updated_at, id): the index
-- serves the keyset condition (updated_at, id) < ($cursor) of every page.
CREATE INDEX proposals_page_idx ON proposals (organization_id, updated_at DESC, id DESC);
DROP INDEX proposals_updated_idx;

-- A body is sanitised when it is written (the store accepts only
-- sanitize.HTML) and no longer on every read. body_sanitizer records the
-- version of the policy that wrote it; when the policy changes, the
-- cluster-wide periodic task "resanitize_bodies" re-sanitises the bodies
-- of older versions in batches. Bodies written before this migration are
-- version 0: the task cleans them on the first run.
ALTER TABLE proposals ADD COLUMN body_sanitizer smallint NOT NULL DEFAULT 0
  CHECK (body_sanitizer >= 0);
CREATE INDEX proposals_stale_body_idx ON proposals (body_sanitizer) WHERE body_html <> '';
