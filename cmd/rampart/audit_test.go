package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestAuditCLI drives `rampart audit` against a real database: seal,
// verify (exit 0), export CSV, then a superuser edit → verify exits 1
// naming the event.
func TestAuditCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	var err error
	var org rampart.Organization
	err = st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.Tx) error {
		if org, err = tx.CreateOrganization(ctx, "Acme", "acme"); err != nil {
			return err
		}
		for i := range 3 {
			if _, err := tx.CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: fmt.Sprintf("V%d", i), Name: fmt.Sprintf("=HYPERLINK(\"x\",\"venue %d\")", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, env, "audit", "seal"); code != 0 || !strings.Contains(out, "sealed") {
		t.Fatalf("seal: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("verify: %d %s %s", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "audit.csv")
	if code, _, errOut := run(t, env, "audit", "export", "--org", org.ID.String(), "--action", "venue.created", "-o", file); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(file)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("export has %d records (%v):\n%s", len(recs), err, b)
	}
	if strings.HasPrefix(recs[1][10], "=") || !strings.HasPrefix(recs[1][10], "{") {
		t.Fatalf("after cell %q", recs[1][10])
	}
	// Bad input is refused clearly.
	for _, args := range [][]string{
		{"audit", "export"},
		{"audit", "export", "--org", "acme"},
		{"audit", "export", "--org", org.ID.String(), "--since", "yesterday"},
		{"audit", "export", "--org", org.ID.String(), "--action", "venue.exploded"},
		{"audit", "frobnicate"},
	} {
		if code, _, errOut := run(t, env, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	// Tamper as a superuser: verify fails and names the event.
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, "SELECT min(id) FROM audit_events WHERE action = 'venue.created'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE audit_events SET actor_id = 'someone else' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("event %d", id)) {
		t.Fatalf("verify after tampering: exit %d\n%s", code, errOut)
	}
}

func TestAuditVerifyUnknownOrg(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	code, _, errOut := run(t, externalEnv(db, db.AppURL), "audit", "verify", "--org", "6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11")
	if code != exitFail || !strings.Contains(errOut, "no events and no seals") {
		t.Fatalf("verify of an unknown organization: exit %d %s", code, errOut)
	}
}
