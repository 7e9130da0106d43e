-- Placeholder for migration 017, agent_proposals (main session), so that tern (which
-- requires consecutive numbers) loads 020_billing.sql on the billing
-- branch. Delete this file when merging: the real 017 replaces it.
SELECT 1;
