package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/rampart-dev/rampart/internal/backup"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/pgcluster"
)

func runBackup(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("backup", "backup --out FILE [--json] [flags]", `
Writes a backup of the whole database to FILE: a tar holding manifest.json
and rampart.dump (pg_dump's custom format, by the pg_dump of the PostgreSQL
installation the embedded cluster uses). The manifest records when the
backup was taken, the PostgreSQL and schema versions, the exact row count
of every table, every audit chain's head (event count, newest event,
newest seal) and the dump's size and SHA-256, all read in the snapshot the
dump was taken from, so they hold even while Rampart keeps serving.

FILE is replaced only once the new backup is complete, and is written
with mode 0600: it holds every organization's data (encrypted fields stay
encrypted; the keys are not in it). Prove a backup restores with
`+"`rampart restore-drill --from FILE`"+` (docs/runbooks/backup-and-restore.md).

Without DATABASE_URL it backs up the embedded cluster of --data-dir
(attaching to a running serve, or starting the cluster for the backup).
With DATABASE_URL, give a login that reads every row: a superuser, or a
member of rampart_owner with BYPASSRLS; never the runtime login (row-level
security would hide rows, and the backup refuses).

Exit codes: 0 written, 1 failed (nothing written), 2 usage.`)
	loader := config.NewLoader(fs, m.Getenv, dbVars...)
	out := fs.String("out", "", "the backup file to write (required)")
	jsonOut := fs.Bool("json", false, "print the manifest as JSON")
	cfg, code, done := m.load("backup", fs, loader, args, 0)
	if done {
		return code
	}
	if *out == "" {
		fmt.Fprintln(m.Stderr, "rampart backup: --out FILE is required")
		return exitUsage
	}
	db, err := openDatabase(ctx, cfg, m.logger(cfg), pgcluster.Purpose{Name: "backup"}, false)
	if err != nil {
		return m.fail("backup", err)
	}
	defer db.close()
	bin, err := pgBinDir(db)
	if err != nil {
		return m.fail("backup", err)
	}
	man, err := backup.Take(ctx, backup.TakeOptions{AdminURL: db.adminURL, BinDir: bin, Out: *out, RampartVersion: Version()})
	if err != nil {
		return m.fail("backup", err)
	}
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(man)
		return exitOK
	}
	fmt.Fprintf(m.Stdout, "backup written to %s\n", *out)
	fmt.Fprintf(m.Stdout, "  taken at     %s (database %s, PostgreSQL %s)\n", man.TakenAt.Format(time.RFC3339), man.Facts.Database, man.Facts.ServerVersion)
	fmt.Fprintf(m.Stdout, "  schema       migration %d (%s)\n", man.Facts.SchemaVersion, man.Migration)
	fmt.Fprintf(m.Stdout, "  contents     %d tables, %d rows, %d audit chains\n", len(man.Facts.Tables), man.Facts.Rows(), len(man.Facts.Chains))
	fmt.Fprintf(m.Stdout, "  dump         %d bytes, sha256 %s, in %.2fs (%s)\n", man.Dump.Bytes, man.Dump.SHA256, man.DumpSeconds, man.PgDumpVersion)
	return exitOK
}

// pgBinDir is where the PostgreSQL programs matching the database live:
// the embedded cluster's own installation, else the newest installed.
func pgBinDir(db *database) (string, error) {
	if db.cluster != nil {
		return db.cluster.BinDir()
	}
	dir, err := pgcluster.FindBinDir()
	if errors.Is(err, pgcluster.ErrNoServer) {
		return "", errors.New("no PostgreSQL programs found (pg_dump, pg_restore): install the postgresql package of the server's major version")
	}
	return dir, err
}

// withDatabase returns the URL u with its database replaced.
func withDatabase(u *url.URL, database string) string {
	v := *u
	v.Path = "/" + database
	v.RawPath = ""
	return v.String()
}
