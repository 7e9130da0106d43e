-- Placeholder for the attachments branch's migration 012 (tern needs an
-- unbroken sequence for 013 to load). When branch `attachments` is merged,
-- its 012_attachments.sql replaces this file: resolve the add/add conflict
-- by taking theirs. A database migrated with this placeholder lacks the
-- attachments table; recreate development databases after the merge.
SELECT 1;
