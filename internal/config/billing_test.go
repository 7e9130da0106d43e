package config

import (
	"strings"
	"testing"
	"time"
)

func TestBillingSettings(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Billing.StripeSecrets) != 0 || c.Billing.Tolerance != 300*time.Second || c.Billing.Grace != 168*time.Hour {
		t.Fatalf("defaults: %+v", c.Billing)
	}
	c, err = load(t, map[string]string{"RAMPART_STRIPE_WEBHOOK_SECRET": "whsec_aaaaaaaaaaaaaaaaaaaa, whsec_bbbbbbbbbbbbbbbbbbbb",
		"RAMPART_STRIPE_WEBHOOK_TOLERANCE": "60s", "RAMPART_BILLING_GRACE": "72h"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Billing.StripeSecrets) != 2 || c.Billing.StripeSecrets[1] != "whsec_bbbbbbbbbbbbbbbbbbbb" || c.Billing.Tolerance != time.Minute || c.Billing.Grace != 72*time.Hour {
		t.Fatalf("set: %+v", c.Billing)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RAMPART_STRIPE_WEBHOOK_SECRET": "sk_live_abcdefghijklmnopqrstuvwxyz"}, "RAMPART_STRIPE_WEBHOOK_SECRET (--stripe-webhook-secret): each secret must be a Stripe endpoint signing secret"},
		{map[string]string{"RAMPART_STRIPE_WEBHOOK_SECRET": "whsec_short"}, "RAMPART_STRIPE_WEBHOOK_SECRET"},
		{map[string]string{"RAMPART_STRIPE_WEBHOOK_SECRET": "whsec_aaaaaaaaaaaaaaaaaaaa,"}, "RAMPART_STRIPE_WEBHOOK_SECRET"},
		{map[string]string{"RAMPART_STRIPE_WEBHOOK_TOLERANCE": "2h"}, "RAMPART_STRIPE_WEBHOOK_TOLERANCE (--stripe-webhook-tolerance): \"2h\" must be a duration from 10s to 1h"},
		{map[string]string{"RAMPART_STRIPE_WEBHOOK_TOLERANCE": "5"}, "RAMPART_STRIPE_WEBHOOK_TOLERANCE"},
		{map[string]string{"RAMPART_BILLING_GRACE": "30m"}, "RAMPART_BILLING_GRACE (--billing-grace): \"30m\" must be a duration from 1h to 2160h"},
	} {
		_, err := load(t, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
		// The message never repeats the secret's value.
		if s := tc.env["RAMPART_STRIPE_WEBHOOK_SECRET"]; s != "" && err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error echoes the secret: %v", err)
		}
	}
}
