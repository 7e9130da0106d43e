package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// Migration 006 fixes data as well as schema: tokens and invites made
// through a token before creators were recorded are revoked, and today's
// admins keep their grants. Row-level security is forced, so a data fix
// run as the owner would silently change nothing; this test puts rows in
// a version-5 database and migrates it.
func TestMigration006FixesExistingData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := "rt_mig006_" + randomHex(t, 4)
	admin, err := pgx.Connect(ctx, pgtest.SuperURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgtest.SuperURL("postgres"))
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	url := pgtest.SuperURL(name)
	if _, _, err := migrateTo(ctx, url, 5); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	const (
		org  = "00000000-0000-4000-8000-00000000000a"
		ann  = "00000000-0000-4000-8000-0000000000a1"
		kept = "00000000-0000-4000-8000-0000000000c1"
		lost = "00000000-0000-4000-8000-0000000000c2"
	)
	for _, sql := range []string{
		`INSERT INTO organizations (id, name, slug) VALUES ('` + org + `', 'Acme', 'acme')`,
		`INSERT INTO users (id, email) VALUES ('` + ann + `', 'ann@acme.test')`,
		`INSERT INTO memberships (organization_id, user_id, role) VALUES ('` + org + `', '` + ann + `', 'admin')`,
		`INSERT INTO api_tokens (organization_id, id, name, role, created_by, expires_at) VALUES
		   ('` + org + `', '` + kept + `', 'from a session', 'admin', '` + ann + `', now() + interval '1 day'),
		   ('` + org + `', '` + lost + `', 'from a token', 'admin', NULL, now() + interval '1 day')`,
		`INSERT INTO invites (organization_id, email, role, token_hash, created_by, expires_at) VALUES
		   ('` + org + `', 'kept@x.test', 'viewer', decode(repeat('ab', 32), 'hex'), '` + ann + `', now() + interval '1 day'),
		   ('` + org + `', 'lost@x.test', 'admin', decode(repeat('cd', 32), 'hex'), NULL, now() + interval '1 day')`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if _, _, err := migrateTo(ctx, url, -1); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what, sql string
		want      int
	}{
		{"untraceable token revoked", `SELECT count(*) FROM api_tokens WHERE id = '` + lost + `' AND revoked_at IS NOT NULL AND revoked_reason LIKE 'untraceable%'`, 1},
		{"traced token live", `SELECT count(*) FROM api_tokens WHERE id = '` + kept + `' AND revoked_at IS NULL`, 1},
		{"traced token resolves", `SELECT count(*) FROM auth_resolve_token('` + kept + `', '` + org + `')`, 1},
		{"untraceable invite revoked", `SELECT count(*) FROM invites WHERE email = 'lost@x.test' AND revoked_at IS NOT NULL`, 1},
		{"traced invite pending, granted when made", `SELECT count(*) FROM invites WHERE email = 'kept@x.test' AND revoked_at IS NULL AND granted_at = created_at`, 1},
		{"today's admin keeps their grants", `SELECT count(*) FROM memberships WHERE user_id = '` + ann + `' AND admin_since = '-infinity'`, 1},
	}
	for _, c := range checks {
		var n int
		if err := db.QueryRow(ctx, c.sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
}
