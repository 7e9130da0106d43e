-- Token budgets (budget.go). The month is the UTC calendar month.
-- Reserving takes the month's ai_usage row lock, so concurrent
-- reservations of one organization are serialised and cannot together
-- overshoot the budget.
--
-- The reservation compares with the budget through an uncorrelated scalar
-- subquery, never NOT EXISTS: PostgreSQL turns a NOT EXISTS into an
-- anti-join, and when a concurrent reservation has just updated the row,
-- the re-check of the new row version (EvalPlanQual) sees no ai_budgets
-- row on the anti-join's inner side and lets the reservation through.

-- fragment: this_month
(date_trunc('month', now() AT TIME ZONE 'UTC'))::date

-- fragment: token_limit
-- The month's limit: the lower of the admin's budget and the billing
-- plan's cap (migration 020), each an uncorrelated scalar subquery.
least(coalesce((SELECT b.monthly_tokens FROM ai_budgets b WHERE b.organization_id = $1), 9223372036854775807),
      coalesce((SELECT p.monthly_token_cap FROM billing_accounts p WHERE p.organization_id = $1), 9223372036854775807))

-- fragment: reserve_tokens
UPDATE ai_usage u SET reserved_tokens = u.reserved_tokens + $2, updated_at = now()
WHERE u.organization_id = $1 AND u.month = ${this_month}
  AND u.used_tokens + u.reserved_tokens + $2 <= ${token_limit}
RETURNING u.reserved_tokens

-- name: EnsureUsage
INSERT INTO ai_usage (organization_id, month) VALUES ($1, ${this_month}) ON CONFLICT DO NOTHING

-- name: ReserveForJob
WITH r AS (${reserve_tokens})
UPDATE ai_jobs SET estimated_tokens = $2, reserved_month = ${this_month}
WHERE organization_id = $1 AND id = $3 AND EXISTS (SELECT 1 FROM r) RETURNING 1

-- name: ReserveForStartedJob
-- ReserveForJob in the batch that starts attempt $4: only if that attempt
-- is running and no reservation is outstanding (a crashed attempt's is
-- settled first, by the caller). The condition sits in the ai_usage
-- UPDATE itself: a data-modifying CTE runs even when the outer statement
-- matches nothing.
WITH r AS (
  UPDATE ai_usage u SET reserved_tokens = u.reserved_tokens + $2, updated_at = now()
  WHERE u.organization_id = $1 AND u.month = ${this_month}
    AND u.used_tokens + u.reserved_tokens + $2 <= ${token_limit}
    AND (SELECT j.status = 'running' AND j.attempt = $4 AND j.estimated_tokens = 0
         FROM ai_jobs j WHERE j.organization_id = $1 AND j.id = $3)
  RETURNING u.reserved_tokens)
UPDATE ai_jobs SET estimated_tokens = $2, reserved_month = ${this_month}
WHERE organization_id = $1 AND id = $3 AND EXISTS (SELECT 1 FROM r) RETURNING 1

-- name: SettleJobTokens
-- Clears the job's reservation and adds to the job the tokens ($3) counted
-- as used for it: every token of a month's use is on one job, once (a
-- killed attempt's reservation, settled as used when the job is taken over
-- or given up, included).
UPDATE ai_jobs SET estimated_tokens = 0, reserved_month = NULL, input_tokens = input_tokens + $3
WHERE organization_id = $1 AND id = $2

-- name: JobReservation
-- A job reserved in one month and finished in the next releases its
-- reservation from the month that holds it; what it used counts now.
SELECT estimated_tokens, coalesce(reserved_month = ${this_month}, true), reserved_month
FROM ai_jobs WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: SettleTokens
UPDATE ai_usage SET reserved_tokens = greatest(0, reserved_tokens - $2),
used_tokens = used_tokens + $3, updated_at = now() WHERE organization_id = $1 AND month = ${this_month}

-- name: ReleaseOldMonth
UPDATE ai_usage SET reserved_tokens = greatest(0, reserved_tokens - $2), updated_at = now()
WHERE organization_id = $1 AND month = $3

-- name: TokenBudget
-- With the billing plan's side: its cap, status and grace, and whether a
-- lapsed plan's grace has ended (now(): the transaction's clock).
SELECT b.monthly_tokens, ${this_month}::timestamptz, coalesce(u.reserved_tokens, 0), coalesce(u.used_tokens, 0),
       coalesce(p.plan, 'none'), coalesce(p.status, 'none'), p.monthly_token_cap, p.ai_grace_until,
       coalesce(p.status IN ('past_due', 'canceled') AND p.ai_grace_until <= now(), false)
FROM (SELECT $1::uuid AS organization_id) o
LEFT JOIN ai_budgets b ON b.organization_id = o.organization_id
LEFT JOIN ai_usage u ON u.organization_id = o.organization_id AND u.month = ${this_month}
LEFT JOIN billing_accounts p ON p.organization_id = o.organization_id

-- name: SetTokenBudget
INSERT INTO ai_budgets (organization_id, monthly_tokens, updated_by, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (organization_id) DO UPDATE SET monthly_tokens = EXCLUDED.monthly_tokens, updated_by = EXCLUDED.updated_by, updated_at = now()
