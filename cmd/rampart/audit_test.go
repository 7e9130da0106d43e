package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
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
	err = st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		if org, err = tx.Provision().CreateOrganization(ctx, "Acme", "acme"); err != nil {
			return err
		}
		for i := range 3 {
			if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: fmt.Sprintf("V%d", i), Name: fmt.Sprintf("=HYPERLINK(\"x\",\"venue %d\")", i)}); err != nil {
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
		{"audit", "export", "--org", "nope"},
		{"audit", "verify", "--org", "nope"},
		{"audit", "seal", "--org", "acme"},
		{"audit", "seal", "--anchors", file},
		{"audit", "verify", "-o", file},
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

// seedOrg creates an organization with n venues (an audit event each).
func seedOrg(t *testing.T, st *store.Store, slug string, n int) rampart.Organization {
	t.Helper()
	var org rampart.Organization
	err := st.AsService(context.Background(), "test: seed "+slug, func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if org, err = tx.Provision().CreateOrganization(ctx, "Org "+slug, slug); err != nil {
			return err
		}
		return addVenues(ctx, tx, org, 0, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func addVenues(ctx context.Context, tx *store.ServiceTx, org rampart.Organization, from, n int) error {
	for i := from; i < from+n; i++ {
		if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: fmt.Sprintf("V%d", i), Name: fmt.Sprintf("Venue %d", i)}); err != nil {
			return err
		}
	}
	return nil
}

// TestOrgFlagTakesIDOrSlug: every --org (audit verify, audit export,
// killswitch) takes an organization's id or its slug, through one
// resolver; an unknown value is refused naming it.
func TestOrgFlagTakesIDOrSlug(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	st := openTestStore(t, db)
	org := seedOrg(t, st, "acme", 2)
	seedOrg(t, st, "globex", 1)
	dir := t.TempDir()
	for _, ref := range []string{"acme", org.ID.String()} {
		file := filepath.Join(dir, ref+".csv")
		if code, _, errOut := run(t, env, "audit", "export", "--org", ref, "--action", "venue.created", "-o", file); code != 0 {
			t.Fatalf("export --org %s: %d %s", ref, code, errOut)
		}
		b, _ := os.ReadFile(file)
		if recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); err != nil || len(recs) != 3 {
			t.Fatalf("export --org %s: %d records (%v)", ref, len(recs), err)
		}
		code, out, errOut := run(t, env, "audit", "verify", "--org", ref)
		if code != 0 || !strings.Contains(out, org.ID.String()) || strings.Count(out, " ok ") != 1 {
			t.Fatalf("verify --org %s: %d\n%s%s", ref, code, out, errOut)
		}
	}
	if code, out, errOut := run(t, env, "killswitch", "on", "--org", org.ID.String(), "--reason", "by id"); code != 0 || !strings.Contains(out, "organization acme") {
		t.Fatalf("killswitch on --org ID: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, env, "killswitch", "status", "--org", org.ID.String()); code != 0 || !strings.Contains(out, "organization: ON") {
		t.Fatalf("killswitch status --org ID: %d %q", code, out)
	}
	if code, out, errOut := run(t, env, "killswitch", "off", "--org", "acme", "--reason", "by slug"); code != 0 || !strings.Contains(out, "organization acme") {
		t.Fatalf("killswitch off --org SLUG: %d %q %q", code, out, errOut)
	}
	// Unknown values are refused, named, and change nothing.
	for _, args := range [][]string{
		{"audit", "export", "--org", "nope"},
		{"audit", "verify", "--org", "nope"},
		{"killswitch", "on", "--org", "nope", "--reason", "x"},
		{"killswitch", "status", "--org", "nope"},
	} {
		code, _, errOut := run(t, env, args...)
		if code != exitUsage || !strings.Contains(errOut, `--org "nope": `) || !strings.Contains(errOut, `no organization with id or slug "nope"`) {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	state, err := st.KillSwitchState(context.Background())
	if err != nil || len(state.Orgs) != 0 || state.Global.Active {
		t.Fatalf("kill-switch state after the refusals: %+v %v", state, err)
	}
}

// TestAuditAnchorCLI: `rampart audit anchor` writes every chain's head;
// `verify --anchors` passes while the log extends them, and fails naming
// the chain and the seal after the newest seals of a chain are deleted
// with their events (which plain verify cannot see). Bad anchor files are
// usage errors (exit 2) that say what is wrong.
func TestAuditAnchorCLI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	org := seedOrg(t, st, "acme", 2)
	chain := org.ID.String()
	more := func(from int) {
		t.Helper()
		if err := st.AsService(ctx, "test: more", func(ctx context.Context, tx *store.ServiceTx) error { return addVenues(ctx, tx, org, from, 2) }); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := run(t, env, "audit", "seal"); code != 0 {
			t.Fatalf("seal: %d %s", code, errOut)
		}
	}
	// Seals 1 and 2 of the organization's chain; the log carries the heads.
	if code, _, errOut := run(t, env, "audit", "seal"); code != 0 {
		t.Fatalf("seal: %d %s", code, errOut)
	}
	more(10)
	dir := t.TempDir()
	file := filepath.Join(dir, "anchors.json")
	code, out, errOut := run(t, env, "audit", "anchor", "--out", file)
	if code != 0 || out != "" || !strings.Contains(errOut, "anchored 2 chains") {
		t.Fatalf("anchor --out: %d %q %q", code, out, errOut)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	anchors, err := audit.ParseAnchors(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	head, ok := anchors.For(chain)
	if _, plat := anchors.For(audit.PlatformChain); !ok || !plat || head.Seq != 2 {
		t.Fatalf("anchors: %+v", anchors.Chains)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("anchor left other files behind: %v", entries)
	}
	// Standard output: the same heads.
	code, out, _ = run(t, env, "audit", "anchor")
	again, err := audit.ParseAnchors(strings.NewReader(out))
	if code != 0 || err != nil || len(again.Chains) != len(anchors.Chains) {
		t.Fatalf("anchor to stdout: %d %v\n%s", code, err, out)
	}
	for i := range again.Chains {
		if a, b := again.Chains[i], anchors.Chains[i]; a.Chain != b.Chain || a.Seq != b.Seq || !bytes.Equal(a.HeadMAC, b.HeadMAC) {
			t.Fatalf("stdout anchor %+v, file anchor %+v", a, b)
		}
	}
	more(20)
	// The log grows: verify against the anchors passes.
	code, out, errOut = run(t, env, "audit", "verify", "--anchors", file)
	if code != 0 || !strings.Contains(out, "anchored at seal 2") {
		t.Fatalf("verify --anchors on a grown log: %d\n%s%s", code, out, errOut)
	}
	// The attack: the organization's seals from 2 on deleted with their events.
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{
		"SET session_replication_role = replica",
		"DELETE FROM audit_events WHERE organization_id = $1::uuid AND xact_id >= (SELECT from_xid FROM audit_seals WHERE chain = $1::text AND seq = 2)",
		"DELETE FROM audit_seals WHERE chain = $1::text AND seq >= 2",
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, chain)
		}
		if _, err := admin.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Plain verify does not see it (the documented blind spot) ...
	if code, out, errOut := run(t, env, "audit", "verify"); code != 0 {
		t.Fatalf("plain verify was expected to pass after a truncation: %d\n%s%s", code, out, errOut)
	}
	// ... verify against the anchors does, and names the chain and the seal.
	code, out, errOut = run(t, env, "audit", "verify", "--anchors", file)
	want := "chain " + chain + ", seal 2: anchored seal is missing"
	if code != exitFail || !strings.Contains(errOut, want) || !strings.Contains(out, chain+" BROKEN") {
		t.Fatalf("verify --anchors after truncation: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}
	code, out, _ = run(t, env, "audit", "verify", "--org", "acme", "--anchors", file, "--json")
	var rep struct {
		OK     bool                `json:"ok"`
		Chains []audit.ChainReport `json:"chains"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != exitFail || err != nil || rep.OK || len(rep.Chains) != 1 ||
		rep.Chains[0].AnchoredSeal != 2 || len(rep.Chains[0].Problems) != 1 || rep.Chains[0].Problems[0].Seal != 2 {
		t.Fatalf("verify --org --anchors --json: %d %v\n%s", code, err, out)
	}

	// Bad anchor files: exit 2, saying what is wrong.
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid, _ := os.ReadFile(file)
	mac := strings.Repeat("ab", 32)
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.json"), "missing.json"},
		{write("text.json", "platform 7 abab"), "not JSON"},
		{write("v2.json", strings.Replace(string(valid), `"version": 1`, `"version": 2`, 1)), "version 2 is not supported"},
		{write("badname.json", `{"format":"rampart.audit.anchors","version":1,"created_at":"2026-01-31T00:00:00Z","chains":[{"chain":"acme","seq":1,"kind":"seal","sealed_at":"2026-01-31T00:00:00Z","head_mac":"`+mac+`"}]}`), `unknown chain "acme"`},
		{write("stranger.json", `{"format":"rampart.audit.anchors","version":1,"created_at":"2026-01-31T00:00:00Z","chains":[{"chain":"6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11","seq":1,"kind":"seal","sealed_at":"2026-01-31T00:00:00Z","head_mac":"`+mac+`"}]}`), "unknown chain 6f1c2b1e-2d7a-4c53-9b0e-6a1f3f5d2c11"},
	} {
		code, _, errOut := run(t, env, "audit", "verify", "--anchors", tc.file)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--anchors") {
			t.Errorf("verify --anchors %s: exit %d, want 2 and %q: %s", filepath.Base(tc.file), code, tc.want, errOut)
		}
	}
	// An anchor file that cannot be written leaves nothing behind.
	if code, _, errOut := run(t, env, "audit", "anchor", "--out", filepath.Join(dir, "no", "such", "dir.json")); code != exitFail || errOut == "" {
		t.Fatalf("anchor into a missing directory: %d %q", code, errOut)
	}
}

// TestAuditSealLogsHeadMAC: `rampart audit seal` logs each chain's new
// head MAC in full (the log scrubber once wrote "[redacted]"), the same
// value `audit anchor` writes.
func TestAuditSealLogsHeadMAC(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	st := openTestStore(t, db)
	org := seedOrg(t, st, "acme", 1)
	code, _, errOut := run(t, env, "audit", "seal")
	if code != 0 {
		t.Fatalf("seal: %d %s", code, errOut)
	}
	code, out, _ := run(t, env, "audit", "anchor")
	anchors, err := audit.ParseAnchors(strings.NewReader(out))
	if code != 0 || err != nil {
		t.Fatalf("anchor: %d %v", code, err)
	}
	head, _ := anchors.For(org.ID.String())
	want := fmt.Sprintf(`"head_mac":"%x"`, []byte(head.HeadMAC))
	for _, line := range strings.Split(errOut, "\n") {
		if strings.Contains(line, `"msg":"audit chain sealed"`) && strings.Contains(line, org.ID.String()) {
			if !strings.Contains(line, want) {
				t.Fatalf("the seal log line does not carry %s:\n%s", want, line)
			}
			return
		}
	}
	t.Fatalf("no seal log line for chain %s:\n%s", org.ID, errOut)
}

// TestAuditVerifyReportsErasure: an event whose personal fields were
// blanked (the one way the database allows: as rampart_audit_eraser,
// blanking only those fields) is reported as erased; the eraser cannot
// change anything else; an erasure that no privacy.erasure.completed
// record accounts for (what an attacker with database access, but no
// key, could do) fails verify as such; and a tamper of the erased event
// fails verify, naming it. The legitimate path (an erasure request, which
// verify passes) is tested in internal/privacy.
func TestAuditVerifyReportsErasure(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	ctx := context.Background()
	st := openTestStore(t, db)
	err := st.AsService(ctx, "test: seed", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, "Acme", "acme")
		if err != nil {
			return err
		}
		_, err = tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: "V1", Name: "Venue one"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, env, "audit", "seal"); code != 0 {
		t.Fatalf("seal: %d %s %s", code, out, errOut)
	}
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, "SELECT min(id) FROM audit_events WHERE action = 'venue.created' AND scheme = 2").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE rampart_audit_eraser"); err != nil {
		t.Fatal(err)
	}
	// The eraser may not touch what the MAC covers.
	if _, err := conn.Exec(ctx, "UPDATE audit_events SET actor_id = 'someone else', ip = NULL, user_agent = '', before = NULL, after = NULL, reason = '', metadata = NULL, pii_salt = NULL, erased_at = now() WHERE id = $1", id); err == nil {
		t.Fatal("the eraser changed actor_id")
	}
	if _, err := conn.Exec(ctx, "UPDATE audit_events SET ip = NULL, user_agent = '', before = NULL, after = NULL, reason = '', metadata = NULL, pii_salt = NULL, erased_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(out, fmt.Sprintf("erased: 1 events had their personal fields erased on request; everything else in them verified (events %d)", id)) ||
		!strings.Contains(errOut, "personal fields were blanked outside a data subject erasure") {
		t.Fatalf("verify after an unrecorded erasure: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, env, "audit", "verify", "--json"); code != 1 || !strings.Contains(out, `"erased": 1`) {
		t.Fatalf("verify --json after an unrecorded erasure: exit %d\n%s", code, out)
	}
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE audit_events SET target_id = 'V9' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("event %d: content does not match its MAC", id)) {
		t.Fatalf("verify after tampering with an erased event: exit %d\n%s", code, errOut)
	}
}
