-- Placeholder for migration 024 (another branch's); dropped at merge.
-- tern refuses a step without SQL, hence the no-op statement.
SELECT 1;
