package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
)

// The catalog-driven isolation check. It discovers every tenant table from
// the live catalog (every table with an organization_id column, plus the
// tenant root organizations), so a table added by a later migration is
// covered without anyone writing a test for it. For each table it asserts
// the catalog (RLS enabled and forced, a policy for every verb the runtime
// role holds) and the behaviour: as the runtime role in org A's context,
// and with no tenant context at all, it tries to read, insert (with org B's
// id), update and delete org B's rows, and asserts nothing was seen or
// changed.

// tenantTable is a table found by discovery; key is its tenant column.
type tenantTable struct {
	name string
	key  string
	cols []string // insertable columns (no identity or generated columns)
}

const sqlDiscoverTenantTables = `
SELECT c.relname,
       CASE WHEN c.relname = 'organizations' THEN 'id' ELSE 'organization_id' END AS key,
       array(SELECT a2.attname::text FROM pg_attribute a2
             WHERE a2.attrelid = c.oid AND a2.attnum > 0 AND NOT a2.attisdropped
               AND a2.attidentity = '' AND a2.attgenerated = ''
             ORDER BY a2.attnum) AS cols
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND (c.relname = 'organizations'
       OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'organization_id' AND NOT a.attisdropped))
ORDER BY c.relname`

// sqlCatalogViolations lists, per tenant table, what the catalog lacks:
// RLS off, RLS not forced, or a granted verb without a permissive policy
// that applies to rampart_app.
const sqlCatalogViolations = `
WITH verbs(verb, cmd) AS (VALUES ('SELECT', 'r'), ('INSERT', 'a'), ('UPDATE', 'w'), ('DELETE', 'd'))
SELECT c.relname || ': RLS is not enabled' FROM pg_class c WHERE c.relname = ANY($1) AND NOT c.relrowsecurity
UNION ALL
SELECT c.relname || ': RLS is not forced' FROM pg_class c WHERE c.relname = ANY($1) AND NOT c.relforcerowsecurity
UNION ALL
SELECT c.relname || ': no policy for ' || v.verb
FROM pg_class c CROSS JOIN verbs v
WHERE c.relname = ANY($1)
  AND (has_table_privilege('rampart_app', c.oid, v.verb)
       OR (v.verb IN ('INSERT', 'UPDATE', 'SELECT') AND has_any_column_privilege('rampart_app', c.oid, v.verb)))
  AND NOT EXISTS (
    SELECT 1 FROM pg_policy p
    WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN (v.cmd, '*')
      AND (0 = ANY (p.polroles) OR 'rampart_app'::regrole = ANY (p.polroles)))
ORDER BY 1`

type isolationFixture struct {
	a, b   rampart.Claims
	tables []tenantTable
}

// seedTenant gives one organization at least one row in every tenant
// table. A new tenant table must be seeded here; the check fails until it is.
func seedTenant(ctx context.Context, tx *ServiceTx, slug string) (rampart.Claims, error) {
	org, err := tx.Provision().CreateOrganization(ctx, "Org "+slug, slug)
	if err != nil {
		return rampart.Claims{}, err
	}
	admin, err := tx.Provision().UpsertUser(ctx, "admin@"+slug+".example", "Admin "+slug)
	if err != nil {
		return rampart.Claims{}, err
	}
	if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: admin.ID, Role: rampart.RoleAdmin}); err != nil {
		return rampart.Claims{}, err
	}
	vm, err := tx.Provision().UpsertUser(ctx, "venues@"+slug+".example", "Venue manager "+slug)
	if err != nil {
		return rampart.Claims{}, err
	}
	if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: vm.ID, Role: rampart.RoleVenueManager, VenueCodes: []string{"HALL-A"}}); err != nil {
		return rampart.Claims{}, err
	}
	for _, code := range []string{"HALL-A", "HALL-B"} {
		if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: code, Name: code + " " + slug}); err != nil {
			return rampart.Claims{}, err
		}
	}
	// Invites and tokens are granted in a tenant transaction only: seed
	// them as the admin would, on this service transaction's connection.
	asAdmin := &TenantTx{tenant{txn: tx.txn, tc: rampart.Claims{OrganizationID: org.ID, UserID: admin.ID, Role: rampart.RoleAdmin}}}
	hash := sha256.Sum256([]byte("invite for " + slug))
	if _, err := asAdmin.Invites().Create(ctx, rampart.Invite{OrganizationID: org.ID, Email: "new@" + slug + ".example", Role: rampart.RoleViewer}, hash[:], ClientInfo{}); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := asAdmin.Tokens().Create(ctx, rampart.APIToken{OrganizationID: org.ID, Name: "ci " + slug, Role: rampart.RoleViewer,
		ExpiresAt: time.Now().Add(time.Hour)}, ClientInfo{}); err != nil {
		return rampart.Claims{}, err
	}
	// The AI pipeline's tables: a proposal per venue, a job, the
	// organization's kill switch, budget and usage.
	for _, code := range []string{"HALL-A", "HALL-B"} {
		if _, err := tx.exec(ctx, `WITH p AS (INSERT INTO proposals (organization_id, title, venue_code, brief, author_id)
VALUES ($1, $2, $3, 'A brief', $4) RETURNING organization_id, id, venue_code)
INSERT INTO ai_jobs (organization_id, kind, proposal_id, venue_code, agent_type, requested_by)
SELECT organization_id, 'proposal_generation', id, venue_code, 'proposal_writer', $4 FROM p`,
			org.ID, "Proposal "+code+" "+slug, code, admin.ID); err != nil {
			return rampart.Claims{}, err
		}
	}
	// A statement of work, a budget line and a change order on each
	// proposal (issue 15).
	if _, err := tx.exec(ctx, `WITH s AS (
  INSERT INTO sows (organization_id, id, proposal_id, venue_code, title, amount_minor, currency, created_by)
  SELECT organization_id, gen_random_uuid(), id, venue_code, 'SOW', 100, 'EUR', $2 FROM proposals WHERE organization_id = $1
  RETURNING organization_id, id, venue_code),
b AS (
  INSERT INTO budget_lines (organization_id, id, proposal_id, venue_code, category, description, currency, planned_minor, created_by)
  SELECT organization_id, gen_random_uuid(), id, venue_code, 'audio', 'PA', 'EUR', 100, $2 FROM proposals WHERE organization_id = $1)
INSERT INTO change_orders (organization_id, id, sow_id, venue_code, description, amount_delta_minor, requested_by)
SELECT organization_id, gen_random_uuid(), id, venue_code, 'More', 10, $2 FROM s`, org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// A bill-of-materials line on each proposal (a placeholder envelope:
	// isolation does not open it).
	if _, err := tx.exec(ctx, `INSERT INTO bom_lines (organization_id, id, proposal_id, venue_code, position, item, category, quantity, unit,
currency, unit_cost_enc, field_key_id, created_by, updated_by)
SELECT organization_id, gen_random_uuid(), id, venue_code, 0, 'Item', 'audio', 1, 'day', 'EUR', decode(repeat('01', 40), 'hex'), 'f1', $2, $2
FROM proposals WHERE organization_id = $1`, org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// A chat exchange on each proposal (migration 019).
	if _, err := tx.exec(ctx, `INSERT INTO proposal_chat_messages (organization_id, id, proposal_id, venue_code, asked_by, question, costed)
SELECT organization_id, gen_random_uuid(), id, venue_code, $2, 'How many crew?', false FROM proposals WHERE organization_id = $1`, org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// An integration credential and a flow in progress (migration 015;
	// placeholder envelopes: isolation does not open them).
	if _, err := tx.exec(ctx, `INSERT INTO integration_credentials (organization_id, id, provider, status, refresh_token_enc, secret_key_id, connected_by)
VALUES ($1, gen_random_uuid(), 'ledger', 'connected', decode(repeat('01', 40), 'hex'), 's1', $2)`, org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO integration_flows (organization_id, id, provider, user_id, session_id, state_hash, verifier_enc, secret_key_id, expires_at)
VALUES ($1, gen_random_uuid(), 'ledger', $2, gen_random_uuid(), decode(repeat('ab', 32), 'hex'), decode(repeat('01', 40), 'hex'), 's1', now() + interval '10 minutes')`,
		org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// Vendors, crew, the choices made from them on each proposal, and the
	// learned ranking state (migration 018; a placeholder envelope for the
	// day rate: isolation does not open it).
	if _, err := tx.exec(ctx, `WITH v AS (
  INSERT INTO vendors (organization_id, id, name, category, price_band, lead_time_days, created_by)
  VALUES ($1, gen_random_uuid(), 'Vendor', 'audio', 2, 7, $2) RETURNING organization_id, id),
m AS (
  INSERT INTO crew_members (organization_id, id, name, skills, currency, day_rate_enc, field_key_id, created_by)
  VALUES ($1, gen_random_uuid(), 'Crew', '{rigging}', 'EUR', decode(repeat('01', 40), 'hex'), 'f1', $2) RETURNING organization_id, id),
c AS (
  INSERT INTO vendor_choices (organization_id, id, proposal_id, venue_code, category, vendor_id, chosen_by)
  SELECT p.organization_id, gen_random_uuid(), p.id, p.venue_code, 'audio', v.id, $2 FROM proposals p, v WHERE p.organization_id = $1)
INSERT INTO crew_assignments (organization_id, id, proposal_id, venue_code, crew_member_id, starts_on, ends_on, assigned_by)
SELECT p.organization_id, gen_random_uuid(), p.id, p.venue_code, m.id, '2027-01-01', '2027-01-02', $2 FROM proposals p, m WHERE p.organization_id = $1`,
		org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := tx.exec(ctx, `WITH w AS (INSERT INTO learned_weights (organization_id, ranker, feature, adjustment, observations)
VALUES ($1, 'vendor_ranker', 'price_band', 0.05, 1))
INSERT INTO learning_feedback (organization_id, ranker, approved, signals, actor_id) VALUES ($1, 'vendor_ranker', true, '{"price_band": 1}', $2)`,
		org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := tx.KillSwitches().SetOrg(ctx, org.ID, false, "seeded", "test"); err != nil {
		return rampart.Claims{}, err
	}
	// A running process's acknowledgement of the organization's switch
	// (migration 025).
	if _, err := tx.exec(ctx, `WITH p AS (INSERT INTO rampart_processes (id, role, hostname, pid, version) VALUES (gen_random_uuid(), 'serve', 'host-' || $2, 42, 'test') RETURNING id)
INSERT INTO org_killswitch_acks (organization_id, switch_changed_at, process_id, active, installed_at, jobs_stopped)
SELECT $1, now(), p.id, false, now(), 1 FROM p`, org.ID, slug); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO ai_budgets (organization_id, monthly_tokens) VALUES ($1, 100000)`, org.ID); err != nil {
		return rampart.Claims{}, err
	}
	// The organization's feature flags (migration 024): read-only for
	// every organization role.
	if _, err := tx.OrgFeatures().Set(ctx, org.ID, map[rampart.Feature]bool{rampart.FeatureChat: false}, "seeded", "test"); err != nil {
		return rampart.Claims{}, err
	}
	if _, err := tx.exec(ctx, sqlEnsureUsage, org.ID); err != nil {
		return rampart.Claims{}, err
	}
	// The organization's billing plan state (migration 020).
	if _, err := tx.exec(ctx, `INSERT INTO billing_accounts (organization_id, stripe_customer_id, plan, status, monthly_token_cap, linked_by)
VALUES ($1, 'cus_' || replace($2, '-', ''), 'team', 'active', 20000000, 'test')`, org.ID, slug); err != nil {
		return rampart.Claims{}, err
	}
	// Rate-limit refusal counters (migration 026), written on the service
	// path as a flush writes them.
	if _, err := tx.exec(ctx, sqlAddRateLimitRefusals, []uuid.UUID{org.ID, org.ID}, []time.Time{time.Now().UTC(), time.Now().UTC()},
		[]string{"api", "org-api"}, []int64{3, 1}); err != nil {
		return rampart.Claims{}, err
	}
	// An attachment on each proposal (migration 013).
	if _, err := tx.exec(ctx, `INSERT INTO attachments (organization_id, proposal_id, venue_code, filename, content_type, size_bytes, sha256, content, uploaded_by)
SELECT organization_id, id, venue_code, 'rider.txt', 'text/plain', 5, sha256('hello'::bytea), 'hello'::bytea, $2 FROM proposals WHERE organization_id = $1`,
		org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// A pending agent proposal on each proposal (migration 017).
	if _, err := tx.exec(ctx, `INSERT INTO agent_proposals (organization_id, proposal_id, venue_code, agent_type, kind, change, rationale,
requested_by, created_at, expires_at)
SELECT organization_id, id, venue_code, 'bom_drafter', 'bom_lines', '{"bom_lines": []}', 'seed', $2, now(), now() + interval '7 days'
  FROM proposals WHERE organization_id = $1`, org.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	// A data subject request about the venue manager (migration 021), with
	// an archive waiting for its download.
	if _, err := tx.exec(ctx, `INSERT INTO privacy_requests (organization_id, kind, subject_user_id, requested_by, status, archive, archive_sha256, archive_bytes, completed_at)
VALUES ($1, 'export', $2, $3, 'ready', '\x504b0506'::bytea, sha256('\x504b0506'::bytea), 4, now())`, org.ID, vm.ID, admin.ID); err != nil {
		return rampart.Claims{}, err
	}
	return rampart.Claims{OrganizationID: org.ID, UserID: admin.ID, Role: rampart.RoleAdmin}, nil
}

func newIsolationFixture(t *testing.T, s *Store) isolationFixture {
	t.Helper()
	ctx := context.Background()
	var f isolationFixture
	err := s.AsService(ctx, "isolation test fixture", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		if f.a, err = seedTenant(ctx, tx, "org-a"); err != nil {
			return err
		}
		f.b, err = seedTenant(ctx, tx, "org-b")
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	f.tables = discoverTenantTables(t, s)
	return f
}

// discoverTenantTables reads the tenant tables from the live catalog.
func discoverTenantTables(t *testing.T, s *Store) []tenantTable {
	t.Helper()
	var tables []tenantTable
	err := s.AsService(context.Background(), "isolation test: discover tenant tables", func(ctx context.Context, tx *ServiceTx) error {
		rows, err := tx.query(ctx, sqlDiscoverTenantTables)
		if err != nil {
			return err
		}
		tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenantTable, error) {
			var tt tenantTable
			return tt, r.Scan(&tt.name, &tt.key, &tt.cols)
		})
		return err
	})
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	return tables
}

// errProbeDone rolls back a probe transaction after it has been inspected.
var errProbeDone = errors.New("probe done")

// checkIsolation returns every isolation violation it finds; empty means
// isolation holds for every discovered tenant table.
func checkIsolation(ctx context.Context, s *Store, f isolationFixture) []string {
	var v []string
	add := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if len(f.tables) == 0 {
		return []string{"discovery found no tenant table"}
	}
	names := make([]string, len(f.tables))
	for i, tt := range f.tables {
		names[i] = tt.name
	}
	// The catalog.
	err := s.AsService(ctx, "isolation test: catalog check", func(ctx context.Context, tx *ServiceTx) error {
		rows, err := tx.query(ctx, sqlCatalogViolations, names)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		v = append(v, found...)
		return err
	})
	if err != nil {
		add("catalog check failed: %v", err)
	}
	for _, tt := range f.tables {
		v = append(v, probeTable(ctx, s, f, tt)...)
	}
	return v
}

// probeTable attacks one table from org A's context and from no context.
func probeTable(ctx context.Context, s *Store, f isolationFixture, tt tenantTable) []string {
	var v []string
	add := func(format string, args ...any) { v = append(v, tt.name+": "+fmt.Sprintf(format, args...)) }
	tbl := pgx.Identifier{tt.name}.Sanitize()
	key := pgx.Identifier{tt.key}.Sanitize()
	cols := make([]string, len(tt.cols))
	for i, c := range tt.cols {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	colList := strings.Join(cols, ", ")

	// Ground truth, read on the service path: both orgs' rows and a sample row of A.
	var countA, countB int
	var sumB, rowA string
	err := s.AsService(ctx, "isolation test: ground truth", func(ctx context.Context, tx *ServiceTx) error {
		q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE %[2]s = $1), count(*) FILTER (WHERE %[2]s = $2),
			coalesce(md5(string_agg(to_jsonb(t)::text, '|' ORDER BY to_jsonb(t)::text) FILTER (WHERE %[2]s = $2)), ''),
			coalesce((SELECT to_jsonb(x)::text FROM %[1]s x WHERE x.%[2]s = $1 LIMIT 1), '')
			FROM %[1]s t`, tbl, key)
		return tx.queryRow(ctx, q, f.a.OrganizationID, f.b.OrganizationID).Scan(&countA, &countB, &sumB, &rowA)
	})
	if err != nil {
		return []string{tt.name + ": ground truth: " + err.Error()}
	}
	if countA == 0 || countB == 0 {
		return []string{fmt.Sprintf("%s: fixture has %d rows for org A and %d for org B: seed it in seedTenant so isolation is tested", tt.name, countA, countB)}
	}
	insertAsB := fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1::jsonb || jsonb_build_object('%s', $2::uuid))`,
		tbl, colList, colList, tbl, tt.key)

	type probe struct {
		name string
		sql  string
		args func(ctx rampart.Claims) []any
		// want: "zero" = must affect/see 0 rows; "denied" = must fail with 42501;
		// "zero-or-denied" = either.
		want string
	}
	probes := []probe{
		{"select org B rows", fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = $1", tbl, key),
			func(rampart.Claims) []any { return []any{f.b.OrganizationID} }, "zero-count"},
		{"select rows of any other org", fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS DISTINCT FROM $1", tbl, key),
			func(c rampart.Claims) []any { return []any{c.OrganizationID} }, "zero-count"},
		{"insert a row with org B's id", insertAsB,
			func(rampart.Claims) []any { return []any{rowA, f.b.OrganizationID} }, "denied"},
		{"update org B rows", fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = $1", tbl, key, key, key),
			func(rampart.Claims) []any { return []any{f.b.OrganizationID} }, "zero-or-denied"},
		{"delete org B rows", fmt.Sprintf("DELETE FROM %s WHERE %s = $1", tbl, key),
			func(rampart.Claims) []any { return []any{f.b.OrganizationID} }, "zero-or-denied"},
	}
	moveToB := probe{"move own rows into org B", fmt.Sprintf("UPDATE %s SET %s = $1 WHERE %s = $2", tbl, key, key),
		func(rampart.Claims) []any { return []any{f.b.OrganizationID, f.a.OrganizationID} }, "denied-or-no-grant"}

	run := func(ctxName string, claims *rampart.Claims, p probe) {
		body := func(ctx context.Context, tx *txn) error {
			c := rampart.Claims{}
			if claims != nil {
				c = *claims
			}
			if p.want == "zero-count" {
				var n int
				if err := tx.queryRow(ctx, p.sql, p.args(c)...).Scan(&n); err != nil {
					add("%s (%s): unexpected error %v", p.name, ctxName, err)
				} else if n != 0 {
					add("%s (%s): saw %d rows", p.name, ctxName, n)
				}
				return errProbeDone
			}
			tag, err := tx.exec(ctx, p.sql, p.args(c)...)
			var pg *pgconn.PgError
			denied := errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege
			switch {
			case err != nil && !denied:
				add("%s (%s): failed with %v, want SQLSTATE 42501 (RLS or privilege)", p.name, ctxName, err)
			case err == nil && p.want == "zero-or-denied" && tag.RowsAffected() != 0:
				add("%s (%s): changed %d rows", p.name, ctxName, tag.RowsAffected())
			case err == nil && (p.want == "denied" || p.want == "denied-or-no-grant"):
				add("%s (%s): succeeded (%d rows), want it refused", p.name, ctxName, tag.RowsAffected())
			}
			return errProbeDone
		}
		var err error
		if claims != nil {
			err = s.inTenant(ctx, *claims, body)
		} else {
			err = s.noTenant(ctx, body)
		}
		if !errors.Is(err, errProbeDone) {
			add("%s (%s): transaction: %v", p.name, ctxName, err)
		}
	}
	a := f.a
	for _, p := range append(probes, moveToB) {
		run("org A context", &a, p)
	}
	for _, p := range probes {
		if p.name == "insert a row with org B's id" {
			p.name = "insert a row with no tenant context"
		}
		run("no tenant context", nil, p)
	}

	// Nothing of org B changed.
	var afterB string
	err = s.AsService(ctx, "isolation test: verify", func(ctx context.Context, tx *ServiceTx) error {
		q := fmt.Sprintf(`SELECT coalesce(md5(string_agg(to_jsonb(t)::text, '|' ORDER BY to_jsonb(t)::text)), '') FROM %s t WHERE %s = $1`, tbl, key)
		return tx.queryRow(ctx, q, f.b.OrganizationID).Scan(&afterB)
	})
	if err != nil {
		add("verify: %v", err)
	} else if afterB != sumB {
		add("org B's rows changed")
	}
	return v
}

// noTenant runs fn as rampart_app with no tenant claims at all: what a
// handler would get if it forgot the tenant context.
func (s *Store) noTenant(ctx context.Context, fn func(context.Context, *txn) error) error {
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlSetAppRole)
	return s.run(ctx, s.pool, "store.noTenant", b, nil, fn)
}

func openStore(t testing.TB, db *pgtest.DB, opts Options) *Store {
	t.Helper()
	opts.ServiceURL = db.ServiceURL
	opts.Audit = testKeyring(t)
	s, err := Open(context.Background(), db.AppURL, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestIsolationCatalogDriven(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	var names []string
	for _, tt := range f.tables {
		names = append(names, tt.name)
	}
	t.Logf("tenant tables discovered: %s", strings.Join(names, ", "))
	for _, want := range []string{"organizations", "memberships", "venues", "audit_events", "invites", "api_tokens"} {
		if !slices.Contains(names, want) {
			t.Errorf("discovery missed %s", want)
		}
	}
	for _, v := range checkIsolation(context.Background(), s, f) {
		t.Errorf("isolation violation: %s", v)
	}
	// users has no organization_id (one identity, many orgs): a member sees
	// the users of their own organization and nobody else.
	err := s.InTenant(context.Background(), f.a, func(ctx context.Context, tx *TenantTx) error {
		var own, other int
		if err := tx.queryRow(ctx, `SELECT count(*) FILTER (WHERE email LIKE '%@org-a.example'),
			count(*) FILTER (WHERE email NOT LIKE '%@org-a.example') FROM users`).Scan(&own, &other); err != nil {
			return err
		}
		if own != 2 || other != 0 {
			t.Errorf("org A sees %d of its 2 users and %d users of other orgs", own, other)
		}
		tag, err := tx.exec(ctx, `UPDATE users SET display_name = 'pwned' WHERE email LIKE '%@org-b.example'`)
		if err != nil || tag.RowsAffected() != 0 {
			t.Errorf("org A updated org B's users: %v rows, err %v", tag.RowsAffected(), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIsolationCheckCatchesBrokenTables breaks tables on purpose, each in its
// own database, and expects the isolation check to name them.
func TestIsolationCheckCatchesBrokenTables(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper string
		want   string
	}{
		{"no force", "ALTER TABLE venues NO FORCE ROW LEVEL SECURITY", "venues: RLS is not forced"},
		{"rls disabled", "ALTER TABLE memberships DISABLE ROW LEVEL SECURITY", "memberships: RLS is not enabled"},
		{"rls disabled leaks rows", "ALTER TABLE memberships DISABLE ROW LEVEL SECURITY", "memberships: select org B rows (org A context): saw"},
		{"policy dropped", "DROP POLICY venues_tenant_update ON venues", "venues: no policy for UPDATE"},
		{"always-true policy", "CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (true)", "venues: select org B rows (org A context): saw"},
		{"permissive insert", "CREATE POLICY leak ON venues FOR INSERT TO rampart_app WITH CHECK (true)", "venues: insert a row with org B's id (org A context)"},
		{"new table without RLS", "CREATE TABLE gadgets (organization_id uuid NOT NULL REFERENCES organizations(id), n int); " +
			"GRANT SELECT, INSERT, UPDATE, DELETE ON gadgets TO rampart_app; GRANT ALL ON gadgets TO rampart_service; " +
			"INSERT INTO gadgets SELECT id, 1 FROM organizations", "gadgets: RLS is not enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			s := openStore(t, db, Options{})
			// Seed first: the tampering may add a table that the seed must not know about.
			f := newIsolationFixture(t, s)
			tamper(t, db.AdminURL, tc.tamper)
			f.tables = discoverTenantTables(t, s)
			v := checkIsolation(context.Background(), s, f)
			if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, tc.want) }) {
				t.Fatalf("isolation check did not report %q; it reported:\n%s", tc.want, strings.Join(v, "\n"))
			}
			// rls-audit (and so serve's start-up check) fails on the same database.
			snap, err := s.Catalog(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep := rlsaudit.Evaluate(snap); rep.OK() {
				t.Fatalf("rls-audit passed a database broken by %q", tc.tamper)
			}
		})
	}
}

func tamper(t *testing.T, adminURL, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("tamper %q: %v", sql, err)
	}
}

// TestPooledConnectionsCarryNoTenantContext runs tenant transactions on a
// one-connection pool and checks that nothing of them survives on it.
func TestPooledConnectionsCarryNoTenantContext(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{MaxConns: 1})
	f := newIsolationFixture(t, s)
	ctx := context.Background()

	var pid uint32
	residue := func(step string) {
		t.Helper()
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		if p := conn.Conn().PgConn().PID(); pid == 0 {
			pid = p
		} else if p != pid {
			t.Fatalf("%s: pool switched connection (%d → %d); the test needs one connection", step, pid, p)
		}
		var claims *string
		var who string
		if err := conn.QueryRow(ctx, "SELECT current_setting('request.jwt.claims', true), current_user").Scan(&claims, &who); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if claims != nil && *claims != "" {
			t.Errorf("%s: claims survived the transaction: %s", step, *claims)
		}
		if who != pgtest.Login {
			t.Errorf("%s: role survived the transaction: current_user = %s", step, who)
		}
		// Outside a store transaction the NOINHERIT login holds no privileges.
		var pg *pgconn.PgError
		_, err = conn.Exec(ctx, "SELECT 1 FROM venues LIMIT 1")
		if !errors.As(err, &pg) || pg.Code != codeInsufficientPrivilege {
			t.Errorf("%s: a bare pooled connection could read venues (err %v)", step, err)
		}
	}
	countVenues := func(c rampart.Claims) (own, other int) {
		t.Helper()
		err := s.InTenant(ctx, c, func(ctx context.Context, tx *TenantTx) error {
			return tx.queryRow(ctx, "SELECT count(*) FILTER (WHERE organization_id = $1), count(*) FILTER (WHERE organization_id <> $1) FROM venues", c.OrganizationID).Scan(&own, &other)
		})
		if err != nil {
			t.Fatal(err)
		}
		return own, other
	}

	residue("fresh connection")
	if own, other := countVenues(f.a); own == 0 || other != 0 {
		t.Errorf("org A sees %d own and %d other venues", own, other)
	}
	residue("after a committed tenant transaction")
	if own, other := countVenues(f.b); own == 0 || other != 0 {
		t.Errorf("org B after org A on the same connection sees %d own and %d other venues", own, other)
	}
	errBoom := errors.New("boom")
	if err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("fn error not returned: %v", err)
	}
	residue("after a rolled-back tenant transaction")
	func() {
		defer func() { _ = recover() }()
		_ = s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error { panic("handler bug") })
	}()
	residue("after a panicking tenant transaction")
	err := s.noTenant(ctx, func(ctx context.Context, tx *txn) error {
		var n int
		if err := tx.queryRow(ctx, "SELECT (SELECT count(*) FROM venues) + (SELECT count(*) FROM memberships) + (SELECT count(*) FROM organizations)").Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("a transaction with no tenant context saw %d rows", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInTenantRefusesIncompleteClaims(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	for _, c := range []rampart.Claims{
		{},
		{OrganizationID: uuid.New(), Role: rampart.RoleAdmin},
		{UserID: uuid.New(), Role: rampart.RoleAdmin},
		{OrganizationID: uuid.New(), UserID: uuid.New(), Role: "root"},
		{OrganizationID: uuid.New(), UserID: uuid.New(), Role: rampart.RoleViewer, VenueCodes: []string{"HALL-A"}},
		{OrganizationID: uuid.New(), UserID: uuid.New(), Role: rampart.RoleVenueManager, VenueCodes: []string{"'; drop table venues; --"}},
	} {
		ran := false
		err := s.InTenant(context.Background(), c, func(context.Context, *TenantTx) error { ran = true; return nil })
		if err == nil || ran {
			t.Errorf("claims %+v: accepted (ran=%v)", c, ran)
		}
	}
}

// TestSwallowedErrorIsNotACommit: a statement that fails inside fn aborts
// the transaction; even if fn ignores the error and returns nil, InTenant
// must not report success (nothing was written).
func TestSwallowedErrorIsNotACommit(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	err := s.InTenant(context.Background(), f.a, func(ctx context.Context, tx *TenantTx) error {
		if _, err := tx.Venues().Create(ctx, rampart.Venue{OrganizationID: f.a.OrganizationID, Code: "NEW-1", Name: "Kept?"}); err != nil {
			return err
		}
		_, _ = tx.Venues().Create(ctx, rampart.Venue{OrganizationID: f.a.OrganizationID, Code: "HALL-A", Name: "duplicate code"}) // fails; error swallowed
		return nil
	})
	if err == nil {
		t.Fatal("InTenant reported success for a rolled-back transaction")
	}
	var n int
	_ = s.AsService(context.Background(), "test: verify", func(ctx context.Context, tx *ServiceTx) error {
		return tx.queryRow(ctx, "SELECT count(*) FROM venues WHERE code = 'NEW-1'").Scan(&n)
	})
	if n != 0 {
		t.Fatal("the first write survived")
	}
}

// venueTable is a venue-bound table found by discovery; col holds the venue code.
type venueTable struct {
	name, col string
	cols      []string // insertable columns
}

// sqlDiscoverVenueTables finds every venue-bound table: a venue_code
// column, or venues itself (code). A later table with venue_code is
// covered without a new test.
const sqlDiscoverVenueTables = `
SELECT c.relname, CASE WHEN c.relname = 'venues' THEN 'code' ELSE 'venue_code' END,
       array(SELECT a2.attname::text FROM pg_attribute a2
             WHERE a2.attrelid = c.oid AND a2.attnum > 0 AND NOT a2.attisdropped
               AND a2.attidentity = '' AND a2.attgenerated = ''
             ORDER BY a2.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
  AND (c.relname = 'venues' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
       AND a.attname = 'venue_code' AND NOT a.attisdropped))
ORDER BY 1`

// TestVenueScopeCatalogDriven queries and writes every venue-bound table
// directly under a venue manager's claims — no handler filter involved —
// and asserts only rows of their venue codes are visible or changeable,
// that no row can be written into another venue, and that claims without
// a role see nothing.
func TestVenueScopeCatalogDriven(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	for _, v := range checkVenueScope(t, s, f) {
		t.Errorf("venue scope violation: %s", v)
	}
}

// TestVenueScopeCheckCatchesWeakenedPolicies weakens the venues policies to
// organization-only scoping, each in its own database, and expects the
// venue-scope check to report the write it lets through.
func TestVenueScopeCheckCatchesWeakenedPolicies(t *testing.T) {
	t.Parallel()
	const orgOnly = "organization_id = (SELECT current_user_org_id())"
	cases := []struct {
		name, tamper, want string
	}{
		{"insert check org-only", "ALTER POLICY venues_tenant_insert ON venues WITH CHECK (" + orgOnly + ")",
			"venues: insert a row of another venue"},
		{"update check org-only", "ALTER POLICY venues_tenant_update ON venues WITH CHECK (" + orgOnly + ")",
			"venues: move an own-venue row to another venue"},
		{"update using org-only", "ALTER POLICY venues_tenant_update ON venues USING (" + orgOnly + ")",
			"venues: update rows of other venues"},
		{"delete using org-only", "ALTER POLICY venues_tenant_delete ON venues USING (" + orgOnly + ")",
			"venues: delete rows of other venues"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			s := openStore(t, db, Options{})
			f := newIsolationFixture(t, s)
			tamper(t, db.AdminURL, tc.tamper)
			v := checkVenueScope(t, s, f)
			if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, tc.want) }) {
				t.Fatalf("venue-scope check did not report %q; it reported:\n%s", tc.want, strings.Join(v, "\n"))
			}
		})
	}
}

// checkVenueScope probes every venue-bound table as org A's venue manager
// of HALL-A and returns the violations it finds. Writes that succeed are
// committed (each probe is its own transaction), so "nothing changed" is
// checked against the committed table afterwards, not inside a rolled-back
// transaction.
func checkVenueScope(t *testing.T, s *Store, f isolationFixture) []string {
	t.Helper()
	ctx := context.Background()
	var tables []venueTable
	var vmID uuid.UUID
	err := s.AsService(ctx, "test: discover venue tables", func(ctx context.Context, tx *ServiceTx) error {
		rows, err := tx.query(ctx, sqlDiscoverVenueTables)
		if err != nil {
			return err
		}
		tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (venueTable, error) {
			var v venueTable
			return v, r.Scan(&v.name, &v.col, &v.cols)
		})
		if err != nil {
			return err
		}
		return tx.queryRow(ctx, "SELECT id FROM users WHERE email = 'venues@org-a.example'").Scan(&vmID)
	})
	if err != nil || len(tables) == 0 {
		t.Fatalf("discover: %v (%d tables)", err, len(tables))
	}
	var v []string
	vm := rampart.Claims{OrganizationID: f.a.OrganizationID, UserID: vmID, Role: rampart.RoleVenueManager, VenueCodes: []string{"HALL-A"}}
	for _, tt := range tables {
		v = append(v, probeVenueTable(t, s, f, vm, tt)...)
	}
	return v
}

// probeVenueTable attacks one venue-bound table as the venue manager vm
// (HALL-A) of org A; HALL-B is the other venue.
func probeVenueTable(t *testing.T, s *Store, f isolationFixture, vm rampart.Claims, tt venueTable) []string {
	t.Helper()
	ctx := context.Background()
	var v []string
	add := func(format string, args ...any) { v = append(v, tt.name+": "+fmt.Sprintf(format, args...)) }
	tbl, col := pgx.Identifier{tt.name}.Sanitize(), pgx.Identifier{tt.col}.Sanitize()
	cols := make([]string, len(tt.cols))
	for i, c := range tt.cols {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	colList := strings.Join(cols, ", ")

	// Ground truth on the service path: the in-scope row count, a HALL-A
	// row to copy, and a checksum of the whole table.
	checksum := fmt.Sprintf(`SELECT coalesce(md5(string_agg(to_jsonb(t)::text, '|' ORDER BY to_jsonb(t)::text)), '') FROM %s t`, tbl)
	var inScope int
	var rowA, before string
	err := s.AsService(ctx, "test: ground truth", func(ctx context.Context, tx *ServiceTx) error {
		if err := tx.queryRow(ctx, fmt.Sprintf("SELECT count(*), coalesce((SELECT to_jsonb(x)::text FROM %[1]s x WHERE x.organization_id = $1 AND x.%[2]s = 'HALL-A' LIMIT 1), '') FROM %[1]s WHERE organization_id = $1 AND %[2]s = 'HALL-A'", tbl, col),
			f.a.OrganizationID).Scan(&inScope, &rowA); err != nil {
			return err
		}
		return tx.queryRow(ctx, checksum).Scan(&before)
	})
	if err != nil || inScope == 0 {
		t.Fatalf("%s: no HALL-A rows seeded (%v): seed it in seedTenant", tt.name, err)
	}

	// Reads: only HALL-A rows.
	err = s.InTenant(ctx, vm, func(ctx context.Context, tx *TenantTx) error {
		var seen, out int
		if err := tx.queryRow(ctx, fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s <> 'HALL-A') FROM %s", col, tbl)).Scan(&seen, &out); err != nil {
			return err
		}
		if out != 0 || seen != inScope {
			add("venue manager of HALL-A sees %d rows (%d of other venues), want %d", seen, out, inScope)
		}
		return errProbeDone
	})
	if !errors.Is(err, errProbeDone) {
		add("read: %v", err)
	}

	// Writes, each in its own transaction, committed when it does not fail.
	// A fresh id (when the table has one) keeps a copied row from failing
	// on the primary key instead of on the policy.
	idFix := ""
	if slices.Contains(tt.cols, "id") {
		idFix = ` || jsonb_build_object('id', gen_random_uuid())`
	}
	// A statement whose WHERE (or SET) reads the table's columns is also
	// limited by the SELECT policy; the "blind" probes have no WHERE, so
	// only the UPDATE or DELETE policy itself limits them.
	type probe struct {
		name, sql string
		args      []any
		// want: "denied" = must fail with 42501; "zero" = 0 rows; "own-only"
		// = exactly the manager's own rows (then rolled back). 42501 is
		// accepted for every probe: a statement refused outright changed nothing.
		want string
	}
	probes := []probe{
		{"insert a row of another venue",
			fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1::jsonb || jsonb_build_object('%s', 'HALL-B')%s)`,
				tbl, colList, colList, tbl, tt.col, idFix),
			[]any{rowA}, "denied"},
		{"move an own-venue row to another venue", fmt.Sprintf("UPDATE %s SET %s = 'HALL-B' WHERE %s = 'HALL-A'", tbl, col, col), nil, "zero"},
		{"move an own-venue row to another venue (blind)", fmt.Sprintf("UPDATE %s SET %s = 'HALL-B'", tbl, col), nil, "zero"},
		{"update rows of other venues", fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s <> 'HALL-A'", tbl, col, col, col), nil, "zero"},
		{"update rows of other venues (blind)", fmt.Sprintf("UPDATE %s SET %s = 'HALL-A'", tbl, col), nil, "own-only"},
		{"delete rows of other venues", fmt.Sprintf("DELETE FROM %s WHERE %s <> 'HALL-A'", tbl, col), nil, "zero"},
		{"delete rows of other venues (blind)", fmt.Sprintf("DELETE FROM %s", tbl), nil, "own-only"},
	}
	for _, p := range probes {
		err := s.InTenant(ctx, vm, func(ctx context.Context, tx *TenantTx) error {
			tag, err := tx.exec(ctx, p.sql, p.args...)
			var pg *pgconn.PgError
			switch {
			case errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege:
				return errProbeDone // refused outright (a table without the grant): nothing changed
			case errors.As(err, &pg) && pg.Code == codeUniqueViolation:
				add("%s: got past the policy and failed only on a unique constraint (%s)", p.name, pg.ConstraintName)
				return errProbeDone
			case err != nil:
				add("%s: failed with %v, want SQLSTATE 42501", p.name, err)
				return errProbeDone
			case p.want == "denied":
				add("%s: succeeded (%d rows), want it refused with 42501", p.name, tag.RowsAffected())
			case p.want == "own-only":
				if n := tag.RowsAffected(); n != int64(inScope) {
					add("%s: reached %d rows, want the manager's %d", p.name, n, inScope)
				}
				return errProbeDone // the manager's own rows were legitimately touched: roll back
			case tag.RowsAffected() != 0:
				add("%s: changed %d rows", p.name, tag.RowsAffected())
			}
			return nil // commit: the table checksum below must show nothing changed
		})
		if err != nil && !errors.Is(err, errProbeDone) {
			add("%s: transaction: %v", p.name, err)
		}
	}

	// Nothing changed: not the other venues' rows, not the manager's own.
	var after string
	if err := s.AsService(ctx, "test: verify", func(ctx context.Context, tx *ServiceTx) error {
		return tx.queryRow(ctx, checksum).Scan(&after)
	}); err != nil {
		add("verify: %v", err)
	} else if after != before {
		add("rows changed under the venue manager's writes")
	}

	// Claims without a role (or with an unknown one) see nothing.
	for _, claims := range []string{
		fmt.Sprintf(`{"organization_id":%q,"sub":%q}`, f.a.OrganizationID, f.a.UserID),
		fmt.Sprintf(`{"organization_id":%q,"sub":%q,"role":"root"}`, f.a.OrganizationID, f.a.UserID),
	} {
		err := s.noTenant(ctx, func(ctx context.Context, tx *txn) error {
			if _, err := tx.exec(ctx, sqlSetClaims, claims); err != nil {
				return err
			}
			var n int
			if err := tx.queryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s", tbl)).Scan(&n); err != nil {
				return err
			}
			if n != 0 {
				add("claims %s see %d rows", claims, n)
			}
			return errProbeDone
		})
		if !errors.Is(err, errProbeDone) {
			add("claims %s: %v", claims, err)
		}
	}
	return v
}
