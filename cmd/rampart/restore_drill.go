package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
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
	return m.drill(ctx, fs, "restore-drill", args, false)
}

func runRestore(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("restore", "restore --from FILE --yes [--json] [--no-record] [flags]", `
Restores a backup (from `+"`rampart backup`"+`) as the live database, after
proving it: it runs every check of `+"`rampart restore-drill`"+` on a scratch
copy, and only when all pass renames the copy to the live database's name.
The database it replaces is kept, renamed <name>_before_restore_<UTC time>,
until you drop it. Nothing is replaced when any check fails.

Stop every serve and worker first: the embedded cluster refuses a restore
while serve runs, and PostgreSQL refuses to rename a database in use.

Without DATABASE_URL it restores into the embedded cluster of --data-dir,
initialising the cluster and its roles first when the data directory is new
(a rebuilt machine: copy the old secrets/keys.json into it first, or the
audit log cannot be verified). With DATABASE_URL (a superuser URL of the
database to replace), the new database takes that database's name.

The result is recorded as a restore drill in the restored database unless
--no-record. --yes is required: this replaces the live database.

Exit codes: 0 restored, 1 a check failed or the restore could not run
(nothing replaced), 2 usage.`)
	return m.drill(ctx, fs, "restore", args, true)
}

// drill runs restore-drill, or restore when promote is set.
func (m *Main) drill(ctx context.Context, fs *flag.FlagSet, name string, args []string, promote bool) int {
	loader := config.NewLoader(fs, m.Getenv, drillVars...)
	from := fs.String("from", "", "the backup file (required)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	noRecord := fs.Bool("no-record", false, "do not record the result")
	var yes *bool
	if promote {
		yes = fs.Bool("yes", false, "replace the live database (required)")
	}
	cfg, code, done := m.load(name, fs, loader, args, 0)
	if done {
		return code
	}
	if *from == "" {
		fmt.Fprintf(m.Stderr, "rampart %s: --from FILE is required\n", name)
		return exitUsage
	}
	if st, err := os.Stat(*from); err != nil || st.IsDir() {
		fmt.Fprintf(m.Stderr, "rampart %s: --from %s: not a readable file\n", name, *from)
		return exitUsage
	}
	if !cfg.Embedded() && !*noRecord && cfg.ServiceURL == "" {
		fmt.Fprintf(m.Stderr, "rampart %s: RAMPART_SERVICE_DATABASE_URL is required with DATABASE_URL to record the result (or pass --no-record)\n", name)
		return exitUsage
	}
	var dbURL *url.URL
	if !cfg.Embedded() {
		u, err := url.Parse(cfg.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || !store.ValidIdentifier(strings.TrimPrefix(u.Path, "/")) {
			fmt.Fprintf(m.Stderr, "rampart %s: DATABASE_URL must be a postgres:// URL naming a database (the scratch database's URL is derived from it)\n", name)
			return exitUsage
		}
		dbURL = u
	}
	live := embeddedDatabase
	if dbURL != nil {
		live = strings.TrimPrefix(dbURL.Path, "/")
	}
	aside := fmt.Sprintf("%s_before_restore_%s", live, time.Now().UTC().Format("20060102t150405"))
	if promote && !*yes {
		fmt.Fprintf(m.Stderr, "rampart restore: this replaces database %s (kept as %s): pass --yes\n", live, aside)
		return exitUsage
	}
	if promote && !store.ValidIdentifier(aside) {
		fmt.Fprintf(m.Stderr, "rampart restore: database name %q is too long to keep the old one as %s\n", live, aside)
		return exitUsage
	}
	keys, err := loadAuditKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: %v\n", name, err)
		return exitUsage
	}
	log := m.logger(cfg)
	var db *database
	if promote && cfg.Embedded() {
		db, err = openForRestore(ctx, cfg, log)
		if err == nil {
			db, err = m.advanceEpoch(ctx, cfg, log, db, *from, *jsonOut)
		}
	} else {
		db, err = openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: name}, false)
	}
	if err != nil {
		return m.fail(name, err)
	}
	defer db.close()
	bin, err := pgBinDir(db)
	if err != nil {
		return m.fail(name, err)
	}
	target := backup.Target{BinDir: bin}
	if db.cluster != nil {
		cl := db.cluster
		target.SuperURL = func(d string) string { return cl.URL(pgcluster.Superuser, d) }
		target.AppURL = func(d string) string { return cl.URL(embeddedLogin, d) }
		target.ServiceURL = func(d string) string { return cl.URL(store.ServiceLogin(embeddedLogin), d) }
	} else {
		target.SuperURL = func(d string) string { return withDatabase(dbURL, d) }
		target.LoginURL = func(login, password, d string) string {
			v := *dbURL
			v.User = url.UserPassword(login, password)
			return withDatabase(&v, d)
		}
	}
	openLive := func() (*store.Store, error) {
		return store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: 1, Audit: keys, Actor: "rampart " + name, Logger: log})
	}
	// A drill records in the live database: open it first, so a drill
	// that cannot be recorded does not run for nothing. A restore records
	// in the database it restored, once it is live.
	var rec *store.Store // where the result is recorded
	if !*noRecord && !promote {
		if rec, err = openLive(); err != nil {
			return m.fail(name, fmt.Errorf("open the live database to record the drill: %w", err))
		}
		defer rec.Close()
	}
	progress := func(step string) {
		if !*jsonOut {
			fmt.Fprintf(m.Stderr, "… %s\n", step)
		}
	}
	opts := backup.DrillOptions{From: *from, Target: target, Audit: keys, Progress: progress}
	if promote {
		opts.Promote, opts.Aside = live, aside
	}
	rep := backup.Drill(ctx, opts)
	rep.RunBy = "rampart " + name + " " + Version()
	var recordErr error
	if !*noRecord && (!promote || rep.Promoted) {
		if rec == nil {
			if rec, recordErr = openLive(); recordErr == nil {
				defer rec.Close()
			}
		}
		if recordErr == nil {
			var recorded store.RestoreDrill
			if recorded, recordErr = rec.Operations().RecordRestoreDrill(ctx, rep.RestoreDrill); recordErr == nil {
				rep.RestoreDrill = recorded
			}
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		writeDrillReport(m, name, rep)
	}
	if recordErr != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: the result could not be recorded: %v\n", name, recordErr)
		return exitFail
	}
	if !rep.OK {
		fmt.Fprintf(m.Stderr, "rampart %s: %s\n", name, rep.Summary)
		return exitFail
	}
	return exitOK
}

// advanceEpoch moves a (new) embedded cluster's transaction ids past the
// backup's audit log when they are behind it (a machine rebuilt from a
// backup): the cluster is stopped, its epoch set, and started again.
func (m *Main) advanceEpoch(ctx context.Context, cfg config.Config, log *slog.Logger, db *database, from string, quiet bool) (*database, error) {
	man, err := backup.ReadManifest(from)
	if err != nil {
		return db, nil // the drill's archive check reports it
	}
	cur, err := store.ServerXact(ctx, db.cluster.URL(pgcluster.Superuser, "postgres"))
	if err != nil {
		db.close()
		return nil, err
	}
	if cur > man.Facts.XactHorizon {
		return db, nil
	}
	epoch := backup.NeededEpoch(man)
	if !quiet {
		fmt.Fprintf(m.Stderr, "… this cluster's transaction ids (next %d) are behind the backup's audit log (%d): setting its epoch to %d\n", cur, man.Facts.XactHorizon, epoch)
	}
	db.close()
	if err := pgcluster.SetXIDEpoch(pgcluster.Config{Dir: cfg.DataDir, OSUser: cfg.PGOSUser}, epoch); err != nil {
		return nil, err
	}
	return openForRestore(ctx, cfg, log)
}

// openForRestore starts the embedded cluster for a restore, as the only
// process managing it (a running serve makes it fail), initialising it and
// its roles, logins and (empty) database when the data directory is new.
func openForRestore(ctx context.Context, cfg config.Config, log *slog.Logger) (*database, error) {
	cl, err := pgcluster.Open(ctx, pgcluster.Config{Dir: cfg.DataDir, OSUser: cfg.PGOSUser, Logger: log}, pgcluster.Purpose{Name: "restore", LongRunning: true})
	if err != nil {
		return nil, err
	}
	d := &database{
		appURL:     cl.URL(embeddedLogin, embeddedDatabase),
		serviceURL: cl.URL(store.ServiceLogin(embeddedLogin), embeddedDatabase),
		adminURL:   cl.URL(pgcluster.Superuser, embeddedDatabase),
		cluster:    cl,
	}
	if err := store.Bootstrap(ctx, cl.URL(pgcluster.Superuser, "postgres"), embeddedDatabase, embeddedLogin); err != nil {
		d.close()
		return nil, fmt.Errorf("prepare the embedded cluster: %w", err)
	}
	return d, nil
}

func writeDrillReport(m *Main, name string, rep backup.Report) {
	w := m.Stdout
	what := "restore drill"
	if name == "restore" {
		what = "restore"
	}
	fmt.Fprintf(w, "%s of %s\n", what, rep.BackupFile)
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
	fmt.Fprintf(w, "%s %s: restore %s, total %s", what, verdict,
		time.Duration(rep.RestoreTime).Round(time.Millisecond), time.Duration(rep.TotalTime).Round(time.Millisecond))
	if rep.ID != 0 {
		fmt.Fprintf(w, "; recorded as restore drill %d", rep.ID)
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
