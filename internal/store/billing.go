package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Billing plan state (migration 020, docs/billing.md). Members read their
// organization's account in a tenant transaction (BillingTx); only the
// service path writes it: an operator linking a Stripe customer, and the
// verified Stripe events of the webhook (Billing, a store door). The
// statements are in queries/billing.sql.
var (
	sqlBillingAccount           = query("BillingAccount")
	sqlBillingAccountByCustomer = query("BillingAccountByCustomerForUpdate")
	sqlLinkBillingCustomer      = query("LinkBillingCustomer")
	sqlRelinkBillingCustomer    = query("RelinkBillingCustomer")
	sqlUpdateBillingAccount     = query("UpdateBillingAccount")
	sqlRecordStripeEvent        = query("RecordStripeEvent")
	sqlPruneStripeEvents        = query("PruneStripeEvents")
)

// Billing is the service-path door of billing: linking an organization to
// its Stripe customer, and applying verified Stripe events.
type Billing struct{ s *Store }

// Billing returns the billing operations.
func (s *Store) Billing() Billing { return Billing{s} }

// BillingTx is the organization's billing plan state (read only).
type BillingTx struct{ tenant }

// Billing returns the billing plan methods.
func (tx *TenantTx) Billing() BillingTx { return BillingTx{tx.tenant} }

// Get reads the organization's plan state; KindNotFound when it is not
// linked to a Stripe customer.
func (tx BillingTx) Get(ctx context.Context) (rampart.BillingAccount, error) {
	a, err := scanBillingAccount(tx.queryRow(ctx, sqlBillingAccount, tx.tc.OrganizationID))
	return a, classify("store.BillingAccount", err)
}

func scanBillingAccount(row pgx.Row) (rampart.BillingAccount, error) {
	var a rampart.BillingAccount
	err := row.Scan(&a.OrganizationID, &a.StripeCustomerID, &a.StripeSubscriptionID, &a.Plan, &a.Status, &a.MonthlyTokenCap,
		&a.CurrentPeriodEnd, &a.AIGraceUntil, &a.LastPaymentSucceededAt, &a.LastPaymentFailedAt, &a.LastPaymentFailure,
		&a.SubscriptionEventAt, &a.InvoiceEventAt, &a.UpdatedAt)
	return a, err
}

// Account reads orgID's plan state on the service path (the operator's
// `rampart billing show`); KindNotFound when it is not linked.
func (b Billing) Account(ctx context.Context, orgID uuid.UUID) (rampart.BillingAccount, error) {
	var a rampart.BillingAccount
	err := b.s.asService(ctx, "read an organization's billing account", func(ctx context.Context, tx *txn) error {
		var err error
		a, err = scanBillingAccount(tx.queryRow(ctx, sqlBillingAccount, orgID))
		return classify("store.BillingAccount", err)
	})
	return a, err
}

// LinkCustomer links orgID to the Stripe customer customerID, audited in
// the organization's log; by names the operator. Linking another customer
// moves the link and resets the plan state (it was the old customer's);
// linking the same one again changes nothing. A customer linked to another
// organization is KindConflict.
func (b Billing) LinkCustomer(ctx context.Context, orgID uuid.UUID, customerID, by string) (rampart.BillingAccount, error) {
	const op = "store.LinkBillingCustomer"
	var after rampart.BillingAccount
	err := b.s.asService(ctx, "link an organization to its Stripe customer", func(ctx context.Context, tx *txn) error {
		before, err := scanBillingAccount(tx.queryRow(ctx, sqlBillingAccount, orgID))
		found := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return classify(op, err)
		}
		link := sqlLinkBillingCustomer
		switch {
		case found && before.StripeCustomerID == customerID:
			after = before // already linked: nothing to change
			return nil
		case found:
			link = sqlRelinkBillingCustomer
		}
		after, err = scanBillingAccount(tx.queryRow(ctx, link, orgID, customerID, by))
		if err != nil {
			err = classify(op, err)
			switch rampart.ErrorKind(err) {
			case rampart.KindConflict:
				return rampart.Errorf(op, rampart.KindConflict, "the Stripe customer %s is linked to another organization", customerID)
			case rampart.KindInvalid:
				// The organization's foreign key: no such organization.
				return rampart.Errorf(op, rampart.KindNotFound, "no such organization")
			}
			return err
		}
		ev := audit.Event{OrganizationID: &orgID, Action: audit.ActionBillingCustomerLinked, TargetType: "billing_account",
			TargetID: orgID.String(), After: snapshot(after), Reason: "linked by " + by}
		if found {
			ev.Before = snapshot(before)
		}
		return tx.recordAudit(ctx, tx.userEvent(ev))
	})
	return after, err
}

// StripeEvent is a verified Stripe event as the store records it.
type StripeEvent struct {
	ID       string
	Type     string
	Livemode bool
	Created  time.Time
	// CustomerID is the Stripe customer the event concerns ("" when it
	// names none).
	CustomerID string
}

// BillingOutcome is what became of a Stripe event.
type BillingOutcome string

// The outcomes (stripe_events.outcome).
const (
	// OutcomeApplied: the event changed its organization's plan state.
	OutcomeApplied BillingOutcome = "applied"
	// OutcomeStale: older than the last event applied to the account;
	// audited, nothing changed.
	OutcomeStale BillingOutcome = "stale"
	// OutcomeIgnored: a type that changes no plan state.
	OutcomeIgnored BillingOutcome = "ignored"
	// OutcomeUnknownCustomer: no organization is linked to the customer.
	OutcomeUnknownCustomer BillingOutcome = "unknown_customer"
)

// BillingChange computes an account's state after an event from its state
// before, with the billing.* audit action and an optional reason; applied
// is false when the event is older than the state it would overwrite
// (stale: audited, nothing changes). It runs inside the transaction that
// holds the account's row lock and must not block.
type BillingChange func(before rampart.BillingAccount) (after rampart.BillingAccount, action, reason string, applied bool, err error)

// ErrStripeReplay refuses an event whose id was processed before.
var ErrStripeReplay = rampart.Errorf("store.ApplyStripeEvent", rampart.KindInvalid, "this Stripe event id was already processed: replay refused")

// ApplyStripeEvent records ev as processed and, when change is not nil and
// ev's customer is linked to an organization, applies change to that
// organization's account, with its audit event, in one service
// transaction. An event id seen before is ErrStripeReplay and changes
// nothing (the transaction rolls back). An event change calls stale is
// recorded and audited and changes nothing; so is an event for an unknown
// customer (a platform audit event) or without a change.
func (b Billing) ApplyStripeEvent(ctx context.Context, ev StripeEvent, change BillingChange) (BillingOutcome, error) {
	const op = "store.ApplyStripeEvent"
	var outcome BillingOutcome
	err := b.s.asService(ctx, "apply a verified Stripe event", func(ctx context.Context, tx *txn) error {
		var err error
		outcome, err = tx.applyStripeEvent(ctx, ev, change)
		if err != nil {
			return err
		}
		var one int
		err = tx.queryRow(ctx, sqlRecordStripeEvent, ev.ID, ev.Type, ev.Livemode, ev.Created, string(outcome)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrStripeReplay
		}
		return classify(op, err)
	})
	return outcome, err
}

func (tx *txn) applyStripeEvent(ctx context.Context, ev StripeEvent, change BillingChange) (BillingOutcome, error) {
	const op = "store.ApplyStripeEvent"
	meta := map[string]any{"stripe_event_id": ev.ID, "stripe_event_type": ev.Type, "livemode": ev.Livemode,
		"stripe_event_created": ev.Created.UTC()}
	ignored := func(outcome BillingOutcome, reason string) (BillingOutcome, error) {
		if ev.CustomerID != "" {
			meta["stripe_customer_id"] = ev.CustomerID
		}
		meta["outcome"] = outcome
		return outcome, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionBillingEventIgnored,
			TargetType: "stripe_event", TargetID: ev.ID, Reason: reason, Metadata: metadata(meta)}))
	}
	if change == nil {
		return ignored(OutcomeIgnored, "the event type changes no plan state")
	}
	before, err := scanBillingAccount(tx.queryRow(ctx, sqlBillingAccountByCustomer, ev.CustomerID))
	if errors.Is(err, pgx.ErrNoRows) || ev.CustomerID == "" {
		return ignored(OutcomeUnknownCustomer, "no organization is linked to the event's Stripe customer")
	}
	if err != nil {
		return "", classify(op, err)
	}
	after, action, reason, applied, err := change(before)
	if err != nil {
		return "", err
	}
	org := before.OrganizationID
	aev := audit.Event{OrganizationID: &org, Action: action, TargetType: "billing_account", TargetID: org.String(),
		Reason: reason, Metadata: metadata(meta)}
	if !applied {
		meta["outcome"] = OutcomeStale
		aev.Metadata = metadata(meta)
		return OutcomeStale, tx.recordAudit(ctx, tx.userEvent(aev))
	}
	updated, err := scanBillingAccount(tx.queryRow(ctx, sqlUpdateBillingAccount, org, after.StripeSubscriptionID, after.Plan, after.Status,
		after.Plan.MonthlyTokenCap(), after.CurrentPeriodEnd, after.AIGraceUntil, after.LastPaymentSucceededAt,
		after.LastPaymentFailedAt, after.LastPaymentFailure, after.SubscriptionEventAt, after.InvoiceEventAt))
	if err != nil {
		return "", classify(op, err)
	}
	aev.Before, aev.After = snapshot(before), snapshot(updated)
	meta["outcome"] = OutcomeApplied
	aev.Metadata = metadata(meta)
	return OutcomeApplied, tx.recordAudit(ctx, tx.userEvent(aev))
}

// PruneStripeEvents forgets the processed event ids received before
// before (the daily periodic task keeps 90 days). Replay protection does
// not need them: a delivery is refused as stale once its signed timestamp
// is older than the tolerance, which is at most an hour.
func (b Billing) PruneStripeEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := b.s.asService(ctx, "prune processed Stripe event ids", func(ctx context.Context, tx *txn) error {
		tag, err := tx.exec(ctx, sqlPruneStripeEvents, before)
		n = tag.RowsAffected()
		return classify("store.PruneStripeEvents", err)
	})
	return n, err
}
