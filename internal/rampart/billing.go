package rampart

import (
	"time"

	"github.com/google/uuid"
)

// Plan is an organization's billing plan. PlanNone is an organization not
// (yet) subscribed: no plan cap applies to it.
type Plan string

// The plans. A Stripe price names its plan by its lookup key
// (docs/billing.md).
const (
	PlanNone     Plan = "none"
	PlanStarter  Plan = "starter"
	PlanTeam     Plan = "team"
	PlanBusiness Plan = "business"
)

// Plans lists the subscribable plans.
var Plans = []Plan{PlanStarter, PlanTeam, PlanBusiness}

// MonthlyTokenCap is the most AI tokens a month the plan allows, or nil
// for no plan cap (PlanNone). An admin's budget may be lower, never higher.
func (p Plan) MonthlyTokenCap() *int64 {
	var n int64
	switch p {
	case PlanStarter:
		n = 2_000_000
	case PlanTeam:
		n = 20_000_000
	case PlanBusiness:
		n = 200_000_000
	default:
		return nil
	}
	return &n
}

// BillingStatus is the state of an organization's subscription.
type BillingStatus string

// The statuses. Stripe's statuses map onto them (billing.MapStatus).
const (
	BillingNone     BillingStatus = "none" // linked, no subscription yet
	BillingActive   BillingStatus = "active"
	BillingPastDue  BillingStatus = "past_due"
	BillingCanceled BillingStatus = "canceled"
)

// Lapsed reports whether the status stops new AI jobs once its grace
// period has passed.
func (s BillingStatus) Lapsed() bool { return s == BillingPastDue || s == BillingCanceled }

// BillingAccount is an organization's plan state, kept from verified Stripe
// events.
type BillingAccount struct {
	OrganizationID         uuid.UUID     `json:"organization_id"`
	StripeCustomerID       string        `json:"stripe_customer_id"`
	StripeSubscriptionID   *string       `json:"stripe_subscription_id"`
	Plan                   Plan          `json:"plan"`
	Status                 BillingStatus `json:"status"`
	MonthlyTokenCap        *int64        `json:"plan_monthly_tokens"`
	CurrentPeriodEnd       *time.Time    `json:"current_period_end"`
	AIGraceUntil           *time.Time    `json:"ai_grace_until"`
	LastPaymentSucceededAt *time.Time    `json:"last_payment_succeeded_at"`
	LastPaymentFailedAt    *time.Time    `json:"last_payment_failed_at"`
	LastPaymentFailure     *string       `json:"last_payment_failure"`
	SubscriptionEventAt    *time.Time    `json:"subscription_event_at"`
	InvoiceEventAt         *time.Time    `json:"invoice_event_at"`
	UpdatedAt              time.Time     `json:"updated_at"`
}

// AIRefused reports whether the plan state refuses new AI jobs at now: a
// past_due or canceled plan whose grace period has ended.
func (a BillingAccount) AIRefused(now time.Time) bool {
	return a.Status.Lapsed() && a.AIGraceUntil != nil && !now.Before(*a.AIGraceUntil)
}
