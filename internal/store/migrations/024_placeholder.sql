-- Placeholder for migration 024 (another branch's), so that 025 applies in
-- order on this branch. Dropped at merge.
SELECT 1;
