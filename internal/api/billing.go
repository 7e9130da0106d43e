package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// billingAPI is the Stripe webhook and the organization's plan state
// (docs/billing.md).
type billingAPI struct{ *Server }

const webhookPattern = "POST /api/billing/webhook"

func (s billingAPI) register(r *edge.Router) {
	r.Webhook(webhookPattern, billing.MaxPayload,
		"The Stripe event exactly as Stripe sent it, signed in the `Stripe-Signature` header (`t=<unix time>,v1=<HMAC-SHA256 hex>`).",
		s.webhook)
	r.Authed("GET /api/billing", s.account)

	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	end, grace, failed := at.AddDate(0, 1, 0), at.Add(billing.DefaultGrace), at
	sub, msg := "sub_1QxYzAbCdEfGhIjK", "invoice in_1QxYzAbCdEfGhIjK: payment attempt 1 failed (4900 EUR due)"
	acct := rampart.BillingAccount{OrganizationID: uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), StripeCustomerID: "cus_RaMpArT0001",
		StripeSubscriptionID: &sub, Plan: rampart.PlanTeam, Status: rampart.BillingPastDue, MonthlyTokenCap: rampart.PlanTeam.MonthlyTokenCap(),
		CurrentPeriodEnd: &end, AIGraceUntil: &grace, LastPaymentFailedAt: &failed, LastPaymentFailure: &msg,
		SubscriptionEventAt: &at, InvoiceEventAt: &failed, UpdatedAt: at}
	r.Document(webhookPattern, edge.Doc{Summary: "Receive a Stripe event",
		Description: "Public: no session, no cross-origin check; the signature is the credential. The delivery is verified with stripe-go's " +
			"official check against RAMPART_STRIPE_WEBHOOK_SECRET, its signed timestamp must be within RAMPART_STRIPE_WEBHOOK_TOLERANCE (300 s), " +
			"and each event id is processed once. An unsigned, badly signed, stale, malformed or replayed delivery is 400 problem+json and changes nothing. " +
			"customer.subscription.created/updated/deleted and invoice.payment_succeeded/failed change the plan state of the organization an operator " +
			"linked to the event's customer (`rampart billing link`), with a billing.* event in its audit log. Other types and unknown customers are " +
			"acknowledged (200, so Stripe stops retrying) and change nothing (outcome `ignored` or `unknown_customer`). 503 when billing is not configured. " +
			"Rate limit: tier webhook (120/min per client address).",
		Example: billing.Result{EventID: "evt_1QxYzAbCdEfGhIjK", Type: "invoice.payment_failed", Outcome: store.OutcomeApplied}})
	r.Document("GET /api/billing", edge.Doc{Summary: "Read the organization's plan state",
		Description: "Admins. Plan, status (active, past_due, canceled), the plan's monthly AI token cap, period end, and the last payment failure. " +
			"A past-due or canceled plan refuses new AI requests (402) after ai_grace_until. 404 when no Stripe customer is linked.",
		Example: acct})
}

// webhook verifies and applies one Stripe delivery.
func (s billingAPI) webhook(w http.ResponseWriter, r *http.Request, body []byte) error {
	if !s.billing.Configured() {
		return rampart.Errorf("api.billingWebhook", rampart.KindUnavailable, "billing is not configured (RAMPART_STRIPE_WEBHOOK_SECRET is unset)")
	}
	res, err := s.billing.Handle(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		s.log.WarnContext(r.Context(), "stripe delivery refused", "err", err)
		return err
	}
	if res.Outcome == store.OutcomeUnknownCustomer {
		s.log.WarnContext(r.Context(), "stripe event for a customer no organization is linked to", "event", res.EventID, "type", res.Type)
	}
	edge.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (s billingAPI) account(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	a, err := billing.Account(r.Context(), s.store, c)
	return respondOr(w, c, http.StatusOK, a, err)
}
