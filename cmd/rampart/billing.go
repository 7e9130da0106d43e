package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/config"
)

var billingVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys, config.VarSessionKeys, config.VarTokenKeys}

func runBilling(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("billing", "billing link|show --org ID|SLUG [flags]", `
Billing plan state, for platform operators (docs/billing.md). Every use
runs on the audited service path.

  rampart billing link --org ID|SLUG --customer cus_…
      links the organization to its Stripe customer: from then on the
      verified Stripe events of that customer (POST /api/billing/webhook)
      set the organization's plan state. This command is the only way an
      organization gets a customer; a customer is linked to at most one
      organization. Audited in the organization's log (billing.customer.linked).
  rampart billing show --org ID|SLUG
      prints the organization's plan state as JSON`)
	loader := config.NewLoader(fs, m.Getenv, billingVars...)
	orgRef := fs.String("org", "", "the organization's id or slug")
	customer := fs.String("customer", "", "the Stripe customer id, cus_… (link)")
	cfg, code, done := m.load("billing", fs, loader, args, 1)
	if done {
		return code
	}
	usage := func(msg string) int {
		fmt.Fprintf(m.Stderr, "rampart billing: %s\n", msg)
		return exitUsage
	}
	action := fs.Arg(0)
	switch action {
	case "link":
		if !billing.ValidCustomerID(*customer) {
			return usage(fmt.Sprintf("link needs --customer with a Stripe customer id (cus_…), not %q", *customer))
		}
	case "show":
	case "":
		return usage("give an action: link or show (rampart billing --help)")
	default:
		return usage(fmt.Sprintf("unknown action %q: use link or show", action))
	}
	if *orgRef == "" {
		return usage(action + " needs --org ID|SLUG")
	}
	st, closeStore, err := openServiceStore(ctx, m, cfg, "billing", "rampart billing ("+osUser()+")")
	if err != nil {
		return m.fail("billing", err)
	}
	defer closeStore()
	org, err := resolveOrg(ctx, st, *orgRef)
	if err != nil {
		return m.orgFail("billing", err)
	}
	if action == "link" {
		a, err := billing.Link(ctx, st, org.ID, *customer, "cli:"+osUser())
		if err != nil {
			return m.orgFail("billing", err)
		}
		fmt.Fprintf(m.Stdout, "linked organization %q (%s) to the Stripe customer %s; plan %s, status %s\n", org.Name, org.ID, a.StripeCustomerID, a.Plan, a.Status)
		return exitOK
	}
	a, err := st.Billing().Account(ctx, org.ID)
	if err != nil {
		return m.orgFail("billing", err)
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(a); err != nil {
		return m.fail("billing", err)
	}
	return exitOK
}
