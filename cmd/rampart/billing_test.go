package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestBillingCLI: `billing link` links an organization (id or slug) to a
// Stripe customer, audited; `billing show` prints the plan state; a bad
// customer id, an unknown organization and a customer already linked
// elsewhere are refused, named, and change nothing.
func TestBillingCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	st := openTestStore(t, db)
	org := seedOrg(t, st, "acme", 1)
	globex := seedOrg(t, st, "globex", 1)
	if code, out, errOut := run(t, env, "billing", "link", "--org", "acme", "--customer", "cus_Acme1"); code != 0 || !strings.Contains(out, "cus_Acme1") {
		t.Fatalf("link: %d %q %q", code, out, errOut)
	}
	code, out, errOut := run(t, env, "billing", "show", "--org", org.ID.String())
	var a rampart.BillingAccount
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil || a.StripeCustomerID != "cus_Acme1" || a.Plan != rampart.PlanNone || a.OrganizationID != org.ID {
		t.Fatalf("show: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"billing", "link", "--org", "acme", "--customer", "acme"}, `a Stripe customer id (cus_…), not "acme"`},
		{[]string{"billing", "link", "--org", "nope", "--customer", "cus_X"}, `no organization with id or slug "nope"`},
		{[]string{"billing", "link", "--org", "globex", "--customer", "cus_Acme1"}, "linked to another organization"},
		{[]string{"billing", "show", "--org", "globex"}, "not found"},
		{[]string{"billing", "frob", "--org", "acme"}, "unknown action"},
	} {
		code, _, errOut := run(t, env, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
	if _, err := st.Billing().Account(context.Background(), globex.ID); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("globex got an account: %v", err)
	}
	// One audit event for the one link.
	if _, out, _ := run(t, env, "audit", "export", "--org", "acme", "--action", "billing.customer.linked"); strings.Count(out, "billing.customer.linked") != 1 {
		t.Errorf("link events in the export: %q", out)
	}
}
