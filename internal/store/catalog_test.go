package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
)

// auditAs reads the catalog through the store as the login in databaseURL
// and evaluates it.
func auditAs(t *testing.T, databaseURL string) (rlsaudit.Snapshot, rlsaudit.Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, databaseURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	snap, err := s.Catalog(ctx)
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	return snap, rlsaudit.Evaluate(snap)
}

func reportText(t *testing.T, r rlsaudit.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// adminExec runs statements as the superuser in the test's database: the
// deliberate tampering the audit must catch.
func adminExec(t *testing.T, adminURL string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// auditFindingKeys returns the report's findings as "check object" keys, each
// as often as it occurs.
func auditFindingKeys(r rlsaudit.Report) map[string]int {
	out := map[string]int{}
	for _, f := range r.Findings {
		out[string(f.Check)+" "+f.Object]++
	}
	return out
}

// newAuditFindings returns the findings of after that before does not have, as
// sorted "check object" keys (with repeats): what a change to the database
// added to the audit. Comparing against a baseline keeps the tampering
// tests exact while the fresh schema itself may still have findings.
func newAuditFindings(before, after rlsaudit.Report) []string {
	b := auditFindingKeys(before)
	var out []string
	for k, n := range auditFindingKeys(after) {
		for i := b[k]; i < n; i++ {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// auditPair is an expected finding.
type auditPair struct {
	check  rlsaudit.Check
	object string
}

func auditPairKeys(ps []auditPair) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p.check)+" "+p.object)
	}
	slices.Sort(out)
	return out
}

// assertNewFindings fails t unless the findings after tampering are those
// before plus exactly want; with atLeast, want must be among the new ones
// (for changes, such as SUPERUSER, whose consequences reach many checks).
func assertNewFindings(t *testing.T, before, after rlsaudit.Report, atLeast bool, want ...auditPair) {
	t.Helper()
	got, w := newAuditFindings(before, after), auditPairKeys(want)
	ok := slices.Equal(got, w)
	if atLeast {
		ok = true
		for _, k := range w {
			ok = ok && slices.Contains(got, k)
		}
	}
	if !ok {
		t.Fatalf("new findings = %q, want %q (at least: %v):\n%s", got, w, atLeast, reportText(t, after))
	}
	if len(w) > 0 && after.OK() {
		t.Fatalf("the audit passes with findings %q", got)
	}
}

// auditFinding returns the first finding of check on object.
func auditFinding(t *testing.T, r rlsaudit.Report, check rlsaudit.Check, object string) rlsaudit.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Check == check && f.Object == object {
			return f
		}
	}
	t.Fatalf("no %s finding on %s:\n%s", check, object, reportText(t, r))
	return rlsaudit.Finding{}
}

func catalogTable(t *testing.T, snap rlsaudit.Snapshot, name string) rlsaudit.Table {
	t.Helper()
	for _, tb := range snap.Tables {
		if tb.Ref().String() == name {
			return tb
		}
	}
	t.Fatalf("table %s not in the snapshot", name)
	return rlsaudit.Table{}
}

// catalogSeedSQL puts one row into every table the behavioural probe reads (and
// login_links), as the superuser: the probe proves leaks only on rows that
// exist.
var catalogSeedSQL = []string{
	`INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-4000-8000-00000000000a', 'Acme', 'acme')`,
	`INSERT INTO users (id, email) VALUES ('00000000-0000-4000-8000-0000000000a1', 'ann@acme.test')`,
	`INSERT INTO memberships (organization_id, user_id, role) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000a1', 'admin')`,
	`INSERT INTO venues (organization_id, code, name) VALUES ('00000000-0000-4000-8000-00000000000a', 'HALL', 'Hall')`,
	`INSERT INTO sessions (user_id, active_organization_id, expires_at) VALUES ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', now() + interval '1 hour')`,
	`INSERT INTO invites (organization_id, email, role, token_hash, expires_at, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'bob@acme.test', 'viewer', decode(repeat('ab', 32), 'hex'), now() + interval '1 day', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO api_tokens (organization_id, name, role, expires_at, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'ci', 'viewer', now() + interval '1 day', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO signups (email, organization_name, token_hash, expires_at) VALUES ('new@acme.test', 'New Co', decode(repeat('ef', 32), 'hex'), now() + interval '1 day')`,
	`INSERT INTO periodic_runs (task, last_started_at, run_by) VALUES ('audit_seal', now(), 'test')`,
	`INSERT INTO restore_drills (started_at, finished_at, ok, backup_file, total_ms, summary, run_by) VALUES (now(), now(), true, '/backups/b.rampart', 10, 'passed', 'test')`,
	`INSERT INTO login_links (user_id, token_hash, expires_at) VALUES ('00000000-0000-4000-8000-0000000000a1', decode(repeat('cd', 32), 'hex'), now() + interval '10 minutes')`,
	`INSERT INTO audit_events (event_key, occurred_at, mac_key_id, mac, organization_id, actor_type, action) VALUES
	  (gen_random_uuid(), now(), 'k', decode(repeat('00', 32), 'hex'), '00000000-0000-4000-8000-00000000000a', 'user', 'venue.created'),
	  (gen_random_uuid(), now(), 'k', decode(repeat('00', 32), 'hex'), NULL, 'service', 'service.invoked')`,
	`INSERT INTO proposals (organization_id, id, title, venue_code, author_id) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'Gala', 'HALL', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO ai_jobs (organization_id, kind, proposal_id, venue_code, agent_type, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'proposal_generation', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'proposal_writer', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO bom_lines (organization_id, id, proposal_id, venue_code, position, item, category, quantity, unit, created_by, updated_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 0, 'Item', 'audio', 1, 'day', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO sows (organization_id, id, proposal_id, venue_code, title, amount_minor, currency, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'SOW', 100, 'EUR', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO budget_lines (organization_id, id, proposal_id, venue_code, category, description, currency, planned_minor, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 'audio', 'PA', 'EUR', 100, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO change_orders (organization_id, id, sow_id, venue_code, description, amount_delta_minor, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000c1', 'HALL', 'More', 10, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO proposal_chat_messages (organization_id, id, proposal_id, venue_code, asked_by, question, costed) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', '00000000-0000-4000-8000-0000000000a1', 'How many crew?', false)`,
	`INSERT INTO integration_credentials (organization_id, id, provider, status, refresh_token_enc, secret_key_id, connected_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), 'ledger', 'connected', decode(repeat('01', 40), 'hex'), 's1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO integration_flows (organization_id, id, provider, user_id, session_id, state_hash, verifier_enc, secret_key_id, expires_at) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), 'ledger', '00000000-0000-4000-8000-0000000000a1', gen_random_uuid(), decode(repeat('ab', 32), 'hex'), decode(repeat('01', 40), 'hex'), 's1', now() + interval '10 minutes')`,
	`INSERT INTO org_kill_switches (organization_id, active, reason, changed_by) VALUES ('00000000-0000-4000-8000-00000000000a', true, 'test', 'test')`,
	`INSERT INTO rampart_processes (id, role, hostname, pid, version) VALUES ('00000000-0000-4000-8000-0000000000f1', 'serve', 'host', 42, 'test')`,
	`INSERT INTO killswitch_acks (process_id, switch_changed_at, active, installed_at) VALUES ('00000000-0000-4000-8000-0000000000f1', now(), true, now())`,
	`INSERT INTO org_killswitch_acks (organization_id, switch_changed_at, process_id, active, installed_at) VALUES ('00000000-0000-4000-8000-00000000000a', now(), '00000000-0000-4000-8000-0000000000f1', true, now())`,
	`INSERT INTO ai_budgets (organization_id, monthly_tokens) VALUES ('00000000-0000-4000-8000-00000000000a', 1000)`,
	`INSERT INTO organization_features (organization_id, ai, chat, reason, updated_by) VALUES ('00000000-0000-4000-8000-00000000000a', true, false, 'test', 'test')`,
	`INSERT INTO ai_usage (organization_id, month) VALUES ('00000000-0000-4000-8000-00000000000a', date_trunc('month', now())::date)`,
	`INSERT INTO billing_accounts (organization_id, stripe_customer_id, plan, status, monthly_token_cap, linked_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'cus_Acme', 'team', 'active', 20000000, 'test')`,
	`INSERT INTO stripe_events (event_id, event_type, livemode, created_at, outcome) VALUES ('evt_Acme', 'invoice.payment_failed', false, now(), 'applied')`,
	`INSERT INTO river.river_job (args, kind, max_attempts, queue, state) VALUES ('{"organization_id":"00000000-0000-4000-8000-00000000000a"}', 'proposal_generation', 5, 'ai', 'available')`,
	`INSERT INTO attachments (organization_id, proposal_id, venue_code, filename, content_type, size_bytes, sha256, content, uploaded_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'rider.txt', 'text/plain', 5, sha256('hello'::bytea), 'hello'::bytea, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale, requested_by, created_at, expires_at) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'bom_drafter', 'bom_lines', '{"bom_lines": []}', 'seed', '00000000-0000-4000-8000-0000000000a1', '2026-12-01T00:00:00Z', '2026-12-08T00:00:00Z')`,
	`INSERT INTO vendors (organization_id, id, name, category, price_band, lead_time_days, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000d1', 'Vendor', 'audio', 2, 7, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO crew_members (organization_id, id, name, skills, currency, day_rate_enc, field_key_id, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000e1', 'Crew', '{rigging}', 'EUR', decode(repeat('01', 40), 'hex'), 'f1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO vendor_choices (organization_id, id, proposal_id, venue_code, category, vendor_id, chosen_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 'audio', '00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO crew_assignments (organization_id, id, proposal_id, venue_code, crew_member_id, starts_on, ends_on, assigned_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', '00000000-0000-4000-8000-0000000000e1', '2027-01-01', '2027-01-02', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO learned_weights (organization_id, ranker, feature, adjustment, observations) VALUES ('00000000-0000-4000-8000-00000000000a', 'vendor_ranker', 'price_band', 0.05, 1)`,
	`INSERT INTO learning_feedback (organization_id, ranker, approved, signals, actor_id) VALUES ('00000000-0000-4000-8000-00000000000a', 'vendor_ranker', true, '{"price_band": 1}', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO privacy_requests (organization_id, kind, subject_user_id, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'export', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO rate_limit_refusals (organization_id, day, tier, refusals) VALUES ('00000000-0000-4000-8000-00000000000a', current_date, 'api', 3)`,
}

func TestCatalogFreshDatabasePasses(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	snap, r := auditAs(t, db.AppURL)
	t.Log("\n" + reportText(t, r))
	if !r.OK() {
		t.Fatalf("a freshly migrated database fails the audit:\n%s", reportText(t, r))
	}
	if snap.Login != pgtest.Login || snap.AppRole != AppRole || snap.Database != db.Name {
		t.Errorf("session = %q/%q/%q, want %q/%q/%q", snap.Login, snap.AppRole, snap.Database, pgtest.Login, AppRole, db.Name)
	}

	rows := map[string]rlsaudit.TableRow{}
	for _, row := range r.Tables {
		rows[row.Table] = row
	}
	want := map[string]rlsaudit.TableRow{
		"venues":                 {Tenant: true, OrgColumn: "not null", Select: "policy", Insert: "policy", Update: "policy", Delete: "policy", Truncate: "no grant", Probe: "0 rows"},
		"organizations":          {Tenant: true, OrgColumn: "id (root)", Select: "policy", Insert: "no grant", Update: "policy", Delete: "no grant", Truncate: "no grant", Probe: "0 rows"},
		"audit_events":           {Tenant: true, OrgColumn: "nullable (exempt)", Select: "policy", Insert: "policy", Update: "no grant", Delete: "no grant", Truncate: "no grant", Probe: "0 rows"},
		"users":                  {OrgColumn: "-", Select: "policy", Insert: "no grant", Update: "policy", Delete: "no grant", Truncate: "no grant", Probe: "0 rows"},
		"rampart_schema_version": {OrgColumn: "-", Select: "global", Insert: "no grant", Update: "no grant", Delete: "no grant", Truncate: "no grant", Probe: "-"},
	}
	for name, w := range want {
		got, ok := rows[name]
		if !ok {
			t.Errorf("table %s missing from the report", name)
			continue
		}
		g := got
		g.Table, g.RLS, g.Forced, g.PublicGrants, g.Verdict = "", false, false, nil, ""
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s row = %+v, want %+v", name, g, w)
		}
		if got.Verdict != rlsaudit.VerdictPass {
			t.Errorf("%s verdict = %s", name, got.Verdict)
		}
	}
	if _, ok := rows["memberships"]; !ok {
		t.Error("memberships missing from the report")
	}

	// The login's role facts: first, and a member of rampart_app only (the
	// service path has its own login).
	if len(snap.Roles) == 0 || snap.Roles[0].Name != pgtest.Login || snap.Roles[0].Inherited != true {
		t.Errorf("roles[0] = %+v, want the login first", snap.Roles)
	}
	for _, role := range snap.Roles {
		if role.Name == ServiceRole || role.BypassRLS || role.Superuser || role.CreateRole || role.Replication {
			t.Errorf("runtime login reaches role %+v", role)
		}
	}
	for _, f := range snap.Functions {
		if !f.SearchPathSet || f.SearchPath == "" {
			t.Errorf("function %s: search_path %q (set %v)", f, f.SearchPath, f.SearchPathSet)
		}
	}
	for _, tb := range snap.Tables {
		if tb.Name == "users" && (!tb.Runtime.Update || tb.Runtime.Insert) {
			t.Errorf("users privileges = %+v, want the column-level UPDATE and no INSERT", tb.Runtime)
		}
		if tb.Name == "venues" && len(tb.Policies) != 4 {
			t.Errorf("venues policies = %+v", tb.Policies)
		}
	}

	// The snapshot survives JSON, so it can be saved and audited elsewhere.
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back rlsaudit.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !rlsaudit.Evaluate(back).OK() {
		t.Error("the JSON round trip of the snapshot fails the audit")
	}
}

// TestCatalogProbeSeededDatabase runs the behavioural probe on a freshly
// migrated database with a row in every probed table: the migrations'
// policies show none of them to any probe.
func TestCatalogProbeSeededDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	adminExec(t, db.AdminURL, catalogSeedSQL...)
	snap, r := auditAs(t, db.AppURL)
	t.Log("\n" + reportText(t, r))

	// Every probed table holds a row, or the probe proves nothing about it.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	probed := 0
	for _, tb := range snap.Tables {
		if !rlsaudit.ProbeTarget(tb) {
			if len(tb.Probes) != 0 {
				t.Errorf("%s is no probe target but has probes %+v", tb.Ref(), tb.Probes)
			}
			continue
		}
		probed++
		var n int64
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tb.Schema, tb.Name}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("probed table %s holds no row: add one to catalogSeedSQL", tb.Ref())
		}
		var kinds []string
		for _, p := range tb.Probes {
			kinds = append(kinds, p.Probe)
			if p.Rows != 0 || p.Skipped != "" {
				t.Errorf("%s probe %+v, want 0 rows and not skipped", tb.Ref(), p)
			}
		}
		if !slices.Equal(kinds, rlsaudit.Probes) {
			t.Errorf("%s probes = %q, want %q", tb.Ref(), kinds, rlsaudit.Probes)
		}
	}
	for _, name := range []string{"organizations", "venues", "memberships", "audit_events", "invites", "api_tokens", "users", "sessions"} {
		if len(catalogTable(t, snap, name).Probes) == 0 {
			t.Errorf("%s was not probed", name)
		}
	}
	if probed < 8 {
		t.Errorf("probed %d tables, want at least 8", probed)
	}
	for _, f := range r.Findings {
		if f.Check == rlsaudit.CheckPolicyLeaksRows {
			t.Errorf("the migrations' policies leak: %s", f.Message)
		}
	}
}

func TestCatalogDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		seed bool // put a row into every probed table before the baseline
		sql  []string
		want []auditPair // exactly the findings the change adds
	}{
		{"rls not forced", false, []string{`ALTER TABLE venues NO FORCE ROW LEVEL SECURITY`}, []auditPair{{rlsaudit.CheckRLSNotForced, "venues"}}},
		{"rls disabled", false, []string{`ALTER TABLE venues DISABLE ROW LEVEL SECURITY`},
			[]auditPair{{rlsaudit.CheckRLSDisabled, "venues"}, {rlsaudit.CheckPolicyRLSOff, "venues"}}},
		{"rls disabled on live data", true, []string{`ALTER TABLE venues DISABLE ROW LEVEL SECURITY`},
			[]auditPair{{rlsaudit.CheckRLSDisabled, "venues"}, {rlsaudit.CheckPolicyRLSOff, "venues"}, {rlsaudit.CheckPolicyLeaksRows, "venues"}}},
		{"policy dropped", false, []string{`DROP POLICY venues_tenant_delete ON venues`}, []auditPair{{rlsaudit.CheckPolicyMissing, "venues"}}},
		{"always-true policy", false, []string{`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (true)`},
			[]auditPair{{rlsaudit.CheckPolicyAlwaysTrue, "venues"}, {rlsaudit.CheckPolicyNotTenantScoped, "venues"}}},
		{"always-true policy on live data", true, []string{`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (true)`},
			[]auditPair{{rlsaudit.CheckPolicyAlwaysTrue, "venues"}, {rlsaudit.CheckPolicyNotTenantScoped, "venues"}, {rlsaudit.CheckPolicyLeaksRows, "venues"}}},
		{"policy not tenant scoped", false, []string{`CREATE POLICY by_city ON venues FOR SELECT TO rampart_app USING (city <> '')`},
			[]auditPair{{rlsaudit.CheckPolicyNotTenantScoped, "venues"}}},

		// Policies whose text passes every text check: only the probe, on
		// live rows, sees them.
		{"OR true", true, []string{`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) OR true)`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "venues"}}},
		{"IS NULL OR", true, []string{`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING ((SELECT current_user_org_id()) IS NULL OR organization_id = (SELECT current_user_org_id()))`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "venues"}}},
		{"any admin", true, []string{`CREATE POLICY leak ON invites FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) OR (SELECT current_user_role()) = 'admin')`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "invites"}}},
		{"ALL policy to public", true, []string{`CREATE POLICY leak ON memberships TO PUBLIC USING (organization_id = (SELECT current_user_org_id()) OR (SELECT current_user_id()) IS NOT NULL)`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "memberships"}}},
		{"users without claims", true, []string{`CREATE POLICY leak ON users FOR SELECT TO rampart_app USING ((SELECT current_user_id()) IS NULL)`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "users"}}},
		{"sessions of any user", true, []string{`CREATE POLICY leak ON sessions FOR SELECT TO rampart_app USING ((SELECT current_user_id()) IS NOT NULL)`},
			[]auditPair{{rlsaudit.CheckPolicyLeaksRows, "sessions"}}},
		{"scoped policy on live data", true, []string{`CREATE POLICY extra ON venues FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) AND city = '')`}, nil},

		{"grant to public", false, []string{`GRANT SELECT ON venues TO PUBLIC`}, []auditPair{{rlsaudit.CheckPublicGrant, "venues"}}},
		{"truncate granted", false, []string{`GRANT TRUNCATE ON venues TO rampart_app`}, []auditPair{{rlsaudit.CheckTruncateGranted, "venues"}}},
		{"security definer without search_path", false, []string{
			`CREATE FUNCTION count_venues() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM public.venues'`,
		}, []auditPair{{rlsaudit.CheckSecDefNoSearchPath, "count_venues()"}}},
		{"security definer search_path without pg_temp", false, []string{
			`CREATE FUNCTION count_venues() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS 'SELECT count(*) FROM venues'`,
		}, []auditPair{{rlsaudit.CheckSecDefTempFirst, "count_venues()"}}},
		{"security definer search_path with pg_temp first", false, []string{
			`CREATE FUNCTION count_venues() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_temp, pg_catalog, public AS 'SELECT count(*) FROM venues'`,
		}, []auditPair{{rlsaudit.CheckSecDefTempFirst, "count_venues()"}}},
		{"security definer search_path with pg_temp last", false, []string{
			`CREATE FUNCTION count_venues() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS 'SELECT count(*) FROM venues'`,
		}, nil},
		{"view without security_invoker", false, []string{
			`CREATE VIEW v AS SELECT * FROM venues`,
			`GRANT SELECT ON v TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckViewNotSecurityInvoker, "v"}}},
		{"view over a view", false, []string{
			`CREATE VIEW v1 WITH (security_invoker = true) AS SELECT * FROM venues`,
			`CREATE VIEW v2 AS SELECT * FROM v1`,
		}, []auditPair{{rlsaudit.CheckViewNotSecurityInvoker, "v2"}}},
		{"readable materialized view", false, []string{
			`CREATE MATERIALIZED VIEW mv AS SELECT organization_id, name FROM venues`,
			`GRANT SELECT ON mv TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckMatViewTenantData, "mv"}}},
		{"new tenant table without rls", false, []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL, x int)`,
			`GRANT SELECT ON gadgets TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "gadgets"}, {rlsaudit.CheckRLSNotForced, "gadgets"}, {rlsaudit.CheckPolicyMissing, "gadgets"}, {rlsaudit.CheckOrgIndexMissing, "gadgets"}}},
		{"new tenant table without rls, with rows", false, []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL PRIMARY KEY, x int)`,
			`INSERT INTO gadgets VALUES (gen_random_uuid(), 1), (gen_random_uuid(), 2)`,
			`GRANT SELECT ON gadgets TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "gadgets"}, {rlsaudit.CheckRLSNotForced, "gadgets"}, {rlsaudit.CheckPolicyMissing, "gadgets"}, {rlsaudit.CheckPolicyLeaksRows, "gadgets"}}},
		{"new tenant table without grant or index", false, []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL, x int)`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "gadgets"}, {rlsaudit.CheckRLSNotForced, "gadgets"}, {rlsaudit.CheckOrgIndexMissing, "gadgets"}}},
		{"nullable organization", false, []string{
			`CREATE TABLE gizmos (organization_id uuid, x int)`,
			`CREATE INDEX ON gizmos (organization_id)`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "gizmos"}, {rlsaudit.CheckRLSNotForced, "gizmos"}, {rlsaudit.CheckOrgNullable, "gizmos"}}},
		{"reachable non-tenant table", false, []string{
			`CREATE TABLE settings (k text PRIMARY KEY, v text)`,
			`GRANT SELECT, UPDATE (v) ON settings TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "settings"}, {rlsaudit.CheckRLSNotForced, "settings"}, {rlsaudit.CheckPolicyMissing, "settings"}, {rlsaudit.CheckPolicyMissing, "settings"}}},
		{"table in another schema", false, []string{
			`CREATE SCHEMA extra`,
			`GRANT USAGE ON SCHEMA extra TO rampart_app`,
			`CREATE TABLE extra.notes (organization_id uuid NOT NULL PRIMARY KEY, body text)`,
			`GRANT SELECT ON extra.notes TO rampart_app`,
		}, []auditPair{{rlsaudit.CheckRLSDisabled, "extra.notes"}, {rlsaudit.CheckRLSNotForced, "extra.notes"}, {rlsaudit.CheckPolicyMissing, "extra.notes"}}},
		{"writable global table", false, []string{`GRANT INSERT ON rampart_schema_version TO rampart_app`},
			[]auditPair{{rlsaudit.CheckGlobalTableWritable, "rampart_schema_version"}}},
		{"table owned by the app role", false, []string{`ALTER TABLE venues OWNER TO rampart_app`},
			[]auditPair{{rlsaudit.CheckMemberOwner, "rampart_app"}, {rlsaudit.CheckTruncateGranted, "venues"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			if tc.seed {
				adminExec(t, db.AdminURL, catalogSeedSQL...)
			}
			_, before := auditAs(t, db.AppURL)
			adminExec(t, db.AdminURL, tc.sql...)
			_, r := auditAs(t, db.AppURL)
			assertNewFindings(t, before, r, false, tc.want...)
			t.Log("\n" + reportText(t, r))
			for _, row := range r.Tables {
				failed := slices.ContainsFunc(tc.want, func(p auditPair) bool { return p.object == row.Table })
				if failed && row.Verdict != rlsaudit.VerdictFail {
					t.Errorf("row %s verdict = %s, want FAIL", row.Table, row.Verdict)
				}
			}
		})
	}
}

// TestCatalogProbeLeakMessages: the finding names the table and the probes
// that saw rows, and only those.
func TestCatalogProbeLeakMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sql, table string
		saw, notSaw      []string
	}{
		{"IS NULL OR", `CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING ((SELECT current_user_org_id()) IS NULL OR organization_id = (SELECT current_user_org_id()))`,
			"venues", []string{"with no tenant context 1 row is visible", "with empty claims 1 row is visible"}, []string{"unknown organization"}},
		{"any admin", `CREATE POLICY leak ON invites FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) OR (SELECT current_user_role()) = 'admin')`,
			"invites", []string{"with the claims of an unknown organization and user (role admin) 1 row is visible"}, []string{"no tenant context", "(no role)", "empty claims"}},
		{"OR true", `CREATE POLICY leak ON audit_events FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) OR true)`,
			"audit_events", []string{"with no tenant context 2 rows are visible", "(role admin) 2 rows are visible", "(no role) 2 rows are visible", "with empty claims 2 rows are visible", "(audit_events_tenant_select, leak)"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			adminExec(t, db.AdminURL, catalogSeedSQL...)
			adminExec(t, db.AdminURL, tc.sql)
			snap, r := auditAs(t, db.AppURL)
			msg := auditFinding(t, r, rlsaudit.CheckPolicyLeaksRows, tc.table).Message
			for _, s := range tc.saw {
				if !strings.Contains(msg, s) {
					t.Errorf("no %q in %q", s, msg)
				}
			}
			for _, s := range tc.notSaw {
				if strings.Contains(msg, s) {
					t.Errorf("%q in %q", s, msg)
				}
			}
			for _, row := range r.Tables {
				if row.Table == tc.table && (row.Probe != rlsaudit.ProbeStatusLeak || row.Verdict != rlsaudit.VerdictFail) {
					t.Errorf("row %+v, want probe LEAK and FAIL", row)
				}
			}
			if len(catalogTable(t, snap, tc.table).Probes) != len(rlsaudit.Probes) {
				t.Errorf("probes of %s = %+v", tc.table, catalogTable(t, snap, tc.table).Probes)
			}
		})
	}
}

// TestCatalogProbeSkipsUnreadableTables: a table the runtime cannot SELECT
// is reported as skipped, and the probe goes on with the other tables in
// the same transaction (the savepoint rolled the error back).
func TestCatalogProbeSkipsUnreadableTables(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	adminExec(t, db.AdminURL, catalogSeedSQL...)
	adminExec(t, db.AdminURL,
		// Sorted first, so every other table is probed after the error.
		`CREATE TABLE aaa_secret (organization_id uuid NOT NULL PRIMARY KEY)`,
		`ALTER TABLE aaa_secret ENABLE ROW LEVEL SECURITY`,
		`ALTER TABLE aaa_secret FORCE ROW LEVEL SECURITY`,
		`INSERT INTO aaa_secret VALUES (gen_random_uuid())`,
		// A leak after it must still be found.
		`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (organization_id = (SELECT current_user_org_id()) OR true)`,
	)
	snap, r := auditAs(t, db.AppURL)
	secret := catalogTable(t, snap, "aaa_secret")
	if len(secret.Probes) != len(rlsaudit.Probes) {
		t.Fatalf("aaa_secret probes = %+v", secret.Probes)
	}
	for _, p := range secret.Probes {
		if p.Rows != 0 || !strings.Contains(p.Skipped, "permission denied") || !strings.Contains(p.Skipped, "42501") {
			t.Errorf("aaa_secret probe %+v, want skipped with permission denied", p)
		}
	}
	for _, row := range r.Tables {
		if row.Table == "aaa_secret" && (row.Probe != rlsaudit.ProbeStatusSkipped || !strings.Contains(row.ProbeSkipped, "no-claims: permission denied")) {
			t.Errorf("aaa_secret row = %+v", row)
		}
	}
	if r.Has(rlsaudit.CheckPolicyLeaksRows, "aaa_secret") {
		t.Error("a skipped probe reported as a leak")
	}
	if !r.Has(rlsaudit.CheckPolicyLeaksRows, "venues") {
		t.Errorf("the probe stopped after the skipped table:\n%s", reportText(t, r))
	}
	for _, name := range []string{"organizations", "users", "sessions", "memberships"} {
		for _, p := range catalogTable(t, snap, name).Probes {
			if p.Skipped != "" {
				t.Errorf("%s probe %+v skipped", name, p)
			}
		}
	}
	if out := reportText(t, r); !strings.Contains(out, "probes that could not run") || !strings.Contains(out, "aaa_secret: no-claims: permission denied") {
		t.Errorf("skipped probe not in the report:\n%s", out)
	}
}

// probeLogin creates a throw-away runtime login shaped like the real one
// (NOINHERIT, member of the given roles) and returns its URL for db. Roles
// are cluster-wide, so tests that alter a login's attributes alter this one,
// never the shared "rampart" login, and drop it when they end.
func probeLogin(t *testing.T, db *pgtest.DB, inRoles ...string) (name, databaseURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name = "rampart_probe_" + randomHex(t, 6)
	password := randomHex(t, 16)
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var create string
	if err := conn.QueryRow(ctx, "SELECT format('CREATE ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS PASSWORD %L', $1::text, $2::text)", name, password).Scan(&create); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, create); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropProbe(t, db, name) })
	for _, r := range inRoles {
		if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT %s TO %s", pgx.Identifier{r}.Sanitize(), pgx.Identifier{name}.Sanitize())); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(name, password)
	return name, u.String()
}

// dropProbe gives back what the probe owns in the test's database (and the
// database itself) and drops the role. It runs before the database is
// dropped (cleanups run last-registered first).
func dropProbe(t *testing.T, db *pgtest.DB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := pgx.Identifier{name}.Sanitize()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Errorf("drop probe %s: %v", name, err)
		return
	}
	defer conn.Close(context.Background())
	for _, q := range []string{"REASSIGN OWNED BY " + id + " TO " + OwnerRole, "DROP OWNED BY " + id, "DROP ROLE " + id} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Errorf("drop probe: %s: %v", q, err)
			return
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestCatalogRuntimeLogin(t *testing.T) {
	t.Parallel()
	type env struct{ login, database string }
	type want struct {
		check  rlsaudit.Check
		object func(e env) string
	}
	type tcase struct {
		name    string
		sql     func(e env) []string
		atLeast bool // SUPERUSER and inherited grants reach many checks
		want    []want
	}
	loginObj := func(e env) string { return e.login }
	fixed := func(name string) func(env) string { return func(env) string { return name } }
	var cases []tcase
	type w = want
	add := func(name string, atLeast bool, sql func(e env) []string, want ...want) {
		cases = append(cases, tcase{name, sql, atLeast, want})
	}
	grant := func(role string) func(e env) []string {
		return func(e env) []string { return []string{"GRANT " + role + " TO " + e.login} }
	}
	add("superuser", true, func(e env) []string { return []string{"ALTER ROLE " + e.login + " SUPERUSER"} },
		w{rlsaudit.CheckLoginSuperuser, loginObj})
	add("bypassrls", false, func(e env) []string { return []string{"ALTER ROLE " + e.login + " BYPASSRLS"} },
		w{rlsaudit.CheckLoginBypassRLS, loginObj})
	add("createrole", false, func(e env) []string { return []string{"ALTER ROLE " + e.login + " CREATEROLE"} },
		w{rlsaudit.CheckLoginCreateRole, loginObj})
	add("replication", false, func(e env) []string { return []string{"ALTER ROLE " + e.login + " REPLICATION"} },
		w{rlsaudit.CheckLoginReplication, loginObj})
	add("member of the service role", false, grant(ServiceRole), w{rlsaudit.CheckMemberBypassRLS, fixed(ServiceRole)})
	add("inherits the service role", true, func(e env) []string {
		return []string{"GRANT " + ServiceRole + " TO " + e.login, "ALTER ROLE " + e.login + " INHERIT"}
	}, w{rlsaudit.CheckMemberBypassRLS, fixed(ServiceRole)})
	add("owns a table", false, func(e env) []string { return []string{"ALTER TABLE venues OWNER TO " + e.login} },
		w{rlsaudit.CheckLoginOwnsObjects, loginObj}, w{rlsaudit.CheckTruncateGranted, fixed("venues")})
	add("owns the database", false, func(e env) []string { return []string{"ALTER DATABASE " + e.database + " OWNER TO " + e.login} },
		w{rlsaudit.CheckLoginOwnsDatabase, loginObj})
	// rampart_owner is a member of rampart_service (it hands the definer
	// functions to it), so its members reach BYPASSRLS too.
	add("member of the owner role", false, grant(OwnerRole),
		w{rlsaudit.CheckMemberOwner, fixed(OwnerRole)}, w{rlsaudit.CheckMemberBypassRLS, fixed(ServiceRole)})
	for _, role := range []string{"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"} {
		add("member of "+role, false, grant(role), w{rlsaudit.CheckMemberServerAccess, fixed(role)})
	}
	for _, role := range []string{"pg_read_all_data", "pg_write_all_data"} {
		add("member of "+role, false, grant(role), w{rlsaudit.CheckMemberAllData, fixed(role)})
	}
	add("member of a harmless predefined role", false, grant("pg_read_all_stats"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			// The runtime login's shape after the service-login split: a
			// NOINHERIT member of rampart_app only.
			login, loginURL := probeLogin(t, db, AppRole)
			e := env{login: pgx.Identifier{login}.Sanitize(), database: pgx.Identifier{db.Name}.Sanitize()}
			_, before := auditAs(t, loginURL)
			adminExec(t, db.AdminURL, tc.sql(e)...)
			_, r := auditAs(t, loginURL)
			var want []auditPair
			for _, x := range tc.want {
				want = append(want, auditPair{x.check, x.object(env{login: login, database: db.Name})})
			}
			assertNewFindings(t, before, r, tc.atLeast, want...)
			t.Log("\n" + reportText(t, r))
		})
	}
}

func TestCatalogServiceMembershipMessage(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	login, loginURL := probeLogin(t, db, AppRole, ServiceRole)
	_, r := auditAs(t, loginURL)
	msg := auditFinding(t, r, rlsaudit.CheckMemberBypassRLS, ServiceRole).Message
	for _, s := range []string{
		"can SET ROLE " + ServiceRole + " (BYPASSRLS)",
		"the service path has its own login",
		"fix: REVOKE " + ServiceRole + " FROM " + login,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("no %q in %q", s, msg)
		}
	}

	// Through rampart_owner (a member of rampart_service): revoke that.
	login, loginURL = probeLogin(t, db, AppRole, OwnerRole)
	_, r = auditAs(t, loginURL)
	msg = auditFinding(t, r, rlsaudit.CheckMemberBypassRLS, ServiceRole).Message
	for _, s := range []string{
		"can SET ROLE " + ServiceRole + " (through " + OwnerRole + ") (BYPASSRLS)",
		"fix: REVOKE " + OwnerRole + " FROM " + login,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("no %q in %q", s, msg)
		}
	}
}

func TestCatalogMemberOfPrivilegedRole(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, attribute string
		check           rlsaudit.Check
	}{
		{"bypassrls", "BYPASSRLS", rlsaudit.CheckMemberBypassRLS},
		{"superuser", "SUPERUSER", rlsaudit.CheckMemberSuperuser},
		{"createrole", "CREATEROLE", rlsaudit.CheckMemberCreateRole},
		{"replication", "REPLICATION", rlsaudit.CheckMemberReplication},
	}
	for _, tc := range cases {
		for _, transitive := range []bool{false, true} {
			name := tc.name
			if transitive {
				name += " through another role"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				db := pgtest.New(t)
				login, loginURL := probeLogin(t, db, AppRole)
				_, before := auditAs(t, loginURL)
				group := login + "_group"
				id := pgx.Identifier{group}.Sanitize()
				stmts := []string{"CREATE ROLE " + id + " NOLOGIN " + tc.attribute}
				// Registered after the probe's cleanup, so they run first.
				t.Cleanup(func() { adminExec(t, db.AdminURL, "DROP ROLE "+id) })
				if transitive {
					mid := pgx.Identifier{login + "_mid"}.Sanitize()
					stmts = append(stmts, "CREATE ROLE "+mid+" NOLOGIN", "GRANT "+id+" TO "+mid, "GRANT "+mid+" TO "+pgx.Identifier{login}.Sanitize())
					t.Cleanup(func() { adminExec(t, db.AdminURL, "DROP ROLE "+mid) })
				} else {
					stmts = append(stmts, "GRANT "+id+" TO "+pgx.Identifier{login}.Sanitize())
				}
				adminExec(t, db.AdminURL, stmts...)
				snap, r := auditAs(t, loginURL)
				assertNewFindings(t, before, r, false, auditPair{tc.check, group})
				// The fix revokes what was granted to the login.
				via, fix := []string{group}, "fix: REVOKE "+group+" FROM "
				if transitive {
					via, fix = []string{login + "_mid"}, "fix: REVOKE "+login+"_mid FROM "
				}
				for _, role := range snap.Roles {
					if role.Name == group && !slices.Equal(role.GrantedVia, via) {
						t.Errorf("%s granted via %q, want %q", group, role.GrantedVia, via)
					}
				}
				if msg := auditFinding(t, r, tc.check, group).Message; !strings.Contains(msg, fix+login) {
					t.Errorf("no %q in %q", fix+login, msg)
				}
			})
		}
	}
}

func TestCatalogNeedsTheAppRole(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	_, loginURL := probeLogin(t, db, ServiceRole)
	ctx := context.Background()
	s, err := Open(ctx, loginURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, err = s.Catalog(ctx)
	if err == nil || rampart.ErrorKind(err) != rampart.KindUnavailable {
		t.Fatalf("Catalog as a login outside %s: err = %v, want kind unavailable", AppRole, err)
	}
	t.Log(err)
}
