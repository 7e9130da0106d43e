-- Billing plan state and processed Stripe events (billing.go, migration
-- 020). Every write is on the service path; members only read.

-- fragment: account_columns
organization_id, stripe_customer_id, stripe_subscription_id, plan, status, monthly_token_cap, current_period_end,
ai_grace_until, last_payment_succeeded_at, last_payment_failed_at, last_payment_failure, subscription_event_at, invoice_event_at, updated_at

-- name: BillingAccount
SELECT ${account_columns} FROM billing_accounts WHERE organization_id = $1

-- name: BillingAccountByCustomerForUpdate
SELECT ${account_columns} FROM billing_accounts WHERE stripe_customer_id = $1 FOR UPDATE

-- name: LinkBillingCustomer
INSERT INTO billing_accounts (organization_id, stripe_customer_id, linked_by) VALUES ($1, $2, $3)
RETURNING ${account_columns}

-- name: RelinkBillingCustomer
-- Another customer: the plan state was the old customer's and starts afresh.
UPDATE billing_accounts SET stripe_customer_id = $2, linked_by = $3, stripe_subscription_id = NULL, plan = 'none', status = 'none',
  monthly_token_cap = NULL, current_period_end = NULL, ai_grace_until = NULL, last_payment_succeeded_at = NULL,
  last_payment_failed_at = NULL, last_payment_failure = NULL, subscription_event_at = NULL, invoice_event_at = NULL, updated_at = now()
WHERE organization_id = $1
RETURNING ${account_columns}

-- name: UpdateBillingAccount
UPDATE billing_accounts SET stripe_subscription_id = $2, plan = $3, status = $4, monthly_token_cap = $5, current_period_end = $6,
  ai_grace_until = $7, last_payment_succeeded_at = $8, last_payment_failed_at = $9, last_payment_failure = $10,
  subscription_event_at = $11, invoice_event_at = $12, updated_at = now()
WHERE organization_id = $1
RETURNING ${account_columns}

-- name: RecordStripeEvent
-- Nothing is returned when the id was processed before: a replay.
INSERT INTO stripe_events (event_id, event_type, livemode, created_at, outcome) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING RETURNING 1

-- name: PruneStripeEvents
DELETE FROM stripe_events WHERE received_at < $1
