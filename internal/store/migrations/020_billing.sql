-- Issue 16 item 3: signed Stripe billing webhooks and plan state
-- (docs/billing.md, decision 0018).
--
-- billing_accounts is an organization's plan state. An operator links the
-- organization to its Stripe customer (`rampart billing link`, the service
-- path); afterwards only verified Stripe events change the row, also on
-- the service path. Members read it (the token-budget reservation reads
-- the plan's cap under the requester's claims); the runtime role never
-- writes it.
CREATE TABLE billing_accounts (
  organization_id           uuid        NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  stripe_customer_id        text        NOT NULL UNIQUE CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]{1,100}$'),
  stripe_subscription_id    text        CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]{1,100}$'),
  plan                      text        NOT NULL DEFAULT 'none' CHECK (plan IN ('none', 'starter', 'team', 'business')),
  status                    text        NOT NULL DEFAULT 'none' CHECK (status IN ('none', 'active', 'past_due', 'canceled')),
  -- The plan's monthly AI token cap, written with the plan (NULL: no cap).
  -- The reservation takes the lower of it and the admin's budget.
  monthly_token_cap         bigint      CHECK (monthly_token_cap BETWEEN 0 AND 1000000000000),
  current_period_end        timestamptz,
  -- When a past_due or canceled plan stops new AI jobs; NULL while active.
  ai_grace_until            timestamptz,
  last_payment_succeeded_at timestamptz,
  last_payment_failed_at    timestamptz,
  last_payment_failure      text        CHECK (length(last_payment_failure) <= 500),
  -- The creation times of the newest subscription and invoice events
  -- applied: Stripe does not deliver in order, and an older event of the
  -- same kind that arrives late is recorded but changes nothing.
  subscription_event_at     timestamptz,
  invoice_event_at          timestamptz,
  linked_by                 text        NOT NULL CHECK (length(linked_by) BETWEEN 1 AND 200),
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  CHECK ((status IN ('none', 'active')) = (ai_grace_until IS NULL))
);
ALTER TABLE billing_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_accounts_tenant_select ON billing_accounts FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
GRANT SELECT ON billing_accounts TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON billing_accounts TO rampart_service;

-- stripe_events is every verified Stripe event id this install has
-- processed, so a replayed delivery (the same id again, even inside the
-- signature's timestamp tolerance) is refused. Platform bookkeeping, no
-- tenant data (the organization an event changed is in its audit event):
-- reached on the service path only. Ids older than 90 days are pruned
-- daily: a delivery that old fails the signature's timestamp tolerance
-- (at most an hour) before its id is looked up.
CREATE TABLE stripe_events (
  event_id    text        NOT NULL PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9_]{1,200}$'),
  event_type  text        NOT NULL CHECK (length(event_type) BETWEEN 1 AND 200),
  livemode    boolean     NOT NULL,
  created_at  timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  outcome     text        NOT NULL CHECK (outcome IN ('applied', 'stale', 'ignored', 'unknown_customer'))
);
CREATE INDEX stripe_events_received_idx ON stripe_events (received_at);
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON stripe_events TO rampart_service;
