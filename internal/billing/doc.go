// Package billing keeps each organization's plan state from Stripe: it
// verifies webhook deliveries with stripe-go's official signature check
// (HMAC-SHA256 over the timestamp and the raw body, within a timestamp
// tolerance), refuses a replayed event id, maps subscription and invoice
// events to the organization's plan (plan, status, period end, last
// payment failure) and to billing.* audit events, and lets the plan gate
// AI: a plan's monthly token cap bounds every reservation and what an
// admin may set, and a past-due or canceled plan refuses new AI jobs once
// its grace period ends (docs/billing.md, decision 0018).
//
// It guarantees that a delivery that is unsigned, badly signed, stale,
// malformed or replayed changes nothing; that an event reaches an
// organization only through a Stripe customer an operator linked to it
// (never through data in the event a customer could choose); and that
// every applied event is one service transaction with its audit event.
// It is the only package that imports stripe-go.
package billing
