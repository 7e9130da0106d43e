-- Placeholder on the backup branch only: migration numbers 017-021 are
-- assigned to work landing in parallel, and tern refuses a gap before
-- 022_restore_drills.sql. Delete this file when the real 021 lands.
SELECT 1;
