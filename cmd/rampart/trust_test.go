package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/trust"
)

// TestTrustReportCLI runs `rampart trust-report` on a seeded database:
// every control met (the restore drill not configured), the run recorded
// as an audit event holding the file's SHA-256, the file verifies and an
// edited copy does not; a table whose RLS is no longer forced makes the
// command exit 1 with the rls-audit line not met.
func TestTrustReportCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	err := st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		for _, slug := range []string{"acme", "globex"} {
			org, err := tx.Provision().CreateOrganization(ctx, "Org "+slug, slug)
			if err != nil {
				return err
			}
			if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: "HALL", Name: "Hall"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.json")
	code, out, errOut := run(t, env, "trust-report", "--format", "json", "--out", file)
	if code != exitOK || out != "" || !strings.Contains(errOut, "not met") {
		t.Fatalf("trust-report: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	keys := openTestKeys(t)
	v, err := trust.Verify(b, keys)
	if err != nil || v.Report == nil {
		t.Fatalf("verify: %v", err)
	}
	for _, c := range v.Report.Controls {
		want := trust.Met
		if c.ID == trust.IDRestoreDrill {
			want = trust.NotConfigured
		}
		if c.Status != want {
			t.Errorf("%s: %s (want %s): %s", c.ID, c.Status, want, c.Summary)
		}
	}
	// The run is an audit event holding the report's id and digest.
	sum := sha256.Sum256(b)
	var n int
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'trust.report.generated' AND organization_id IS NULL
		AND target_id = $1 AND metadata->>'sha256' = $2 AND metadata->>'key_id' = 'k1'`, v.Report.ID, hex.EncodeToString(sum[:])).Scan(&n); err != nil || n != 1 {
		t.Errorf("trust.report.generated events for %s: %d (%v)", v.Report.ID, n, err)
	}
	if code, out, errOut := run(t, env, "trust-report", "verify", file); code != exitOK || !strings.Contains(out, "signature OK") {
		t.Errorf("verify: exit %d %s %s", code, out, errOut)
	}
	edited := filepath.Join(dir, "edited.json")
	if err := os.WriteFile(edited, bytes.Replace(b, []byte(`"not configured"`), []byte(`"met"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, env, "trust-report", "verify", edited); code != exitFail || !strings.Contains(errOut, "changed after it was signed") {
		t.Errorf("verify of an edited report: exit %d %s", code, errOut)
	}

	// Markdown on stdout verifies too.
	code, md, errOut := run(t, env, "trust-report")
	if code != exitOK || !strings.HasPrefix(md, "# Rampart trust report") {
		t.Fatalf("md: exit %d %s", code, errOut)
	}
	mdFile := filepath.Join(dir, "report.md")
	if err := os.WriteFile(mdFile, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, env, "trust-report", "verify", mdFile); code != exitOK {
		t.Errorf("verify md: exit %d %s", code, errOut)
	}

	// A deliberately broken control: RLS no longer forced on venues.
	if _, err := admin.Exec(ctx, "ALTER TABLE venues NO FORCE ROW LEVEL SECURITY"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, env, "trust-report", "--format", "json")
	if code != exitFail || !strings.Contains(errOut, "not met: "+trust.IDRLSAudit) {
		t.Fatalf("after NO FORCE: exit %d %s", code, errOut)
	}
	v, err = trust.Verify([]byte(out), keys)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := v.Report.Control(trust.IDRLSAudit); r.Status != trust.NotMet || !strings.Contains(r.Summary, "venues") {
		t.Errorf("rls-audit line after NO FORCE: %s: %s", r.Status, r.Summary)
	}

	for _, args := range [][]string{
		{"trust-report", "--format", "pdf"},
		{"trust-report", "verify"},
		{"trust-report", "frobnicate"},
		{"trust-report", "verify", filepath.Join(dir, "missing.json")},
	} {
		if code, _, errOut := run(t, env, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}

// openTestKeys is the audit keyring of externalEnv.
func openTestKeys(t *testing.T) *audit.Keyring {
	t.Helper()
	keys, err := audit.NewKeyring([]audit.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
