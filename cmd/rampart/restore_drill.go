package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/backup"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/store"
)

var drillVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys}

func runRestoreDrill(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("restore-drill", "restore-drill --from FILE [--json] [--no-record] [flags]", `
Proves a backup (from `+"`rampart backup`"+`) restores, without touching the
live database's data:

  archive       the manifest reads and the dump matches its size and SHA-256
  restore       pg_restore into a scratch database (created for the drill
                and dropped after it), timed
  migrations    the restored copy is at the manifest's migration, which is
                this binary's newest, and the job queue's schema is complete
  rls-audit     the RLS audit (rampart rls-audit) passes on the copy, as the
                runtime login
  audit-verify  every audit event's MAC and every seal verify (rampart audit
                verify), each chain still holding the head the manifest anchored
  row-counts    every table holds the manifest's exact row count
  chain-heads   every audit chain's event count, newest event and newest seal
                match the manifest

It prints a report with the measured restore time and records the result
(ok, times, the backup's age, a summary) in the live database on the
audited service path, where the trust report reads the last drill; with
--no-record it records nothing.

Without DATABASE_URL the scratch database is made on the embedded cluster
of --data-dir. With DATABASE_URL, give a superuser (or a login with
CREATEDB and CREATEROLE that is a member of rampart_owner) of the server
to restore onto; the drill then checks the copy through two temporary
logins it creates (members of rampart_app and rampart_service, valid for
two hours at most) and drops. Recording then needs
RAMPART_SERVICE_DATABASE_URL; verifying needs the install's audit keys
(RAMPART_AUDIT_KEYS, or the embedded key file).

Exit codes: 0 every check passed, 1 a check failed (the report names it)
or the drill could not run, 2 usage.`)
	loader := config.NewLoader(fs, m.Getenv, drillVars...)
	from := fs.String("from", "", "the backup file to drill (required)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	noRecord := fs.Bool("no-record", false, "do not record the result in the live database")
	cfg, code, done := m.load("restore-drill", fs, loader, args, 0)
	if done {
		return code
	}
	if *from == "" {
		fmt.Fprintln(m.Stderr, "rampart restore-drill: --from FILE is required")
		return exitUsage
	}
	if st, err := os.Stat(*from); err != nil || st.IsDir() {
		fmt.Fprintf(m.Stderr, "rampart restore-drill: --from %s: not a readable file\n", *from)
		return exitUsage
	}
	if !cfg.Embedded() && !*noRecord && cfg.ServiceURL == "" {
		fmt.Fprintln(m.Stderr, "rampart restore-drill: RAMPART_SERVICE_DATABASE_URL is required with DATABASE_URL to record the drill (or pass --no-record)")
		return exitUsage
	}
	keys, err := loadAuditKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart restore-drill: %v\n", err)
		return exitUsage
	}
	log := m.logger(cfg)
	db, err := openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: "restore-drill"}, false)
	if err != nil {
		return m.fail("restore-drill", err)
	}
	defer db.close()
	bin, err := pgBinDir(db)
	if err != nil {
		return m.fail("restore-drill", err)
	}
	target := backup.Target{BinDir: bin}
	if db.cluster != nil {
		cl := db.cluster
		target.SuperURL = func(d string) string { return cl.URL(pgcluster.Superuser, d) }
		target.AppURL = func(d string) string { return cl.URL(embeddedLogin, d) }
		target.ServiceURL = func(d string) string { return cl.URL(store.ServiceLogin(embeddedLogin), d) }
	} else {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			fmt.Fprintln(m.Stderr, "rampart restore-drill: DATABASE_URL must be a postgres:// URL (the drill derives the scratch database's URL from it)")
			return exitUsage
		}
		target.SuperURL = func(d string) string { return withDatabase(u, d) }
		target.LoginURL = func(login, password, d string) string {
			v := *u
			v.User = url.UserPassword(login, password)
			return withDatabase(&v, d)
		}
	}
	// The record goes to the live database: open that first, so a drill
	// that cannot be recorded does not run for nothing.
	var live *store.Store
	if !*noRecord {
		live, err = store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: 1, Audit: keys, Actor: "rampart restore-drill", Logger: log})
		if err != nil {
			return m.fail("restore-drill", fmt.Errorf("open the live database to record the drill: %w", err))
		}
		defer live.Close()
	}
	progress := func(step string) {
		if !*jsonOut {
			fmt.Fprintf(m.Stderr, "… %s\n", step)
		}
	}
	rep := backup.Drill(ctx, backup.DrillOptions{From: *from, Target: target, Audit: keys, Progress: progress})
	rep.RunBy = "rampart restore-drill " + Version()
	recordErr := error(nil)
	if live != nil {
		var rec store.RestoreDrill
		if rec, recordErr = live.Operations().RecordRestoreDrill(ctx, rep.RestoreDrill); recordErr == nil {
			rep.RestoreDrill = rec
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		writeDrillReport(m, rep)
	}
	if recordErr != nil {
		fmt.Fprintf(m.Stderr, "rampart restore-drill: the drill's result could not be recorded: %v\n", recordErr)
		return exitFail
	}
	if !rep.OK {
		fmt.Fprintf(m.Stderr, "rampart restore-drill: %s\n", rep.Summary)
		return exitFail
	}
	return exitOK
}

func writeDrillReport(m *Main, rep backup.Report) {
	w := m.Stdout
	fmt.Fprintf(w, "restore drill of %s\n", rep.BackupFile)
	if rep.Manifest != nil {
		man := rep.Manifest
		fmt.Fprintf(w, "  backup taken %s (%s before the drill), database %s, PostgreSQL %s, migration %d\n",
			man.TakenAt.Format(time.RFC3339), rep.BackupAge().Round(time.Second), man.Facts.Database, man.Facts.ServerVersion, man.Facts.SchemaVersion)
		fmt.Fprintf(w, "  manifest: %d tables, %d rows, %d audit chains; dump %d bytes\n", len(man.Facts.Tables), man.Facts.Rows(), len(man.Facts.Chains), man.Dump.Bytes)
	}
	for _, c := range rep.Checks {
		status := "ok"
		if !c.OK {
			status = "FAILED"
		}
		fmt.Fprintf(w, "  %-6s  %-12s  %s\n", status, c.Name, c.Detail)
	}
	verdict := "OK"
	if !rep.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "restore drill %s: restore %s, total %s", verdict,
		time.Duration(rep.RestoreTime).Round(time.Millisecond), time.Duration(rep.TotalTime).Round(time.Millisecond))
	if rep.ID != 0 {
		fmt.Fprintf(w, "; recorded as drill %d", rep.ID)
	}
	fmt.Fprintln(w)
	if !rep.OK {
		var names []string
		for _, c := range rep.Checks {
			if !c.OK {
				names = append(names, c.Name)
			}
		}
		fmt.Fprintf(w, "failed checks: %s\n", strings.Join(names, ", "))
	}
}
