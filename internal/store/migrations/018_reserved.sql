-- Placeholder for migration 018, vendors (vendors branch), so that tern (which
-- requires consecutive numbers) loads 020_billing.sql on the billing
-- branch. Delete this file when merging: the real 018 replaces it.
SELECT 1;
