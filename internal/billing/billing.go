package billing

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Defaults of the configuration (RAMPART_STRIPE_WEBHOOK_TOLERANCE,
// RAMPART_BILLING_GRACE).
const (
	DefaultTolerance = webhook.DefaultTolerance // 300 s, Stripe's own
	DefaultGrace     = 7 * 24 * time.Hour
	// EventIDRetention is how long processed event ids are kept (the
	// periodic task stripe_event_prune); it must exceed the tolerance.
	EventIDRetention = 90 * 24 * time.Hour
	// MaxPayload bounds a webhook body. Stripe's events are a few kB; a
	// subscription with many items stays far below this.
	MaxPayload = 256 << 10
)

var (
	customerRE = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,100}$`)
	eventIDRE  = regexp.MustCompile(`^evt_[A-Za-z0-9_]{1,200}$`)
)

// ValidCustomerID reports whether id looks like a Stripe customer id.
func ValidCustomerID(id string) bool { return customerRE.MatchString(id) }

// Options configure the webhook.
type Options struct {
	// Secrets are the endpoint signing secrets
	// (config.ParseStripeSecrets); none means
	// billing is not configured and the webhook refuses every delivery.
	Secrets []string
	// Tolerance is how old a delivery's signed timestamp may be (0:
	// DefaultTolerance).
	Tolerance time.Duration
	// Grace is how long a past-due or canceled plan keeps AI (0:
	// DefaultGrace).
	Grace time.Duration
}

// Webhook verifies and applies Stripe deliveries.
type Webhook struct {
	st        *store.Store
	secrets   []string
	tolerance time.Duration
	grace     time.Duration
}

// New returns the webhook over st.
func New(st *store.Store, opts Options) *Webhook {
	w := &Webhook{st: st, secrets: opts.Secrets, tolerance: opts.Tolerance, grace: opts.Grace}
	if w.tolerance <= 0 {
		w.tolerance = DefaultTolerance
	}
	if w.grace <= 0 {
		w.grace = DefaultGrace
	}
	return w
}

// Configured reports whether a signing secret is set.
func (w *Webhook) Configured() bool { return w != nil && len(w.secrets) > 0 }

// Verify checks payload against the Stripe-Signature header with
// stripe-go's webhook.ConstructEventWithOptions under each secret, and
// returns the event. Every failure is KindInvalid with the reason
// (missing or malformed header, no matching signature, timestamp outside
// the tolerance, malformed event), and nothing has been read from or
// written to the database.
func (w *Webhook) Verify(payload []byte, header string) (stripe.Event, error) {
	const op = "billing.Verify"
	if !w.Configured() {
		return stripe.Event{}, rampart.Errorf(op, rampart.KindUnavailable, "billing is not configured (RAMPART_STRIPE_WEBHOOK_SECRET is unset)")
	}
	var err error
	for _, secret := range w.secrets {
		var ev stripe.Event
		// The API version is not checked: only the few fields read below
		// matter, and they are read from the raw object (parse.go).
		ev, err = webhook.ConstructEventWithOptions(payload, header, secret,
			webhook.ConstructEventOptions{Tolerance: w.tolerance, IgnoreAPIVersionMismatch: true})
		if err == nil {
			if !eventIDRE.MatchString(ev.ID) || ev.Type == "" || ev.Created <= 0 || ev.Data == nil {
				return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "the event lacks an id, type, creation time or object")
			}
			return ev, nil
		}
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // the header or the timestamp: the same under every secret
		}
	}
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "Stripe-Signature: the header is missing")
	case errors.Is(err, webhook.ErrInvalidHeader):
		return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "Stripe-Signature: the header is malformed")
	case errors.Is(err, webhook.ErrTooOld):
		return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "Stripe-Signature: the timestamp is older than the tolerance of %s", w.tolerance)
	case errors.Is(err, webhook.ErrNoValidSignature):
		return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "Stripe-Signature: no signature matches the payload")
	}
	return stripe.Event{}, rampart.Errorf(op, rampart.KindInvalid, "the body is not a Stripe event")
}

// Result is what became of a delivery.
type Result struct {
	EventID string               `json:"event_id"`
	Type    string               `json:"type"`
	Outcome store.BillingOutcome `json:"outcome"`
}

// Handle verifies a delivery and applies it (Apply). A replayed event id
// is KindInvalid and changes nothing.
func (w *Webhook) Handle(ctx context.Context, payload []byte, header string) (Result, error) {
	ev, err := w.Verify(payload, header)
	if err != nil {
		return Result{}, err
	}
	return w.Apply(ctx, ev)
}

// Apply records a verified event and changes the plan state of the
// organization linked to its customer (events.go says how each type maps).
func (w *Webhook) Apply(ctx context.Context, ev stripe.Event) (Result, error) {
	sev := store.StripeEvent{ID: ev.ID, Type: string(ev.Type), Livemode: ev.Livemode, Created: time.Unix(ev.Created, 0).UTC()}
	change, customer, err := w.changeFor(ev.Type, ev.Data.Raw, sev.Created)
	if err != nil {
		return Result{}, err
	}
	sev.CustomerID = customer
	outcome, err := w.st.Billing().ApplyStripeEvent(ctx, sev, change)
	if err != nil {
		return Result{}, err
	}
	return Result{EventID: ev.ID, Type: string(ev.Type), Outcome: outcome}, nil
}

// Link links the organization orgID to the Stripe customer
// customerID, audited; by names the operator. The operator's command is
// the only way an organization gets a customer (decision 0018).
func Link(ctx context.Context, st *store.Store, orgID uuid.UUID, customerID, by string) (rampart.BillingAccount, error) {
	if !ValidCustomerID(customerID) {
		return rampart.BillingAccount{}, rampart.FieldError("billing.Link", "customer", "%q is not a Stripe customer id (cus_…)", customerID)
	}
	return st.Billing().LinkCustomer(ctx, orgID, customerID, by)
}

// Account is the caller's organization's plan state (admins: it holds
// payment failures); KindNotFound when billing does not manage the
// organization.
func Account(ctx context.Context, st *store.Store, c rampart.Claims) (rampart.BillingAccount, error) {
	if err := access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}); err != nil {
		return rampart.BillingAccount{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.BillingAccount, error) {
		a, err := tx.Billing().Get(ctx)
		if rampart.ErrorKind(err) == rampart.KindNotFound {
			return a, rampart.Errorf("billing.Account", rampart.KindNotFound, "this organization has no billing account (an operator links one with `rampart billing link`)")
		}
		return a, err
	})
}
