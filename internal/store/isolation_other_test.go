package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// sqlDiscoverOtherRLSTables lists the tables with row-level security that
// the organization_id-driven isolation test does not attack: tables scoped
// through the user, through JSON, or reachable on the service path only.
const sqlDiscoverOtherRLSTables = `
SELECT n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND c.relname <> 'organizations'
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
ORDER BY 1`

// otherAttack is one attack on such a table from org A's admin context
// (and from no tenant context): the statement must see or change nothing
// of org B's ("zero"), or be refused (SQLSTATE 42501, "denied"); "either"
// accepts both.
type otherAttack struct {
	name, sql string
	args      func(f isolationFixture, ids otherIDs) []any
	want      string
}

// otherIDs are org B's rows the attacks aim at.
type otherIDs struct {
	userB, sessionB string
}

// otherAttacks names the attacks of every such table. A table with row-level
// security that is missing here fails TestIsolationBeyondOrganizationColumns:
// a new table gets its attacks when it is created.
var otherAttacks = map[string][]otherAttack{
	"public.users": {
		{"read org B's user", `SELECT count(*) FROM users WHERE id = $1`, func(_ isolationFixture, i otherIDs) []any { return []any{i.userB} }, "zero"},
		{"rename org B's user", `UPDATE users SET display_name = 'pwned' WHERE id = $1`, func(_ isolationFixture, i otherIDs) []any { return []any{i.userB} }, "either"},
		{"create a user", `INSERT INTO users (email) VALUES ('mallory@evil.example')`, nil, "denied"},
	},
	"public.sessions": {
		{"read org B's session", `SELECT count(*) FROM sessions WHERE id = $1`, func(_ isolationFixture, i otherIDs) []any { return []any{i.sessionB} }, "zero"},
		{"revoke org B's session", `UPDATE sessions SET revoked_at = now() WHERE id = $1`, func(_ isolationFixture, i otherIDs) []any { return []any{i.sessionB} }, "either"},
		{"plant a session for org B's user", `INSERT INTO sessions (user_id, active_organization_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`,
			func(f isolationFixture, i otherIDs) []any { return []any{i.userB, f.b.OrganizationID} }, "denied"},
	},
	"river.river_job": {
		{"read org B's queue jobs", `SELECT count(*) FROM river.river_job WHERE args->>'organization_id' = $1::text`,
			func(f isolationFixture, _ otherIDs) []any { return []any{f.b.OrganizationID} }, "zero"},
		{"queue a job for org B", `INSERT INTO river.river_job (args, kind, max_attempts, queue, state) VALUES (jsonb_build_object('organization_id', $1::text), 'proposal_generation', 5, 'ai', 'available')`,
			func(f isolationFixture, _ otherIDs) []any { return []any{f.b.OrganizationID} }, "denied"},
		{"cancel org B's queue jobs", `UPDATE river.river_job SET state = 'cancelled' WHERE args->>'organization_id' = $1::text`,
			func(f isolationFixture, _ otherIDs) []any { return []any{f.b.OrganizationID} }, "either"},
	},
	"public.audit_seals": {
		{"read the seals", `SELECT count(*) FROM audit_seals`, nil, "either"},
		{"forge a seal", `INSERT INTO audit_seals (chain, seq) VALUES ('forged', 1)`, nil, "denied"},
		{"delete the seals", `DELETE FROM audit_seals`, nil, "either"},
	},
	"public.login_links":         serviceOnly("login_links"),
	"public.signups":             serviceOnly("signups"),
	"public.periodic_runs":       serviceOnly("periodic_runs"),
	"public.field_key_rotations": serviceOnly("field_key_rotations"),
	"public.stripe_events":       serviceOnly("stripe_events"),
	"public.restore_drills":      serviceOnly("restore_drills"),
	"public.rampart_processes":   serviceOnly("rampart_processes"),
	"public.killswitch_acks":     serviceOnly("killswitch_acks"),
}

// serviceOnly are the attacks on a table the runtime role has no grant on.
func serviceOnly(table string) []otherAttack {
	tbl := pgx.Identifier{table}.Sanitize()
	return []otherAttack{
		{"read it", "SELECT count(*) FROM " + tbl, nil, "denied"},
		{"delete from it", "DELETE FROM " + tbl, nil, "denied"},
	}
}

// Issue 11: the catalog-driven isolation test attacked only tables with an
// organization_id column. Every other table with row-level security is
// attacked here, and a new one without attacks fails the test.
func TestIsolationBeyondOrganizationColumns(t *testing.T) {
	t.Parallel()
	for _, v := range attackOtherTables(t, "") {
		t.Error(v)
	}
}

// The check can fail: a policy that opens users to everyone is caught.
func TestIsolationBeyondCatchesAnOpenPolicy(t *testing.T) {
	t.Parallel()
	v := attackOtherTables(t, `CREATE POLICY leak ON users FOR SELECT TO rampart_app USING (true)`)
	if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, "public.users: read org B's user") }) {
		t.Fatalf("an open users policy went unnoticed: %v", v)
	}
}

// attackOtherTables seeds two organizations, applies tamper (SQL run as
// the superuser, "" for none) and returns every violation found.
func attackOtherTables(t *testing.T, tamper string) []string {
	t.Helper()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var ids otherIDs
	if err := admin.QueryRow(ctx, `SELECT user_id::text FROM memberships WHERE organization_id = $1 AND role = 'admin' LIMIT 1`, f.b.OrganizationID).Scan(&ids.userB); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, `INSERT INTO sessions (user_id, active_organization_id, expires_at) VALUES ($1, $2, now() + interval '1 hour') RETURNING id::text`,
		ids.userB, f.b.OrganizationID).Scan(&ids.sessionB); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`INSERT INTO river.river_job (args, kind, max_attempts, queue, state) VALUES (jsonb_build_object('organization_id', '` + f.b.OrganizationID.String() + `'), 'proposal_generation', 5, 'ai', 'available')`,
		`INSERT INTO login_links (user_id, token_hash, expires_at) VALUES ('` + ids.userB + `', decode(repeat('cd', 32), 'hex'), now() + interval '10 minutes')`,
		tamper,
	} {
		if sql == "" {
			continue
		}
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := admin.Query(ctx, sqlDiscoverOtherRLSTables)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attacked: %v", tables)
	if len(tables) < 7 {
		t.Fatalf("discovered only %v", tables)
	}
	snapshot := func() string {
		var sum string
		q := `SELECT md5(coalesce((SELECT string_agg(to_jsonb(u)::text, '|' ORDER BY u.id) FROM users u), '') ||
			coalesce((SELECT string_agg(to_jsonb(x)::text, '|' ORDER BY x.id) FROM sessions x), '') ||
			coalesce((SELECT string_agg(to_jsonb(j)::text, '|' ORDER BY j.id) FROM river.river_job j), '') ||
			coalesce((SELECT string_agg(to_jsonb(a)::text, '|' ORDER BY a.chain, a.seq) FROM audit_seals a), ''))`
		if err := admin.QueryRow(ctx, q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	var v []string
	before := snapshot()
	for _, table := range tables {
		attacks, ok := otherAttacks[table]
		if !ok {
			v = append(v, table+" has row-level security but no attacks in otherAttacks: add them")
			continue
		}
		for _, atk := range attacks {
			var args []any
			if atk.args != nil {
				args = atk.args(f, ids)
			}
			for _, ctxName := range []string{"org A's admin", "no tenant context"} {
				body := func(ctx context.Context, tx *txn) error {
					if msg := runOtherAttack(ctx, tx, atk, args); msg != "" {
						v = append(v, fmt.Sprintf("%s: %s (%s): %s", table, atk.name, ctxName, msg))
					}
					return errProbeDone
				}
				var err error
				if ctxName == "org A's admin" {
					err = s.inTenant(ctx, f.a, body)
				} else {
					err = s.noTenant(ctx, body)
				}
				if !errors.Is(err, errProbeDone) {
					v = append(v, fmt.Sprintf("%s: %s (%s): transaction: %v", table, atk.name, ctxName, err))
				}
			}
		}
	}
	if after := snapshot(); after != before {
		v = append(v, "an attack changed org B's users, sessions, queue jobs or the seals")
	}
	return v
}

// runOtherAttack runs one attack and says what went wrong ("" = it failed
// as it must).
func runOtherAttack(ctx context.Context, tx *txn, atk otherAttack, args []any) string {
	var pg *pgconn.PgError
	if len(atk.sql) > 6 && atk.sql[:6] == "SELECT" {
		var n int
		err := tx.queryRow(ctx, atk.sql, args...).Scan(&n)
		denied := errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege
		switch {
		case err != nil && !denied:
			return "unexpected error " + err.Error()
		case denied && atk.want == "zero":
			return "refused, want 0 rows (the grant is expected)"
		case err == nil && atk.want == "denied":
			return fmt.Sprintf("succeeded (%d rows), want it refused", n)
		case err == nil && n != 0:
			return fmt.Sprintf("saw %d rows", n)
		}
		return ""
	}
	tag, err := tx.exec(ctx, atk.sql, args...)
	denied := errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege
	switch {
	case err != nil && !denied:
		return "unexpected error " + err.Error()
	case err == nil && atk.want == "denied":
		return fmt.Sprintf("succeeded (%d rows), want it refused", tag.RowsAffected())
	case err == nil && tag.RowsAffected() != 0:
		return fmt.Sprintf("changed %d rows", tag.RowsAffected())
	}
	return ""
}
