package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

func TestKillSwitchCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	var err error
	if err := st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		_, err := tx.Provision().CreateOrganization(ctx, "Acme", "acme")
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if code, out, errOut := run(t, env, "killswitch", "on", "--global", "--reason", "provider incident"); code != 0 || !strings.Contains(out, "on for global") {
		t.Fatalf("on --global: %d %q %q", code, out, errOut)
	}
	state, err := st.KillSwitchState(ctx)
	if err != nil || !state.Global.Active || state.Global.Reason != "provider incident" {
		t.Fatalf("state after on: %+v %v", state.Global, err)
	}
	if code, out, _ := run(t, env, "killswitch", "status", "--org", "acme"); code != 0 || !strings.Contains(out, "global:       ON") || !strings.Contains(out, "organization: off") {
		t.Fatalf("status: %d %q", code, out)
	}
	if code, _, errOut := run(t, env, "killswitch", "on", "--org", "acme", "--reason", "customer request"); code != 0 {
		t.Fatalf("on --org: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, env, "killswitch", "off", "--global", "--reason", "resolved"); code != 0 {
		t.Fatalf("off --global: %d %q", code, errOut)
	}
	state, err = st.KillSwitchState(ctx)
	if err != nil || state.Global.Active || len(state.Orgs) != 1 {
		t.Fatalf("state after off: %+v %v", state, err)
	}

	// Every change is audited with actor, scope and reason.
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	rows, err := admin.Query(ctx, `SELECT action, actor_id, reason, metadata->>'scope' FROM audit_events
WHERE action IN ('killswitch.activated', 'killswitch.deactivated') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, actor, reason, scope string
		if err := rows.Scan(&action, &actor, &reason, &scope); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(actor, "cli:") && actor != "rampart killswitch" || reason == "" {
			t.Errorf("event %s: actor %q reason %q", action, actor, reason)
		}
		got = append(got, action+"/"+scope)
	}
	want := "killswitch.activated/global killswitch.activated/organization killswitch.deactivated/global"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit trail %v, want %s", got, want)
	}

	// Bad input changes nothing and says why.
	for _, args := range [][]string{
		{"killswitch", "on", "--global"},
		{"killswitch", "on", "--reason", "x"},
		{"killswitch", "on", "--global", "--org", "acme", "--reason", "x"},
		{"killswitch", "maybe", "--global", "--reason", "x"},
		{"killswitch"},
	} {
		if code, _, errOut := run(t, env, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	if code, _, errOut := run(t, env, "killswitch", "on", "--org", "nope", "--reason", "x"); code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("unknown org: exit %d, %q", code, errOut)
	}
}
