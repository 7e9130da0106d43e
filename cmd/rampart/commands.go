package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/store"
)

var dbVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarPGOSUser, config.VarLogLevel, config.VarLogFormat}

func runMigrate(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("migrate", "migrate [status|validate] [flags]", `
Applies the migrations embedded in this binary. They create the roles
rampart_owner, rampart_app and rampart_service (if missing), the tenant
claim functions and the tables, each with row-level security forced.

  rampart migrate            apply pending migrations
  rampart migrate status     show applied and pending migrations; change nothing
  rampart migrate validate   check the embedded migrations and that the
                             database is not ahead of this binary; exit 1 if not

With DATABASE_URL set, connect as a superuser, or as a login with CREATEROLE
that is a member of rampart_owner: never as the runtime login. Without it,
the embedded cluster of --data-dir is used (bootstrapped as needed).`)
	loader := config.NewLoader(fs, m.Getenv, dbVars...)
	jsonOut := fs.Bool("json", false, "print status as JSON")
	cfg, code, done := m.load("migrate", fs, loader, args, 1)
	if done {
		return code
	}
	action := "apply"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	if action != "apply" && action != "status" && action != "validate" {
		fmt.Fprintf(m.Stderr, "rampart migrate: unknown action %q: use status, validate or nothing\n", action)
		return exitUsage
	}
	latest, names, err := store.LatestMigration()
	if err != nil {
		return m.fail("migrate", fmt.Errorf("embedded migrations are invalid: %w", err))
	}
	log := m.logger(cfg)
	db, err := openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: "migrate"}, action == "apply")
	if err != nil {
		return m.fail("migrate", err)
	}
	defer db.close()
	var st store.MigrationStatus
	if action == "apply" && !db.embedded() {
		before, after, err := store.Migrate(ctx, db.adminURL)
		if err != nil {
			return m.fail("migrate", err)
		}
		fmt.Fprintf(m.Stdout, "migrated from version %d to %d\n", before.Current, after.Current)
		st = after
	} else {
		if st, err = store.ReadMigrationStatus(ctx, db.adminURL); err != nil {
			return m.fail("migrate", err)
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		fmt.Fprintf(m.Stdout, "schema version %d of %d\n", st.Current, latest)
		for i, n := range names {
			mark := "applied"
			if int32(i+1) > st.Current {
				mark = "pending"
			}
			fmt.Fprintf(m.Stdout, "  %-8s %s\n", mark, n)
		}
	}
	if action == "validate" && st.Current > latest {
		fmt.Fprintf(m.Stderr, "rampart migrate validate: the database is at version %d, newer than this binary's %d\n", st.Current, latest)
		return exitFail
	}
	return exitOK
}

func runRLSAudit(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("rls-audit", "rls-audit [--json] [flags]", `
Queries the live catalog as the runtime login and prints, for every table
with an organization_id column (and the tenant root, organizations): RLS
enabled, forced, a policy for each verb the runtime role holds, grants, and a
verdict. It also flags always-true policies, policies on tables whose RLS is
off, SECURITY DEFINER functions without a fixed search_path, views over
tenant tables without security_invoker, grants to PUBLIC, and a runtime
login that is a superuser, can bypass RLS or owns objects.
Exit 0 only when every check passes, 1 when one fails.`)
	loader := config.NewLoader(fs, m.Getenv, dbVars...)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	cfg, code, done := m.load("rls-audit", fs, loader, args, 0)
	if done {
		return code
	}
	db, err := openDatabase(ctx, cfg, m.logger(cfg), pgcluster.Purpose{Name: "rls-audit"}, false)
	if err != nil {
		return m.fail("rls-audit", err)
	}
	defer db.close()
	st, err := store.Open(ctx, db.appURL, store.Options{MaxConns: 2, Actor: "rampart rls-audit"})
	if err != nil {
		return m.fail("rls-audit", err)
	}
	defer st.Close()
	snap, err := st.Catalog(ctx)
	if err != nil {
		return m.fail("rls-audit", err)
	}
	rep := rlsaudit.Evaluate(snap)
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return m.fail("rls-audit", err)
		}
	} else if err := rep.WriteText(m.Stdout); err != nil {
		return m.fail("rls-audit", err)
	}
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}

func runDB(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("db", "db url [--admin] [flags]", `
  rampart db url           print the connection URL of the embedded cluster's
                           runtime login (for psql and other tools)
  rampart db url --admin   print the superuser URL instead (unix socket only)

It does not start the cluster; it says so on stderr when none is running.
With DATABASE_URL set, it prints that URL.`)
	loader := config.NewLoader(fs, m.Getenv, config.VarDataDir, config.VarDatabaseURL, config.VarPGOSUser)
	admin := fs.Bool("admin", false, "print the superuser URL")
	cfg, code, done := m.load("db", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.NArg() != 1 || fs.Arg(0) != "url" {
		fmt.Fprintln(m.Stderr, "rampart db: usage: rampart db url [--admin]")
		return exitUsage
	}
	if !cfg.Embedded() {
		fmt.Fprintln(m.Stdout, cfg.DatabaseURL)
		return exitOK
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return m.fail("db", err)
	}
	user := embeddedLogin
	if *admin {
		user = pgcluster.Superuser
	}
	paths, err := pgcluster.ResolvePaths(dir, cfg.PGOSUser)
	if err != nil {
		return m.fail("db", err)
	}
	sock := paths.Socket
	fmt.Fprintln(m.Stdout, pgcluster.URL(sock, user, embeddedDatabase))
	if _, err := os.Stat(filepath.Join(sock, ".s.PGSQL.5432")); err != nil {
		fmt.Fprintf(m.Stderr, "note: the embedded cluster in %s is not running; start it with `rampart serve`\n", cfg.DataDir)
	}
	return exitOK
}
