package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestOrgFeaturesCLI: `rampart org features` shows the defaults, sets
// flags on the service path (audited in the organization's chain, with a
// platform event for the service path), and refuses bad input with exit 2
// and nothing written; the other organization keeps its flags.
func TestOrgFeaturesCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	var acme, globex rampart.Organization
	if err := st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if acme, err = tx.Provision().CreateOrganization(ctx, "Acme", "acme"); err != nil {
			return err
		}
		globex, err = tx.Provision().CreateOrganization(ctx, "Globex", "globex")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	state := func() (rows, orgEvents, platformEvents int) {
		t.Helper()
		if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM organization_features),
(SELECT count(*) FROM audit_events WHERE action = 'organization.features.updated'),
(SELECT count(*) FROM audit_events WHERE organization_id IS NULL AND action = 'service.invoked' AND reason LIKE 'set an organization''s feature flags%')`).
			Scan(&rows, &orgEvents, &platformEvents); err != nil {
			t.Fatal(err)
		}
		return
	}

	code, out, errOut := run(t, env, "org", "features", "--org", "acme")
	if code != 0 || !strings.Contains(out, "ai       on   on") || !strings.Contains(out, "never changed") {
		t.Fatalf("show defaults: %d %q %q", code, out, errOut)
	}

	// Bad input: exit 2, a message naming the problem, nothing written.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"org", "features"}, "--org"},
		{[]string{"org", "features", "--org", "acme", "--set", "billing=off", "--reason", "x"}, `unknown flag "billing"`},
		{[]string{"org", "features", "--org", "acme", "--set", "ai=maybe", "--reason", "x"}, "on or off"},
		{[]string{"org", "features", "--org", "acme", "--set", "ai", "--reason", "x"}, "flag=on|off"},
		{[]string{"org", "features", "--org", "acme", "--set", "ai=off,ai=on", "--reason", "x"}, "twice"},
		{[]string{"org", "features", "--org", "acme", "--set", "ai=off"}, "--reason is required"},
		{[]string{"org", "features", "--org", "acme", "--set", "ai=off", "--reason", "   "}, "--reason is required"},
		{[]string{"org", "features", "--org", "acme", "--set", "ai=off", "--reason", strings.Repeat("r", 501)}, "1 to 500"},
		{[]string{"org", "features", "--org", "acme", "--reason", "why"}, "--reason goes with --set"},
		{[]string{"org", "features", "--org", "nope", "--set", "ai=off", "--reason", "x"}, "nope"},
	} {
		code, _, errOut := run(t, env, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want exit 2 mentioning %q", c.args, code, errOut, c.want)
		}
	}
	if rows, o, p := state(); rows != 0 || o != 0 || p != 0 {
		t.Fatalf("bad input wrote: %d rows, %d organization events, %d platform events", rows, o, p)
	}

	code, out, errOut = run(t, env, "org", "features", "--org", "acme", "--set", "ai=off,chat=on", "--reason", "contract paused")
	if code != 0 || !strings.Contains(out, "ai off→on") && !strings.Contains(out, "ai on→off") || !strings.Contains(out, "audited") {
		t.Fatalf("set: %d %q %q", code, out, errOut)
	}
	if rows, o, p := state(); rows != 1 || o != 1 || p != 1 {
		t.Fatalf("after set: %d rows, %d organization events, %d platform events; want 1 each", rows, o, p)
	}
	var org, actorType, actor, reason, after string
	if err := admin.QueryRow(ctx, `SELECT organization_id::text, actor_type, actor_id, reason, after::text FROM audit_events
WHERE action = 'organization.features.updated'`).Scan(&org, &actorType, &actor, &reason, &after); err != nil {
		t.Fatal(err)
	}
	if org != acme.ID.String() || actorType != "service" || !strings.HasPrefix(actor, "cli:") || reason != "contract paused" ||
		!strings.Contains(after, `"ai":false`) || !strings.Contains(after, `"chat":true`) {
		t.Fatalf("event: org %s actor %s/%s reason %q after %s", org, actorType, actor, reason, after)
	}

	// JSON view; chat is set on but not effective without ai.
	code, out, _ = run(t, env, "org", "features", "--org", acme.ID.String(), "--json")
	var v struct {
		Organization string              `json:"organization"`
		Features     rampart.OrgFeatures `json:"features"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Organization != "acme" || v.Features.AI || !v.Features.Chat ||
		v.Features.Reason != "contract paused" || v.Features.Enabled(rampart.FeatureChat) {
		t.Fatalf("--json: %d %q", code, out)
	}
	if code, out, _ := run(t, env, "org", "features", "--org", "acme"); code != 0 || !strings.Contains(out, "chat     on   off") {
		t.Fatalf("chat effective: %q", out)
	}
	// Globex is untouched: no row, the defaults.
	if code, out, _ := run(t, env, "org", "features", "--org", globex.Slug); code != 0 || !strings.Contains(out, "never changed") {
		t.Fatalf("globex: %d %q", code, out)
	}
}
