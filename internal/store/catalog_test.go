package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
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
		"venues":                 {Tenant: true, OrgColumn: "not null", Select: "policy", Insert: "policy", Update: "policy", Delete: "policy", Truncate: "no grant"},
		"organizations":          {Tenant: true, OrgColumn: "id (root)", Select: "policy", Insert: "no grant", Update: "policy", Delete: "no grant", Truncate: "no grant"},
		"audit_events":           {Tenant: true, OrgColumn: "nullable (exempt)", Select: "policy", Insert: "policy", Update: "no grant", Delete: "no grant", Truncate: "no grant"},
		"users":                  {OrgColumn: "-", Select: "policy", Insert: "no grant", Update: "policy", Delete: "no grant", Truncate: "no grant"},
		"rampart_schema_version": {OrgColumn: "-", Select: "global", Insert: "no grant", Update: "no grant", Delete: "no grant", Truncate: "no grant"},
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

	// The login's role facts and the column-level UPDATE grant on users.
	if len(snap.Roles) == 0 || snap.Roles[0].Name != pgtest.Login || snap.Roles[0].Inherited != true {
		t.Errorf("roles[0] = %+v, want the login first", snap.Roles)
	}
	for _, role := range snap.Roles[1:] {
		if role.Name == ServiceRole && (!role.BypassRLS || role.Inherited) {
			t.Errorf("service role facts = %+v, want BYPASSRLS and not inherited", role)
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

func TestCatalogDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		sql    []string
		check  rlsaudit.Check
		object string
	}{
		{"rls not forced", []string{`ALTER TABLE venues NO FORCE ROW LEVEL SECURITY`}, rlsaudit.CheckRLSNotForced, "venues"},
		{"rls disabled", []string{`ALTER TABLE venues DISABLE ROW LEVEL SECURITY`}, rlsaudit.CheckRLSDisabled, "venues"},
		{"policies of a disabled table", []string{`ALTER TABLE venues DISABLE ROW LEVEL SECURITY`}, rlsaudit.CheckPolicyRLSOff, "venues"},
		{"policy dropped", []string{`DROP POLICY venues_tenant_delete ON venues`}, rlsaudit.CheckPolicyMissing, "venues"},
		{"always-true policy", []string{`CREATE POLICY leak ON venues FOR SELECT TO rampart_app USING (true)`}, rlsaudit.CheckPolicyAlwaysTrue, "venues"},
		{"policy not tenant scoped", []string{`CREATE POLICY by_city ON venues FOR SELECT TO rampart_app USING (city <> '')`}, rlsaudit.CheckPolicyNotTenantScoped, "venues"},
		{"grant to public", []string{`GRANT SELECT ON venues TO PUBLIC`}, rlsaudit.CheckPublicGrant, "venues"},
		{"truncate granted", []string{`GRANT TRUNCATE ON venues TO rampart_app`}, rlsaudit.CheckTruncateGranted, "venues"},
		{"security definer without search_path", []string{
			`CREATE FUNCTION count_venues() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM public.venues'`,
		}, rlsaudit.CheckSecDefNoSearchPath, "count_venues()"},
		{"view without security_invoker", []string{
			`CREATE VIEW v AS SELECT * FROM venues`,
			`GRANT SELECT ON v TO rampart_app`,
		}, rlsaudit.CheckViewNotSecurityInvoker, "v"},
		{"view over a view", []string{
			`CREATE VIEW v1 WITH (security_invoker = true) AS SELECT * FROM venues`,
			`CREATE VIEW v2 AS SELECT * FROM v1`,
		}, rlsaudit.CheckViewNotSecurityInvoker, "v2"},
		{"readable materialized view", []string{
			`CREATE MATERIALIZED VIEW mv AS SELECT organization_id, name FROM venues`,
			`GRANT SELECT ON mv TO rampart_app`,
		}, rlsaudit.CheckMatViewTenantData, "mv"},
		{"new tenant table without rls", []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL, x int)`,
			`GRANT SELECT ON gadgets TO rampart_app`,
		}, rlsaudit.CheckRLSDisabled, "gadgets"},
		{"new tenant table without policy", []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL, x int)`,
			`GRANT SELECT ON gadgets TO rampart_app`,
		}, rlsaudit.CheckPolicyMissing, "gadgets"},
		{"new tenant table without index", []string{
			`CREATE TABLE gadgets (organization_id uuid NOT NULL, x int)`,
		}, rlsaudit.CheckOrgIndexMissing, "gadgets"},
		{"nullable organization", []string{
			`CREATE TABLE gizmos (organization_id uuid, x int)`,
			`CREATE INDEX ON gizmos (organization_id)`,
		}, rlsaudit.CheckOrgNullable, "gizmos"},
		{"reachable non-tenant table", []string{
			`CREATE TABLE settings (k text PRIMARY KEY, v text)`,
			`GRANT SELECT, UPDATE (v) ON settings TO rampart_app`,
		}, rlsaudit.CheckRLSDisabled, "settings"},
		{"table in another schema", []string{
			`CREATE SCHEMA extra`,
			`GRANT USAGE ON SCHEMA extra TO rampart_app`,
			`CREATE TABLE extra.notes (organization_id uuid NOT NULL PRIMARY KEY, body text)`,
			`GRANT SELECT ON extra.notes TO rampart_app`,
		}, rlsaudit.CheckRLSDisabled, "extra.notes"},
		{"writable global table", []string{`GRANT INSERT ON rampart_schema_version TO rampart_app`}, rlsaudit.CheckGlobalTableWritable, "rampart_schema_version"},
		{"table owned by the app role", []string{`ALTER TABLE venues OWNER TO rampart_app`}, rlsaudit.CheckMemberOwner, "rampart_app"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			adminExec(t, db.AdminURL, tc.sql...)
			_, r := auditAs(t, db.AppURL)
			if r.OK() {
				t.Fatalf("audit passes after tampering:\n%s", reportText(t, r))
			}
			if !r.Has(tc.check, tc.object) {
				t.Fatalf("no %s finding on %s:\n%s", tc.check, tc.object, reportText(t, r))
			}
			t.Log("\n" + reportText(t, r))
			for _, row := range r.Tables {
				if row.Table == tc.object && row.Verdict != rlsaudit.VerdictFail {
					t.Errorf("row %s verdict = %s, want FAIL", row.Table, row.Verdict)
				}
			}
		})
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
	cases := []struct {
		name   string
		sql    func(e env) []string
		check  rlsaudit.Check
		object func(e env) string
	}{
		{"superuser", func(e env) []string { return []string{"ALTER ROLE " + e.login + " SUPERUSER"} },
			rlsaudit.CheckLoginSuperuser, func(e env) string { return e.login }},
		{"bypassrls", func(e env) []string { return []string{"ALTER ROLE " + e.login + " BYPASSRLS"} },
			rlsaudit.CheckLoginBypassRLS, func(e env) string { return e.login }},
		{"inherits the service role", func(e env) []string { return []string{"ALTER ROLE " + e.login + " INHERIT"} },
			rlsaudit.CheckServiceInherited, func(env) string { return ServiceRole }},
		{"owns a table", func(e env) []string { return []string{"ALTER TABLE venues OWNER TO " + e.login} },
			rlsaudit.CheckLoginOwnsObjects, func(e env) string { return e.login }},
		{"owns the database", func(e env) []string { return []string{"ALTER DATABASE " + e.database + " OWNER TO " + e.login} },
			rlsaudit.CheckLoginOwnsDatabase, func(e env) string { return e.login }},
		{"member of the owner role", func(e env) []string { return []string{"GRANT " + OwnerRole + " TO " + e.login} },
			rlsaudit.CheckMemberOwner, func(env) string { return OwnerRole }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			login, loginURL := probeLogin(t, db, AppRole, ServiceRole)
			e := env{login: pgx.Identifier{login}.Sanitize(), database: pgx.Identifier{db.Name}.Sanitize()}
			_, before := auditAs(t, loginURL)
			if !before.OK() {
				t.Fatalf("the probe login fails before tampering:\n%s", reportText(t, before))
			}
			adminExec(t, db.AdminURL, tc.sql(e)...)
			_, r := auditAs(t, loginURL)
			object := tc.object(env{login: login, database: db.Name})
			if r.OK() || !r.Has(tc.check, object) {
				t.Fatalf("no %s finding on %s:\n%s", tc.check, object, reportText(t, r))
			}
			t.Log("\n" + reportText(t, r))
		})
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			login, loginURL := probeLogin(t, db, AppRole)
			group := login + "_group"
			id := pgx.Identifier{group}.Sanitize()
			adminExec(t, db.AdminURL, "CREATE ROLE "+id+" NOLOGIN "+tc.attribute, "GRANT "+id+" TO "+pgx.Identifier{login}.Sanitize())
			// Registered after the probe's cleanup, so it runs first.
			t.Cleanup(func() { adminExec(t, db.AdminURL, "DROP ROLE "+id) })
			_, r := auditAs(t, loginURL)
			if !r.Has(tc.check, group) {
				t.Fatalf("no %s finding on %s:\n%s", tc.check, group, reportText(t, r))
			}
		})
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
