package trust_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/api"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/storetest"
	"github.com/rampart-dev/rampart/internal/trust"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The storetest fixture's audit key (storetest.New signs with it).
func testKeys(t *testing.T) *audit.Keyring {
	t.Helper()
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	*storetest.Fixture
	env *trust.Env
}

func setup(t *testing.T) fixture {
	t.Helper()
	f := storetest.New(t)
	ring, err := fieldcrypt.ParseRing(storetest.FieldKeySpec)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, err := auth.NewSealer([]auth.HMACKey{{ID: "s1", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	tk, err := auth.ParseTokenKeys("t1:" + b64(seed))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(tk, "rampart", "rampart-api")
	if err != nil {
		t.Fatal(err)
	}
	outbox, err := mail.NewOutbox(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Options{Store: f.Store, Sealer: sealer, Tokens: tokens, Mailer: outbox, Version: "test", BaseURL: "https://rampart.test"})
	env := &trust.Env{Store: f.Store, Handler: h, Tiers: ratelimit.DefaultTiers(), AuditKeys: testKeys(t), FieldKeys: ring,
		SessionKeyIDs: []string{"s1"}, TokenKeyIDs: []string{"t1"}, Version: "test", Drills: drills{ok: true}}
	return fixture{Fixture: f, env: env}
}

func b64(b []byte) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	_ = enc.Encode(b) // []byte encodes as standard base64
	return strings.Trim(strings.TrimSpace(buf.String()), `"`)
}

// drills is a DrillSource with one drill an hour old.
type drills struct{ ok, none bool }

func (d drills) LastRestoreDrill(context.Context) (trust.Drill, bool, error) {
	if d.none {
		return trust.Drill{}, false, nil
	}
	return trust.Drill{At: time.Now().Add(-time.Hour), OK: d.ok, Seconds: 1.5, Summary: "row counts match"}, true, nil
}

func run(t *testing.T, env *trust.Env, ids ...string) trust.Report {
	t.Helper()
	var checks []trust.Check
	for _, c := range trust.Checks {
		if len(ids) == 0 || contains(ids, c.ID) {
			checks = append(checks, c)
		}
	}
	return trust.Run(context.Background(), env, checks)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func status(t *testing.T, rep trust.Report, id string) trust.Result {
	t.Helper()
	r, ok := rep.Control(id)
	if !ok {
		t.Fatalf("no control %s in the report", id)
	}
	return r
}

// fillSQL gives a third organization a row in every tenant table (as the
// superuser), so the cross-tenant probe has another tenant's rows to find
// everywhere. Audit events are the store's own (a forged one would fail
// the chain).
var fillSQL = []string{
	`INSERT INTO organizations (id, name, slug) VALUES ('00000000-0000-4000-8000-00000000000a', 'Initech', 'initech')`,
	`INSERT INTO users (id, email) VALUES ('00000000-0000-4000-8000-0000000000a1', 'ann@initech.test')`,
	`INSERT INTO memberships (organization_id, user_id, role) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000a1', 'admin')`,
	`INSERT INTO venues (organization_id, code, name) VALUES ('00000000-0000-4000-8000-00000000000a', 'HALL', 'Hall')`,
	`INSERT INTO invites (organization_id, email, role, token_hash, expires_at, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'bob@initech.test', 'viewer', decode(repeat('ab', 32), 'hex'), now() + interval '1 day', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO api_tokens (organization_id, name, role, expires_at, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'ci', 'viewer', now() + interval '1 day', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO proposals (organization_id, id, title, venue_code, author_id) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'Gala', 'HALL', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO ai_jobs (organization_id, kind, proposal_id, venue_code, agent_type, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'proposal_generation', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'proposal_writer', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO bom_lines (organization_id, id, proposal_id, venue_code, position, item, category, quantity, unit, created_by, updated_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 0, 'Item', 'audio', 1, 'day', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO sows (organization_id, id, proposal_id, venue_code, title, amount_minor, currency, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'SOW', 100, 'EUR', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO budget_lines (organization_id, id, proposal_id, venue_code, category, description, currency, planned_minor, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 'audio', 'PA', 'EUR', 100, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO change_orders (organization_id, id, sow_id, venue_code, description, amount_delta_minor, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000c1', 'HALL', 'More', 10, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO integration_credentials (organization_id, id, provider, status, refresh_token_enc, secret_key_id, connected_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), 'ledger', 'connected', decode(repeat('01', 40), 'hex'), 's1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO integration_flows (organization_id, id, provider, user_id, session_id, state_hash, verifier_enc, secret_key_id, expires_at) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), 'ledger', '00000000-0000-4000-8000-0000000000a1', gen_random_uuid(), decode(repeat('ab', 32), 'hex'), decode(repeat('01', 40), 'hex'), 's1', now() + interval '10 minutes')`,
	`INSERT INTO org_kill_switches (organization_id, active, reason, changed_by) VALUES ('00000000-0000-4000-8000-00000000000a', false, 'test', 'test')`,
	`INSERT INTO rampart_processes (id, role, hostname, pid, version) VALUES ('00000000-0000-4000-8000-0000000000f1', 'serve', 'host', 42, 'test')`,
	`INSERT INTO org_killswitch_acks (organization_id, switch_changed_at, process_id, active, installed_at) VALUES ('00000000-0000-4000-8000-00000000000a', now(), '00000000-0000-4000-8000-0000000000f1', false, now())`,
	`INSERT INTO ai_budgets (organization_id, monthly_tokens) VALUES ('00000000-0000-4000-8000-00000000000a', 1000)`,
	`INSERT INTO organization_features (organization_id, ai, chat, reason, updated_by) VALUES ('00000000-0000-4000-8000-00000000000a', true, false, 'test', 'test')`,
	`INSERT INTO ai_usage (organization_id, month) VALUES ('00000000-0000-4000-8000-00000000000a', date_trunc('month', now())::date)`,
	`INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale, requested_by, created_at, expires_at) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'bom_drafter', 'bom_lines', '{"bom_lines": []}', 'seed', '00000000-0000-4000-8000-0000000000a1', now(), now() + interval '7 days')`,
	`INSERT INTO vendors (organization_id, id, name, category, price_band, lead_time_days, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000d1', 'Vendor', 'audio', 2, 7, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO crew_members (organization_id, id, name, skills, currency, day_rate_enc, field_key_id, created_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000e1', 'Crew', '{rigging}', 'EUR', decode(repeat('01', 40), 'hex'), 'f1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO vendor_choices (organization_id, id, proposal_id, venue_code, category, vendor_id, chosen_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 'audio', '00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO crew_assignments (organization_id, id, proposal_id, venue_code, crew_member_id, starts_on, ends_on, assigned_by) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', '00000000-0000-4000-8000-0000000000e1', '2027-01-01', '2027-01-02', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO learned_weights (organization_id, ranker, feature, adjustment, observations) VALUES ('00000000-0000-4000-8000-00000000000a', 'vendor_ranker', 'price_band', 0.05, 1)`,
	`INSERT INTO learning_feedback (organization_id, ranker, approved, signals, actor_id) VALUES ('00000000-0000-4000-8000-00000000000a', 'vendor_ranker', true, '{"price_band": 1}', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO proposal_chat_messages (organization_id, id, proposal_id, venue_code, asked_by, question, costed) VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', '00000000-0000-4000-8000-0000000000a1', 'How many crew?', false)`,
	`INSERT INTO attachments (organization_id, proposal_id, venue_code, filename, content_type, size_bytes, sha256, content, uploaded_by) VALUES ('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-0000000000b1', 'HALL', 'rider.txt', 'text/plain', 5, sha256('hello'::bytea), 'hello'::bytea, '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO billing_accounts (organization_id, stripe_customer_id, plan, status, monthly_token_cap, linked_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'cus_Initech', 'team', 'active', 20000000, 'test')`,
	`INSERT INTO privacy_requests (organization_id, kind, subject_user_id, requested_by) VALUES ('00000000-0000-4000-8000-00000000000a', 'export', '00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a1')`,
	`INSERT INTO rate_limit_refusals (organization_id, day, tier, refusals) VALUES ('00000000-0000-4000-8000-00000000000a', current_date, 'api', 3)`,
}

// TestEveryControlMetOnSeededInstall: on a migrated, seeded install every
// control is met, and the cross-tenant probe had another tenant's rows to
// find in every tenant table.
func TestEveryControlMetOnSeededInstall(t *testing.T) {
	f := setup(t)
	for _, q := range fillSQL {
		exec(t, f, q)
	}
	rep := run(t, f.env)
	if len(rep.Controls) != len(trust.Checks) {
		t.Fatalf("%d controls reported, %d registered", len(rep.Controls), len(trust.Checks))
	}
	t.Logf("report in %.3f s", rep.Seconds)
	for _, c := range rep.Controls {
		t.Logf("%-22s %-14s %.3f s  %s", c.ID, c.Status, c.Seconds, c.Summary)
		if c.Status != trust.Met {
			t.Errorf("%s: %s: %s\n  %s", c.ID, c.Status, c.Summary, strings.Join(c.Evidence, "\n  "))
		}
		if len(c.SOC2) == 0 {
			t.Errorf("%s maps to no SOC 2 criterion", c.ID)
		}
	}
	if !rep.OK() || rep.Summary.Met != len(trust.Checks) {
		t.Errorf("summary %+v", rep.Summary)
	}
	probe := status(t, rep, trust.IDCrossTenant)
	tables, ok := probe.Data.([]trust.ProbeTable)
	if !ok || len(tables) < 15 {
		t.Fatalf("probe data: %T with %d tables", probe.Data, len(tables))
	}
	for _, tb := range tables {
		if tb.ForeignRows <= 0 || tb.Rows < tb.ForeignRows {
			t.Errorf("%s: no other tenant's rows to find (%d): the probe proves nothing there", tb.Table, tb.ForeignRows)
		}
		if len(tb.Outcomes) != 4*10 || tb.Verdict != "sealed" {
			t.Errorf("%s: %d outcomes, verdict %s", tb.Table, len(tb.Outcomes), tb.Verdict)
		}
	}
}

// TestCrossTenantProbeLeavesNothingBehind: the probe's inserts, updates
// and deletes are rolled back: every tenant table's rows and the audit
// log are the same before and after (counted as the superuser).
func TestCrossTenantProbeLeavesNothingBehind(t *testing.T) {
	f := setup(t)
	before := tableCounts(t, f)
	rep := run(t, f.env, trust.IDCrossTenant)
	if r := status(t, rep, trust.IDCrossTenant); r.Status != trust.Met {
		t.Fatalf("probe: %s: %s\n%s", r.Status, r.Summary, strings.Join(r.Evidence, "\n"))
	}
	after := tableCounts(t, f)
	if len(before) < 10 {
		t.Fatalf("only %d tenant tables counted", len(before))
	}
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows before the probe, %d after", table, n, after[table])
		}
	}
}

// tableCounts counts the rows of every table with organization_id (and
// organizations), as the superuser.
func tableCounts(t *testing.T, f fixture) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT DISTINCT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r','p') AND n.nspname = 'public' UNION SELECT 'organizations'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tb}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

// TestNotForcedTableTurnsLinesNotMet: a tenant table whose RLS is no
// longer forced (the owner, who is exempt from unforced RLS, could then
// read every tenant's rows) turns the rls-audit line to "not met", naming
// the table.
func TestNotForcedTableTurnsLinesNotMet(t *testing.T) {
	f := setup(t)
	exec(t, f, "ALTER TABLE venues NO FORCE ROW LEVEL SECURITY")
	rep := run(t, f.env, trust.IDRLSAudit, trust.IDRuntimeRole)
	r := status(t, rep, trust.IDRLSAudit)
	if r.Status != trust.NotMet || !strings.Contains(r.Summary, "venues") {
		t.Errorf("rls-audit after NO FORCE on venues: %s: %s", r.Status, r.Summary)
	}
	if r := status(t, rep, trust.IDRuntimeRole); r.Status != trust.Met {
		t.Errorf("runtime-role: %s: %s (only the table changed)", r.Status, r.Summary)
	}
	if rep.OK() {
		t.Error("the report is OK with a control not met")
	}
}

// TestEditedAuditEventTurnsLineNotMet: an audit event edited in place (as
// the owner, past the store) turns the audit-chain line to "not met".
func TestEditedAuditEventTurnsLineNotMet(t *testing.T) {
	f := setup(t)
	rep := run(t, f.env, trust.IDAuditChain)
	if r := status(t, rep, trust.IDAuditChain); r.Status != trust.Met {
		t.Fatalf("before the edit: %s: %s", r.Status, r.Summary)
	}
	exec(t, f, "ALTER TABLE audit_events DISABLE TRIGGER USER")
	exec(t, f, "UPDATE audit_events SET reason = 'nothing to see' WHERE id = (SELECT min(id) FROM audit_events)")
	exec(t, f, "ALTER TABLE audit_events ENABLE TRIGGER USER")
	rep = run(t, f.env, trust.IDAuditChain)
	if r := status(t, rep, trust.IDAuditChain); r.Status != trust.NotMet {
		t.Errorf("after the edit: %s: %s", r.Status, r.Summary)
	}
}

// TestLeakingPolicyTurnsProbeNotMet: a policy that lets every tenant
// through (added as the owner) is caught by the cross-tenant probe, which
// names the table and the verb; nothing it did remains.
func TestLeakingPolicyTurnsProbeNotMet(t *testing.T) {
	f := setup(t)
	exec(t, f, "CREATE POLICY leak ON venues FOR ALL TO rampart_app USING (true) WITH CHECK (true)")
	before := tableCounts(t, f)
	rep := run(t, f.env, trust.IDCrossTenant)
	r := status(t, rep, trust.IDCrossTenant)
	if r.Status != trust.NotMet {
		t.Fatalf("probe with a leaking policy: %s: %s", r.Status, r.Summary)
	}
	var sawSelect, sawDelete bool
	for _, e := range r.Evidence {
		sawSelect = sawSelect || strings.HasPrefix(e, "LEAK venues: select")
		sawDelete = sawDelete || strings.HasPrefix(e, "LEAK venues: delete")
	}
	if !sawSelect || !sawDelete {
		t.Errorf("the evidence does not name the leaking verbs of venues:\n%s", strings.Join(r.Evidence, "\n"))
	}
	after := tableCounts(t, f)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows before the probe, %d after", table, n, after[table])
		}
	}
}

// TestRestoreDrillLines: no drill source is "not configured", a failed
// drill "not met".
func TestRestoreDrillLines(t *testing.T) {
	f := setup(t)
	f.env.Drills = nil
	if r := status(t, run(t, f.env, trust.IDRestoreDrill), trust.IDRestoreDrill); r.Status != trust.NotConfigured {
		t.Errorf("no source: %s", r.Status)
	}
	f.env.Drills = drills{none: true}
	if r := status(t, run(t, f.env, trust.IDRestoreDrill), trust.IDRestoreDrill); r.Status != trust.NotConfigured {
		t.Errorf("no drill: %s", r.Status)
	}
	f.env.Drills = drills{ok: false}
	if r := status(t, run(t, f.env, trust.IDRestoreDrill), trust.IDRestoreDrill); r.Status != trust.NotMet {
		t.Errorf("failed drill: %s", r.Status)
	}
}

func exec(t *testing.T, f fixture, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestBrokenHeadersTurnLineNotMet: a handler whose answers lose their CSP
// and framing protection (a proxy stripping them, say) turns the header
// line to "not met", naming what is missing.
func TestBrokenHeadersTurnLineNotMet(t *testing.T) {
	f := setup(t)
	real := f.env.Handler
	f.env.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		real.ServeHTTP(stripping{w}, r)
	})
	r := status(t, run(t, f.env, trust.IDHeaders), trust.IDHeaders)
	if r.Status != trust.NotMet || !strings.Contains(r.Summary, "no CSP nonce") {
		t.Errorf("stripped headers: %s: %s", r.Status, r.Summary)
	}
	f.env.Handler = nil
	if r := status(t, run(t, f.env, trust.IDHeaders), trust.IDHeaders); r.Status != trust.NotConfigured {
		t.Errorf("no handler: %s", r.Status)
	}
}

// stripping drops the CSP and X-Frame-Options before the header is written.
type stripping struct{ http.ResponseWriter }

func (s stripping) WriteHeader(code int) {
	s.Header().Del("Content-Security-Policy")
	s.Header().Del("X-Frame-Options")
	s.ResponseWriter.WriteHeader(code)
}

func (s stripping) Write(b []byte) (int, error) {
	s.Header().Del("Content-Security-Policy")
	s.Header().Del("X-Frame-Options")
	return s.ResponseWriter.Write(b)
}

// TestKeyRingLines: a value sealed under a key the ring lacks, or a
// signing key older than the bound, turns the key line to "not met"; the
// report names key ids, never key material.
func TestKeyRingLines(t *testing.T) {
	f := setup(t)
	for _, q := range fillSQL[:7] {
		exec(t, f, q)
	}
	exec(t, f, `INSERT INTO bom_lines (organization_id, id, proposal_id, venue_code, position, item, category, quantity, unit, created_by, updated_by, currency, unit_cost_enc, field_key_id)
		VALUES ('00000000-0000-4000-8000-00000000000a', gen_random_uuid(), '00000000-0000-4000-8000-0000000000b1', 'HALL', 0, 'Item', 'audio', 1, 'day',
		'00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a1', 'EUR', '\x01' || decode(repeat('00', 40), 'hex'), 'f1')`)
	r := status(t, run(t, f.env, trust.IDKeyRings), trust.IDKeyRings)
	if r.Status != trust.Met {
		t.Fatalf("ring with f1: %s: %s", r.Status, r.Summary)
	}
	other, err := fieldcrypt.ParseRing("f2:" + b64(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	f.env.FieldKeys = other
	r = status(t, run(t, f.env, trust.IDKeyRings), trust.IDKeyRings)
	if r.Status != trust.NotMet || !strings.Contains(r.Summary, "under key f1, which the ring lacks") {
		t.Errorf("ring without f1: %s: %s", r.Status, r.Summary)
	}
	f.env.FieldKeys = nil
	f.env.KeysCreated = time.Now().Add(-400 * 24 * time.Hour)
	r = status(t, run(t, f.env, trust.IDKeyRings), trust.IDKeyRings)
	if r.Status != trust.NotMet || !strings.Contains(r.Summary, "rotate it") {
		t.Errorf("keys 400 days old: %s: %s", r.Status, r.Summary)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"0123456789abcdef", b64([]byte("0123456789abcdef0123456789abcdef")), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the key line carries key material %q", secret)
		}
	}
}
