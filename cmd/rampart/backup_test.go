package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/backup"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/trust"
)

// TestBackupRestoreDrill is issue #16's round trip on a DATABASE_URL
// server: a backup of a database with sealed and unsealed audit events,
// a drill that passes every check and is recorded (row and audit event),
// then drills of deliberately corrupted backups that each fail with a
// report naming the problem, and leave no scratch database or temporary
// login behind.
func TestBackupRestoreDrill(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	st := openTestStore(t, db)
	ctx := context.Background()
	env := externalEnv(db, db.AdminURL) // backup and drill take the superuser URL
	acme := seedOrg(t, st, "acme", 3)
	seedOrg(t, st, "globex", 2)
	if code, out, errOut := run(t, env, "audit", "seal"); code != 0 {
		t.Fatalf("seal: %d %s %s", code, out, errOut)
	}
	// Events after the newest seal are covered by the manifest too.
	if err := st.AsService(ctx, "test: unsealed", func(ctx context.Context, tx *store.ServiceTx) error {
		return addVenues(ctx, tx, acme, 3, 1)
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })

	dir := t.TempDir()
	good := filepath.Join(dir, "good.rampart")
	code, out, errOut := run(t, env, "backup", "--out", good)
	if code != 0 || !strings.Contains(out, "backup written to") {
		t.Fatalf("backup: %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(good); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	man := readManifest(t, good)
	if venues := tableRows(man, "public.venues"); venues != 6 {
		t.Fatalf("manifest venues = %d, want 6", venues)
	}
	if chain := chainOf(man, acme.ID.String()); chain.Events == 0 || chain.SealSeq == 0 || len(chain.LastEventMAC) == 0 {
		t.Fatalf("acme's chain head in the manifest: %+v", chain)
	}

	t.Run("round trip", func(t *testing.T) {
		rep, code, stdout, stderr := drill(t, env, good)
		if code != 0 || !rep.OK || rep.FailedChecks != 0 {
			t.Fatalf("drill of a good backup: exit %d\n%s%s", code, stdout, stderr)
		}
		for _, c := range []string{backup.CheckArchive, backup.CheckRestore, backup.CheckMigrations, backup.CheckRLSAudit,
			backup.CheckAuditVerify, backup.CheckRowCounts, backup.CheckChainHeads} {
			if !hasCheck(rep, c, true) {
				t.Errorf("check %s did not pass: %+v", c, rep.Checks)
			}
		}
		if rep.RestoreTime <= 0 || rep.BackupTakenAt == nil || rep.TablesChecked != len(man.Facts.Tables) || rep.ID == 0 {
			t.Fatalf("report: %+v", rep.RestoreDrill)
		}
		last, ok, err := st.Operations().LastRestoreDrill(ctx)
		if err != nil || !ok || last.ID != rep.ID || !last.OK || last.BackupSHA256 != man.Dump.SHA256 || len(last.Checks) != 7 {
			t.Fatalf("last drill = %+v, %v, %v", last, ok, err)
		}
		var events int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'operations.restore_drill.recorded' AND target_id = $1`,
			fmt.Sprint(rep.ID)).Scan(&events); err != nil || events != 1 {
			t.Fatalf("audit events of the record: %d %v", events, err)
		}
		// The text report names each check and the measured restore time.
		code, stdout, stderr = run(t, env, "restore-drill", "--from", good, "--no-record")
		if code != 0 || !strings.Contains(stdout, "restore drill OK: restore ") || strings.Count(stdout, "  ok  ") != 7 {
			t.Fatalf("text report: %d\n%s%s", code, stdout, stderr)
		}
		if again, _, _ := st.Operations().LastRestoreDrill(ctx); again.ID != rep.ID {
			t.Fatalf("--no-record recorded drill %d", again.ID)
		}
		// The trust report shows the recorded drill.
		if c := trustControl(t, db, trust.IDRestoreDrill); c.Status != trust.Met {
			t.Fatalf("trust report after a passing drill: %+v", c)
		}
	})

	t.Run("truncated dump", func(t *testing.T) {
		b, _ := os.ReadFile(good)
		bad := filepath.Join(dir, "truncated.rampart")
		if err := os.WriteFile(bad, b[:len(b)*2/3], 0o600); err != nil {
			t.Fatal(err)
		}
		rep, code, stdout, stderr := drill(t, env, bad)
		if code != 1 || rep.OK || !hasCheck(rep, backup.CheckArchive, false) || !strings.Contains(stderr, "truncated") {
			t.Fatalf("drill of a truncated backup: exit %d\n%s%s", code, stdout, stderr)
		}
		if hasCheck(rep, backup.CheckRestore, true) {
			t.Fatal("a truncated backup was restored")
		}
		last, _, _ := st.Operations().LastRestoreDrill(ctx)
		if last.ID != rep.ID || last.OK || !strings.Contains(last.Summary, "truncated") {
			t.Fatalf("the failed drill was not recorded as failed: %+v", last)
		}
		if c := trustControl(t, db, trust.IDRestoreDrill); c.Status != trust.NotMet || !strings.Contains(c.Summary, "truncated") {
			t.Fatalf("trust report after a failed drill: %+v", c)
		}
	})

	t.Run("changed dump byte", func(t *testing.T) {
		bad := rewriteArchive(t, good, "flipped.rampart", nil, func(dump []byte) { dump[len(dump)/2] ^= 0xff })
		rep, code, stdout, stderr := drill(t, env, bad)
		if code != 1 || !hasCheck(rep, backup.CheckArchive, false) || !strings.Contains(stderr, "SHA-256") {
			t.Fatalf("drill of a changed dump: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("edited manifest counts", func(t *testing.T) {
		bad := rewriteArchive(t, good, "edited.rampart", func(m *backup.Manifest) {
			for i := range m.Facts.Tables {
				if m.Facts.Tables[i].Table == "public.venues" {
					m.Facts.Tables[i].Rows = 7
				}
			}
		}, nil)
		rep, code, stdout, stderr := drill(t, env, bad)
		if code != 1 || !hasCheck(rep, backup.CheckRowCounts, false) || !strings.Contains(stderr, "public.venues has 6 rows, the manifest says 7") {
			t.Fatalf("drill of a backup with an edited manifest: exit %d\n%s%s", code, stdout, stderr)
		}
		// Everything else about the restored copy is sound.
		for _, c := range []string{backup.CheckRestore, backup.CheckMigrations, backup.CheckRLSAudit, backup.CheckAuditVerify, backup.CheckChainHeads} {
			if !hasCheck(rep, c, true) {
				t.Errorf("check %s: %+v", c, rep.Checks)
			}
		}
	})

	t.Run("edited manifest chain head", func(t *testing.T) {
		bad := rewriteArchive(t, good, "chain.rampart", func(m *backup.Manifest) {
			for i := range m.Facts.Chains {
				if m.Facts.Chains[i].Chain == acme.ID.String() {
					m.Facts.Chains[i].Events++
				}
			}
		}, nil)
		rep, code, stdout, stderr := drill(t, env, bad)
		if code != 1 || !hasCheck(rep, backup.CheckChainHeads, false) || !strings.Contains(stderr, "chain "+acme.ID.String()) {
			t.Fatalf("drill of a backup with an edited chain head: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("audit log ahead of the server", func(t *testing.T) {
		// A backup whose audit log refers to transaction ids this server
		// has not reached is refused before anything is restored.
		bad := rewriteArchive(t, good, "future.rampart", func(m *backup.Manifest) { m.Facts.XactHorizon = 5 << 32 }, nil)
		rep, code, stdout, stderr := drill(t, env, bad)
		if code != 1 || !hasCheck(rep, backup.CheckRestore, false) || !strings.Contains(stderr, "behind the backup's newest audit transaction") ||
			!strings.Contains(stderr, "epoch to 6") {
			t.Fatalf("drill of a backup ahead of the server: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("tampered audit row in the dump", func(t *testing.T) {
		// A superuser edits a sealed event, then a backup is taken: the
		// dump and its manifest agree, and only verification catches it.
		var id int64
		if err := admin.QueryRow(ctx, `SELECT min(id) FROM audit_events WHERE action = 'venue.created' AND organization_id = $1`, acme.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE audit_events SET actor_id = 'mallory' WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		tampered := filepath.Join(dir, "tampered.rampart")
		if code, out, errOut := run(t, env, "backup", "--out", tampered); code != 0 {
			t.Fatalf("backup: %d %s %s", code, out, errOut)
		}
		rep, code, stdout, stderr := drill(t, env, tampered)
		if code != 1 || !hasCheck(rep, backup.CheckAuditVerify, false) || !strings.Contains(stderr, fmt.Sprintf("event %d", id)) {
			t.Fatalf("drill of a backup with a tampered audit event: exit %d\n%s%s", code, stdout, stderr)
		}
		if !hasCheck(rep, backup.CheckRowCounts, true) || !hasCheck(rep, backup.CheckRLSAudit, true) {
			t.Fatalf("checks: %+v", rep.Checks)
		}
	})

	// Nothing of any of this test's drills is left behind. Only the names
	// its own drills used are checked: other tests on the same cluster
	// (the trust report) run drills of their own at the same time.
	names := drilled.names()
	var left []string
	if err := admin.QueryRow(ctx, `SELECT coalesce(array_agg(name), '{}') FROM (
		SELECT datname AS name FROM pg_database WHERE datname = ANY($1)
		UNION ALL SELECT rolname FROM pg_roles WHERE rolname = ANY($1)) x`, names).Scan(&left); err != nil || len(left) != 0 {
		t.Fatalf("left behind by this test's drills: %v (%v)", left, err)
	}
	if len(names) == 0 {
		t.Fatal("no drill reported its scratch database")
	}
}

// TestBackupUsage: bad invocations are refused before anything runs.
func TestBackupUsage(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AdminURL)
	noSvc := externalEnv(db, db.AdminURL)
	delete(noSvc, "RAMPART_SERVICE_DATABASE_URL")
	missing := filepath.Join(t.TempDir(), "none.rampart")
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"backup"}, "--out FILE is required"},
		{env, []string{"backup", "--out", "x", "extra"}, "unexpected argument"},
		{env, []string{"restore-drill"}, "--from FILE is required"},
		{env, []string{"restore-drill", "--from", missing}, "not a readable file"},
		{noSvc, []string{"restore-drill", "--from", os.Args[0]}, "RAMPART_SERVICE_DATABASE_URL is required"},
	} {
		if code, _, errOut := run(t, c.env, c.args...); code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errOut)
		}
	}
	// The runtime login cannot make a backup: RLS would hide rows.
	code, _, errOut := run(t, externalEnv(db, db.AppURL), "backup", "--out", filepath.Join(t.TempDir(), "b.rampart"))
	if code != exitFail || !strings.Contains(errOut, "cannot read every row") {
		t.Fatalf("backup as the runtime login: %d %s", code, errOut)
	}
	// A file that is not a backup fails the drill's first check.
	notBackup := filepath.Join(t.TempDir(), "notes.txt")
	_ = os.WriteFile(notBackup, []byte("hello"), 0o600)
	rep, code, _, stderr := drill(t, env, notBackup, "--no-record")
	if code != exitFail || !hasCheck(rep, backup.CheckArchive, false) || !strings.Contains(stderr, "not a rampart backup") {
		t.Fatalf("drill of a text file: %d %s", code, stderr)
	}
}

// drill runs restore-drill --json and decodes its report.
func drill(t *testing.T, env map[string]string, file string, extra ...string) (backup.Report, int, string, string) {
	t.Helper()
	code, stdout, stderr := run(t, env, append([]string{"restore-drill", "--json", "--from", file}, extra...)...)
	var rep backup.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("restore-drill --json printed no report (exit %d): %v\n%s%s", code, err, stdout, stderr)
	}
	drilled.add(rep.Scratch, rep.Login)
	return rep, code, stdout, stderr
}

// drilled collects the scratch databases and temporary logins the
// drills of this package's tests reported, for the leftover check.
var drilled drillNames

type drillNames struct {
	mu sync.Mutex
	n  []string
}

func (d *drillNames) add(names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		if n != "" {
			d.n = append(d.n, n)
		}
	}
	if login := names[len(names)-1]; login != "" {
		d.n = append(d.n, store.ServiceLogin(login))
	}
}

func (d *drillNames) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.n)
}

func hasCheck(rep backup.Report, name string, ok bool) bool {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.OK == ok
		}
	}
	return false
}

func readManifest(t *testing.T, file string) backup.Manifest {
	t.Helper()
	entries := readTar(t, file)
	var m backup.Manifest
	if err := json.Unmarshal(entries[backup.ManifestEntry], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func tableRows(m backup.Manifest, table string) int64 {
	for _, tc := range m.Facts.Tables {
		if tc.Table == table {
			return tc.Rows
		}
	}
	return -1
}

func chainOf(m backup.Manifest, chain string) store.ChainHead {
	for _, c := range m.Facts.Chains {
		if c.Chain == chain {
			return c
		}
	}
	return store.ChainHead{}
}

func readTar(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

// rewriteArchive writes a copy of file named name with the manifest and
// the dump changed by the given functions (nil: unchanged); the manifest's
// checksum is left as it was.
func rewriteArchive(t *testing.T, file, name string, editManifest func(*backup.Manifest), editDump func([]byte)) string {
	t.Helper()
	entries := readTar(t, file)
	m := readManifest(t, file)
	if editManifest != nil {
		editManifest(&m)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	dump := bytes.Clone(entries[backup.DumpEntry])
	if editDump != nil {
		editDump(dump)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct {
		name string
		b    []byte
	}{{backup.ManifestEntry, mb}, {backup.DumpEntry, dump}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: int64(len(e.b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(file), name)
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBackupRestoreDrillEmbedded: the same round trip on the embedded
// cluster of a data directory, with its own pg_dump and pg_restore, its
// own logins and its generated key file; the drill is recorded in the
// embedded database.
func TestBackupRestoreDrillEmbedded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts an embedded cluster")
	}
	env := map[string]string{"RAMPART_DATA_DIR": dataDir(t), "RAMPART_LOG_LEVEL": "warn"}
	if code, out, errOut := run(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "org", "create", "--name", "Acme", "--admin-email", "ann@acme.example"); code != 0 {
		t.Fatalf("org create: %d %s %s", code, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "embedded.rampart")
	if code, out, errOut := run(t, env, "backup", "--out", file); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if n := tableRows(readManifest(t, file), "public.organizations"); n != 1 {
		t.Fatalf("manifest organizations = %d", n)
	}
	code, out, errOut := run(t, env, "restore-drill", "--from", file)
	if code != 0 || !strings.Contains(out, "restore drill OK") || !strings.Contains(out, "recorded as restore drill 1") {
		t.Fatalf("restore-drill: %d\n%s%s", code, out, errOut)
	}
	// A rebuilt machine: a new data directory with only the old key file.
	// Its new cluster's transaction ids are behind the backup's audit log,
	// so the restore advances its epoch; the restored log verifies and
	// new events seal after it.
	fresh := map[string]string{"RAMPART_DATA_DIR": dataDir(t), "RAMPART_LOG_LEVEL": "warn"}
	keys, err := os.ReadFile(filepath.Join(env["RAMPART_DATA_DIR"], "secrets", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(fresh["RAMPART_DATA_DIR"], "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh["RAMPART_DATA_DIR"], "secrets", "keys.json"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, fresh, "restore", "--from", file, "--yes")
	if code != 0 || !strings.Contains(out, "restore OK") || !strings.Contains(errOut, "setting its epoch") {
		t.Fatalf("restore onto a new data directory: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, fresh, "org", "list"); code != 0 || !strings.Contains(out, "acme") {
		t.Fatalf("org list after the restore: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, fresh, "org", "create", "--name", "After", "--admin-email", "bo@after.example"); code != 0 {
		t.Fatalf("org create after the restore: %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{{"audit", "seal"}, {"audit", "verify"}} {
		if code, out, errOut := run(t, fresh, args...); code != 0 {
			t.Fatalf("%v after the restore: %d %s %s", args, code, out, errOut)
		}
	}
}

// TestRestoreReplacesTheDatabase: `rampart restore` refuses without --yes
// and while the database is in use (nothing replaced), then replaces it
// with the checked copy, keeping the old one aside, and records the
// restore in the restored database.
func TestRestoreReplacesTheDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	st := openTestStore(t, db)
	ctx := context.Background()
	env := externalEnv(db, db.AdminURL)
	seedOrg(t, st, "acme", 2)
	file := filepath.Join(t.TempDir(), "before.rampart")
	if code, out, errOut := run(t, env, "backup", "--out", file); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	seedOrg(t, st, "late", 1) // written after the backup: the restore goes back before it
	orgs := func(database string) int {
		t.Helper()
		conn, err := pgx.Connect(ctx, pgtest.SuperURL(database))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM organizations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if code, _, errOut := run(t, env, "restore", "--from", file); code != exitUsage || !strings.Contains(errOut, "pass --yes") {
		t.Fatalf("restore without --yes: %d %s", code, errOut)
	}
	// The store's pool is connected: the swap is refused, nothing changes.
	rep, code, _, stderr := drillCmd(t, env, "restore", file, "--yes")
	if code != exitFail || rep.Promoted || !hasCheck(rep, backup.CheckPromote, false) || !strings.Contains(stderr, "in use") || orgs(db.Name) != 2 {
		t.Fatalf("restore while in use: %d promoted=%v %s", code, rep.Promoted, stderr)
	}
	st.Close()
	rep, code, stdout, stderr := drillCmd(t, env, "restore", file, "--yes")
	if code != 0 || !rep.Promoted || !hasCheck(rep, backup.CheckPromote, true) || rep.ID == 0 {
		t.Fatalf("restore: %d\n%s%s", code, stdout, stderr)
	}
	var aside string
	conn, err := pgx.Connect(ctx, pgtest.SuperURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1", db.Name+"_before_restore_%").Scan(&aside); err != nil {
		t.Fatalf("the replaced database was not kept: %v", err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{aside}.Sanitize()+" WITH (FORCE)")
	})
	if orgs(db.Name) != 1 || orgs(aside) != 2 {
		t.Fatalf("after the restore: %d organizations live, %d kept aside", orgs(db.Name), orgs(aside))
	}
	// The restored database is whole: its audit log verifies, and it
	// holds the record of its own restore.
	if code, out, errOut := run(t, externalEnv(db, db.AppURL), "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after the restore: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, externalEnv(db, db.AppURL), "rls-audit"); code != 0 {
		t.Fatalf("rls-audit after the restore: %d %s %s", code, out, errOut)
	}
}

// drillCmd runs restore-drill or restore with --json and decodes the report.
func drillCmd(t *testing.T, env map[string]string, cmd, file string, extra ...string) (backup.Report, int, string, string) {
	t.Helper()
	code, stdout, stderr := run(t, env, append([]string{cmd, "--json", "--from", file}, extra...)...)
	var rep backup.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%s --json printed no report (exit %d): %v\n%s%s", cmd, code, err, stdout, stderr)
	}
	return rep, code, stdout, stderr
}

// trustControl runs `rampart trust-report` on db (as serve would: the
// runtime login) and returns one control's result from the signed file.
func trustControl(t *testing.T, db *pgtest.DB, id string) trust.Result {
	t.Helper()
	file := filepath.Join(t.TempDir(), "trust.json")
	if code, _, errOut := run(t, externalEnv(db, db.AppURL), "trust-report", "--format", "json", "--out", file); code != exitOK && code != exitFail {
		t.Fatalf("trust-report: exit %d %s", code, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.Verify(b, openTestKeys(t))
	if err != nil || v.Report == nil {
		t.Fatalf("verify the trust report: %v", err)
	}
	c, ok := v.Report.Control(id)
	if !ok {
		t.Fatalf("the trust report has no %s control", id)
	}
	return c
}
