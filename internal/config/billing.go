package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The billing settings (docs/billing.md): the Stripe webhook's signing
// secret, its timestamp tolerance, and the grace period of a lapsed plan.
var (
	VarStripeSecret    = Var{"stripe-webhook-secret", "RAMPART_STRIPE_WEBHOOK_SECRET", "", "Stripe webhook endpoint signing secret whsec_… (or two, comma-separated, while Stripe rolls it); unset = billing is off and POST /api/billing/webhook answers 503", true}
	VarStripeTolerance = Var{"stripe-webhook-tolerance", "RAMPART_STRIPE_WEBHOOK_TOLERANCE", "300s", "how old a Stripe delivery's signed timestamp may be (10s-1h); older deliveries are refused with 400", false}
	VarBillingGrace    = Var{"billing-grace", "RAMPART_BILLING_GRACE", "168h", "how long a past-due or canceled plan keeps new AI requests after it lapses (1h-2160h); then they are refused with 402", false}
)

// BillingVars are the billing settings (serve).
var BillingVars = []Var{VarStripeSecret, VarStripeTolerance, VarBillingGrace}

// Billing is the billing configuration.
type Billing struct {
	// StripeSecrets are the webhook signing secrets; none: billing is off.
	StripeSecrets []string
	Tolerance     time.Duration
	Grace         time.Duration
}

var stripeSecretRE = regexp.MustCompile(`^whsec_[A-Za-z0-9+/=]{16,200}$`)

// ParseStripeSecrets reads RAMPART_STRIPE_WEBHOOK_SECRET: one endpoint
// signing secret, or several separated by commas while Stripe rolls the
// secret (a delivery is then signed with each; either verifies).
func ParseStripeSecrets(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !stripeSecretRE.MatchString(part) {
			return nil, fmt.Errorf("each secret must be a Stripe endpoint signing secret: whsec_ and its key (Stripe Dashboard → Developers → Webhooks → the endpoint → Signing secret)")
		}
		out = append(out, part)
	}
	return out, nil
}

// billing validates the billing settings.
func billing(get func(Var) string, bad func(Var, string, ...any)) Billing {
	var b Billing
	secrets, err := ParseStripeSecrets(get(VarStripeSecret))
	if err != nil {
		bad(VarStripeSecret, "%v", err)
	}
	b.StripeSecrets = secrets
	if d, err := time.ParseDuration(get(VarStripeTolerance)); err != nil || d < 10*time.Second || d > time.Hour {
		bad(VarStripeTolerance, "%q must be a duration from 10s to 1h (Stripe's default is 300s)", get(VarStripeTolerance))
	} else {
		b.Tolerance = d
	}
	if d, err := time.ParseDuration(get(VarBillingGrace)); err != nil || d < time.Hour || d > 2160*time.Hour {
		bad(VarBillingGrace, "%q must be a duration from 1h to 2160h (90 days), e.g. 168h", get(VarBillingGrace))
	} else {
		b.Grace = d
	}
	return b
}
