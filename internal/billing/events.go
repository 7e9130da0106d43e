package billing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// How events map to plan state (docs/billing.md):
//
//	customer.subscription.created / .updated   plan (the price's lookup key), status, period end — Stripe's word on status
//	customer.subscription.deleted              status canceled
//	invoice.payment_failed                     last failure; an active plan becomes past_due
//	invoice.payment_succeeded                  last payment; a past_due plan becomes active
//	anything else                              acknowledged, recorded, no change
//
// Subscription and invoice events are each ordered by their creation
// time: one older than the last of its kind applied is stale (audited, no
// change). An invoice event older than the last subscription event does
// not override the subscription's status.

// subscriptionObject is the part of a Stripe subscription read here, from
// the event's raw object (API versions before and after 2025-03-31 both:
// the period end moved from the subscription to its items).
type subscriptionObject struct {
	ID               string            `json:"id"`
	Customer         json.RawMessage   `json:"customer"`
	Status           string            `json:"status"`
	CurrentPeriodEnd int64             `json:"current_period_end"`
	Metadata         map[string]string `json:"metadata"`
	Items            struct {
		Data []struct {
			CurrentPeriodEnd int64 `json:"current_period_end"`
			Price            struct {
				ID        string `json:"id"`
				LookupKey string `json:"lookup_key"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

// invoiceObject is the part of a Stripe invoice read here.
type invoiceObject struct {
	ID           string          `json:"id"`
	Customer     json.RawMessage `json:"customer"`
	AmountDue    int64           `json:"amount_due"`
	Currency     string          `json:"currency"`
	AttemptCount int64           `json:"attempt_count"`
}

// customerID reads an object's customer: an id, or an expanded object.
func customerID(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return obj.ID
	}
	return ""
}

// MapStatus maps a Stripe subscription status to the plan status: trialing
// counts as active; unpaid, incomplete and paused as past due (payment is
// owed or missing); incomplete_expired as canceled.
func MapStatus(s string) (rampart.BillingStatus, bool) {
	switch s {
	case "active", "trialing":
		return rampart.BillingActive, true
	case "past_due", "unpaid", "incomplete", "paused":
		return rampart.BillingPastDue, true
	case "canceled", "incomplete_expired":
		return rampart.BillingCanceled, true
	}
	return "", false
}

// planOf is the plan a subscription's prices name by lookup key (the first
// item whose key is a plan), else the subscription's metadata
// rampart_plan; ok is false when neither names a plan.
func planOf(sub subscriptionObject) (rampart.Plan, bool) {
	for _, it := range sub.Items.Data {
		if p := rampart.Plan(it.Price.LookupKey); slices.Contains(rampart.Plans, p) {
			return p, true
		}
	}
	if p := rampart.Plan(sub.Metadata["rampart_plan"]); slices.Contains(rampart.Plans, p) {
		return p, true
	}
	return "", false
}

func periodEnd(sub subscriptionObject) *time.Time {
	end := sub.CurrentPeriodEnd
	for _, it := range sub.Items.Data {
		end = max(end, it.CurrentPeriodEnd)
	}
	if end <= 0 {
		return nil
	}
	t := time.Unix(end, 0).UTC()
	return &t
}

// withStatus sets a's status, starting the grace period when the status
// lapses (from the event's time, kept while it stays lapsed) and ending it
// when it recovers.
func (w *Webhook) withStatus(a rampart.BillingAccount, s rampart.BillingStatus, at time.Time) rampart.BillingAccount {
	switch {
	case !s.Lapsed():
		a.AIGraceUntil = nil
	case !a.Status.Lapsed() || a.AIGraceUntil == nil:
		g := at.Add(w.grace)
		a.AIGraceUntil = &g
	}
	a.Status = s
	return a
}

// changeFor returns the change an event makes (nil: none) and the
// customer it concerns. A malformed object of a handled type is
// KindInvalid (Stripe never sends one; a 400 shows in its dashboard).
func (w *Webhook) changeFor(t stripe.EventType, raw json.RawMessage, at time.Time) (store.BillingChange, string, error) {
	const op = "billing.Apply"
	stale := func(kind string, last *time.Time) string {
		return fmt.Sprintf("older than the last %s event applied (%s): plan state unchanged", kind, last.UTC().Format(time.RFC3339))
	}
	switch t {
	case stripe.EventTypeCustomerSubscriptionCreated, stripe.EventTypeCustomerSubscriptionUpdated, stripe.EventTypeCustomerSubscriptionDeleted:
		var sub subscriptionObject
		if err := json.Unmarshal(raw, &sub); err != nil || !strings.HasPrefix(sub.ID, "sub_") {
			return nil, "", rampart.Errorf(op, rampart.KindInvalid, "data.object: not a Stripe subscription")
		}
		cust := customerID(sub.Customer)
		status, known := MapStatus(sub.Status)
		if t == stripe.EventTypeCustomerSubscriptionDeleted {
			status, known = rampart.BillingCanceled, true
		}
		if !known {
			return nil, "", rampart.Errorf(op, rampart.KindInvalid, "data.object.status: %q is not a Stripe subscription status", sub.Status)
		}
		return func(before rampart.BillingAccount) (rampart.BillingAccount, string, string, bool, error) {
			action := audit.ActionBillingSubscriptionChg
			if before.SubscriptionEventAt != nil && at.Before(*before.SubscriptionEventAt) {
				return before, action, stale("subscription", before.SubscriptionEventAt), false, nil
			}
			a := before
			id := sub.ID
			a.StripeSubscriptionID = &id
			var reason string
			if p, ok := planOf(sub); ok {
				a.Plan = p
			} else {
				reason = "the subscription's prices name no plan by lookup key (starter, team, business): plan unchanged"
			}
			a.CurrentPeriodEnd = periodEnd(sub)
			a = w.withStatus(a, status, at)
			a.SubscriptionEventAt = &at
			return a, action, reason, true, nil
		}, cust, nil
	case stripe.EventTypeInvoicePaymentFailed, stripe.EventTypeInvoicePaymentSucceeded:
		var inv invoiceObject
		if err := json.Unmarshal(raw, &inv); err != nil || !strings.HasPrefix(inv.ID, "in_") {
			return nil, "", rampart.Errorf(op, rampart.KindInvalid, "data.object: not a Stripe invoice")
		}
		failed := t == stripe.EventTypeInvoicePaymentFailed
		return func(before rampart.BillingAccount) (rampart.BillingAccount, string, string, bool, error) {
			action := audit.ActionBillingPaymentSucceeded
			if failed {
				action = audit.ActionBillingPaymentFailed
			}
			if before.InvoiceEventAt != nil && at.Before(*before.InvoiceEventAt) {
				return before, action, stale("invoice", before.InvoiceEventAt), false, nil
			}
			a := before
			a.InvoiceEventAt = &at
			// The subscription's own newer word on its status stands.
			decides := before.SubscriptionEventAt == nil || !at.Before(*before.SubscriptionEventAt)
			if failed {
				msg := fmt.Sprintf("invoice %s: payment attempt %d failed (%d %s due)", inv.ID, inv.AttemptCount, inv.AmountDue, strings.ToUpper(inv.Currency))
				if len(msg) > 500 {
					msg = msg[:500]
				}
				a.LastPaymentFailedAt, a.LastPaymentFailure = &at, &msg
				if decides && (before.Status == rampart.BillingActive || before.Status == rampart.BillingNone) {
					a = w.withStatus(a, rampart.BillingPastDue, at)
				}
				return a, action, msg, true, nil
			}
			a.LastPaymentSucceededAt = &at
			if decides && before.Status == rampart.BillingPastDue {
				a = w.withStatus(a, rampart.BillingActive, at)
			}
			return a, action, "", true, nil
		}, customerID(inv.Customer), nil
	}
	return nil, "", nil
}
