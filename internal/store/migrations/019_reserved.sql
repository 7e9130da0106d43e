-- Placeholder for migration 019, proposal chat (chat branch), so that tern (which
-- requires consecutive numbers) loads 020_billing.sql on the billing
-- branch. Delete this file when merging: the real 019 replaces it.
SELECT 1;
