package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/store"
)

// Target is the server a drill restores onto and how it logs in there.
type Target struct {
	// BinDir holds pg_restore.
	BinDir string
	// SuperURL is a URL of database on the server as a login that creates
	// and drops databases and restores objects owned by Rampart's roles
	// (a superuser).
	SuperURL func(database string) string
	// AppURL and ServiceURL are the runtime and service logins' URLs of
	// database (the embedded cluster has both). When nil, the drill
	// creates temporary logins (store.CreateDrillLogins) and reaches them
	// through LoginURL.
	AppURL, ServiceURL func(database string) string
	// LoginURL is the URL of database as login with password.
	LoginURL func(login, password, database string) string
}

// DrillOptions configure one drill.
type DrillOptions struct {
	From   string // the backup file
	Target Target
	Audit  *audit.Keyring // the install's audit keys: the events' MACs are checked with them
	// TempDir receives the extracted dump (removed afterwards); empty means os.TempDir().
	TempDir string
	// Progress, when set, hears each step as it starts.
	Progress func(step string)
	// Promote, when set, names the database the restored copy replaces
	// once every check passed (rampart restore): the copy is renamed to
	// it and the database of that name, if any, is kept renamed to Aside.
	Promote, Aside string
}

// Report is a drill's outcome; it is the record store.Operations keeps
// (without ID and RecordedAt until recorded) plus the manifest it read.
type Report struct {
	store.RestoreDrill
	Manifest *Manifest `json:"manifest,omitempty"` // nil when the backup could not be read
	Scratch  string    `json:"scratch_database,omitempty"`
	// Login is the drill's temporary login (and its service twin), when
	// it made one: named so a leftover can be found and dropped by hand.
	Login string `json:"drill_login,omitempty"`
	// Promoted is set when the copy replaced DrillOptions.Promote.
	Promoted bool `json:"promoted,omitempty"`
}

// Check names.
const (
	CheckArchive     = "archive"
	CheckRestore     = "restore"
	CheckMigrations  = "migrations"
	CheckRLSAudit    = "rls-audit"
	CheckAuditVerify = "audit-verify"
	CheckRowCounts   = "row-counts"
	CheckChainHeads  = "chain-heads"
	CheckCleanup     = "cleanup"
	CheckPromote     = "promote"
)

// Drill restores the backup at opts.From into a scratch database of the
// target and checks it (see the package documentation). It returns the
// report, whose OK is false when any check failed; a check that fails
// early (an unreadable archive, a failed restore) ends the drill there.
// The scratch database, temporary logins and extracted dump are removed
// whatever happens (a failure to remove them is a failed check).
func Drill(ctx context.Context, opts DrillOptions) (rep Report) {
	start := time.Now()
	rep = Report{RestoreDrill: store.RestoreDrill{StartedAt: start.UTC(), BackupFile: opts.From}}
	if abs, err := filepath.Abs(opts.From); err == nil {
		rep.BackupFile = abs
	}
	add := func(name string, ok bool, format string, args ...any) bool {
		rep.Checks = append(rep.Checks, store.DrillCheck{Name: name, OK: ok, Detail: clip(fmt.Sprintf(format, args...))})
		return ok
	}
	step := func(s string) {
		if opts.Progress != nil {
			opts.Progress(s)
		}
	}
	defer func() { rep.finish(start) }()

	// 1. The archive: manifest, dump, checksum.
	step("reading " + opts.From)
	dir, err := os.MkdirTemp(opts.TempDir, "rampart-drill-")
	if err != nil {
		add(CheckArchive, false, "cannot create a temporary directory: %v", err)
		return rep
	}
	defer os.RemoveAll(dir)
	m, dumpPath, err := openArchive(opts.From, dir)
	if m.Format != "" {
		rep.Manifest = &m
		taken := m.TakenAt
		rep.BackupTakenAt = &taken
		rep.BackupSHA256, rep.BackupBytes, rep.SchemaVersion = m.Dump.SHA256, m.Dump.Bytes, m.Facts.SchemaVersion
	}
	if err != nil {
		var ae *ArchiveError
		if errors.As(err, &ae) {
			add(CheckArchive, false, "%s", ae.Msg)
		} else {
			add(CheckArchive, false, "%v", err)
		}
		return rep
	}
	add(CheckArchive, true, "manifest read; the dump's %d bytes match its SHA-256 %s", m.Dump.Bytes, m.Dump.SHA256[:16]+"…")

	// 2. Restore into a scratch database.
	scratch := "rampart_drill_" + randomHex(6)
	rep.Scratch = scratch
	t := opts.Target
	superMaint := t.SuperURL("postgres")
	// The audit log's order rests on transaction ids: a copy whose events
	// carry ids this server has not reached yet would fail verification
	// (an id from the future is how tampering hides events from sealing)
	// and new events would sort before old ones.
	if cur, err := store.ServerXact(ctx, superMaint); err != nil {
		add(CheckRestore, false, "cannot read the server's transaction id: %v", err)
		return rep
	} else if cur <= m.Facts.XactHorizon {
		add(CheckRestore, false, "this server's transaction ids (next %d) are behind the backup's newest audit transaction (%d): "+
			"the restored audit log could neither be verified nor sealed in order. Restore onto the cluster the backup came from, "+
			"or advance this cluster's transaction id epoch to %d first (`rampart restore` does it on the embedded cluster; "+
			"on a server you run: pg_resetwal -e %d while it is stopped)", cur, m.Facts.XactHorizon, NeededEpoch(m), NeededEpoch(m))
		return rep
	}
	step("creating scratch database " + scratch)
	if err := store.CreateScratchDatabase(ctx, superMaint, scratch); err != nil {
		add(CheckRestore, false, "cannot create scratch database %s: %v", scratch, err)
		return rep
	}
	defer func() {
		// The drill's own context may be cancelled: clean up regardless.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rep.Promoted {
			return
		}
		if err := store.DropScratchDatabase(cctx, superMaint, scratch); err != nil {
			add(CheckCleanup, false, "scratch database %s was not dropped: %v; drop it by hand (DROP DATABASE %s)", scratch, err, scratch)
		}
	}()
	step("restoring into " + scratch)
	rs := time.Now()
	err = pgTool(ctx, t.BinDir, "pg_restore", t.SuperURL(scratch), "--exit-on-error", "--single-transaction", dumpPath)
	rep.RestoreTime = store.Millis(time.Since(rs))
	if err != nil {
		add(CheckRestore, false, "pg_restore into %s failed after %s: %v", scratch, time.Duration(rep.RestoreTime).Round(time.Millisecond), err)
		return rep
	}
	add(CheckRestore, true, "pg_restore into %s in %s", scratch, time.Duration(rep.RestoreTime).Round(time.Millisecond))

	// 3. The restored copy as Rampart sees it.
	appURL, svcURL := t.AppURL, t.ServiceURL
	if appURL == nil || svcURL == nil {
		login := "rampart_drill_" + randomHex(6)
		rep.Login = login
		password := randomHex(24)
		if err := store.CreateDrillLogins(ctx, superMaint, login, password, time.Now().Add(2*time.Hour)); err != nil {
			add(CheckMigrations, false, "cannot create the drill's temporary logins: %v", err)
			return rep
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			// The logins hold no privilege of their own (only membership
			// in rampart_app or rampart_service), so they drop while the
			// scratch database still exists.
			if err := store.DropDrillLogins(cctx, superMaint, login); err != nil {
				add(CheckCleanup, false, "temporary logins %s and %s were not dropped: %v", login, store.ServiceLogin(login), err)
			}
		}()
		appURL = func(db string) string { return t.LoginURL(login, password, db) }
		svcURL = func(db string) string { return t.LoginURL(store.ServiceLogin(login), password, db) }
	}
	st, err := store.Open(ctx, appURL(scratch), store.Options{ServiceURL: svcURL(scratch), MaxConns: 2, Audit: opts.Audit, Actor: "rampart restore-drill"})
	if err != nil {
		add(CheckMigrations, false, "cannot connect to the restored copy as the runtime login: %v", err)
		return rep
	}
	defer st.Close()

	step("checking migrations")
	latest, _, _ := store.LatestMigration()
	have, err := st.SchemaVersion(ctx)
	switch {
	case err != nil:
		add(CheckMigrations, false, "%v", err)
	case have != m.Facts.SchemaVersion:
		add(CheckMigrations, false, "the restored copy is at migration %d, the manifest says %d", have, m.Facts.SchemaVersion)
	default:
		if err := st.CheckSchema(ctx); err != nil {
			add(CheckMigrations, false, "%v", err)
		} else {
			add(CheckMigrations, true, "migration %d of %d (%s) and the job queue's schema are complete", have, latest, m.Migration)
		}
	}

	step("running the RLS audit")
	if snap, err := st.Catalog(ctx); err != nil {
		add(CheckRLSAudit, false, "%v", err)
	} else {
		r := rlsaudit.Evaluate(snap)
		if r.OK() {
			add(CheckRLSAudit, true, "%d tables checked as login %s: every check passes", len(r.Tables), r.Login)
		} else {
			var fails []string
			for _, f := range r.Findings {
				if f.Severity == rlsaudit.SeverityFail {
					fails = append(fails, fmt.Sprintf("%s %s: %s", f.Check, f.Object, f.Message))
				}
			}
			add(CheckRLSAudit, false, "%d failed: %s", len(fails), strings.Join(fails, "; "))
		}
	}

	step("verifying the audit log")
	if opts.Audit == nil {
		add(CheckAuditVerify, false, "no audit key: set RAMPART_AUDIT_KEYS to the install's keys")
	} else if vr, err := st.Audit().VerifyAnchored(ctx, nil, &m.Facts.Anchors, nil); err != nil {
		add(CheckAuditVerify, false, "%v", err)
	} else if !vr.OK() {
		var probs []string
		for _, c := range vr.Chains {
			for _, p := range c.Problems {
				probs = append(probs, p.String())
			}
		}
		add(CheckAuditVerify, false, "%d problems; first: %s", len(probs), strings.Join(probs, "; "))
	} else {
		add(CheckAuditVerify, true, "%d events in %d chains verified, each chain holding the backup's anchored head", vr.Events, len(vr.Chains))
	}

	step("comparing row counts and chain heads with the manifest")
	got, err := store.ReadBackupFacts(ctx, t.SuperURL(scratch))
	if err != nil {
		add(CheckRowCounts, false, "cannot count the restored rows: %v", err)
		return rep
	}
	rep.TablesChecked, rep.RowsChecked = len(got.Tables), got.Rows()
	if diffs := compareTables(m.Facts.Tables, got.Tables); len(diffs) > 0 {
		add(CheckRowCounts, false, "%d tables differ from the manifest: %s", len(diffs), strings.Join(diffs, "; "))
	} else {
		add(CheckRowCounts, true, "%d tables, %d rows: every count matches the manifest", len(got.Tables), got.Rows())
	}
	if diffs := compareChains(m.Facts.Chains, got.Chains); len(diffs) > 0 {
		add(CheckChainHeads, false, "%d audit chains differ from the manifest: %s", len(diffs), strings.Join(diffs, "; "))
	} else {
		add(CheckChainHeads, true, "%d audit chains: event counts, newest events and newest seals match the manifest", len(got.Chains))
	}
	if opts.Promote == "" {
		return rep
	}
	for _, c := range rep.Checks {
		if !c.OK {
			add(CheckPromote, false, "not promoted: a check failed; %s is unchanged", opts.Promote)
			return rep
		}
	}
	step("making the restored copy database " + opts.Promote)
	st.Close() // no connection may remain on the copy while it is renamed
	kept, err := store.PromoteDatabase(ctx, superMaint, scratch, opts.Promote, opts.Aside)
	if err != nil {
		add(CheckPromote, false, "%v; %s is unchanged", err, opts.Promote)
		return rep
	}
	rep.Promoted = true
	if kept {
		add(CheckPromote, true, "the restored copy is now database %s; the previous one is kept as %s", opts.Promote, opts.Aside)
	} else {
		add(CheckPromote, true, "the restored copy is now database %s (there was none before)", opts.Promote)
	}
	return rep
}

// finish fills in the verdict, the times and the summary.
func (r *Report) finish(start time.Time) {
	r.FinishedAt = time.Now().UTC()
	r.TotalTime = store.Millis(time.Since(start))
	r.FailedChecks = 0
	var failed []string
	for _, c := range r.Checks {
		if !c.OK {
			r.FailedChecks++
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	r.OK = r.FailedChecks == 0 && len(r.Checks) > 0
	age := ""
	if r.BackupTakenAt != nil {
		age = fmt.Sprintf(" of a backup %s old", r.BackupAge().Round(time.Second))
	}
	if r.OK {
		r.Summary = fmt.Sprintf("restore drill passed%s: restored in %s, %d checks passed (%d tables, %d rows)",
			age, time.Duration(r.RestoreTime).Round(time.Millisecond), len(r.Checks), r.TablesChecked, r.RowsChecked)
	} else {
		r.Summary = clip(fmt.Sprintf("restore drill FAILED%s: %d of %d checks failed; %s", age, r.FailedChecks, len(r.Checks), strings.Join(failed, " | ")))
	}
}

// compareTables lists every table whose count differs, is missing or is extra.
func compareTables(want, got []store.TableCount) []string {
	g := map[string]int64{}
	for _, t := range got {
		g[t.Table] = t.Rows
	}
	var diffs []string
	for _, t := range want {
		n, ok := g[t.Table]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s is missing (manifest: %d rows)", t.Table, t.Rows))
		case n != t.Rows:
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, the manifest says %d", t.Table, n, t.Rows))
		}
		delete(g, t.Table)
	}
	for _, t := range got {
		if _, extra := g[t.Table]; extra {
			diffs = append(diffs, fmt.Sprintf("%s (%d rows) is not in the manifest", t.Table, t.Rows))
		}
	}
	return diffs
}

// compareChains lists every audit chain whose head differs from the manifest's.
func compareChains(want, got []store.ChainHead) []string {
	g := map[string]store.ChainHead{}
	for _, c := range got {
		g[c.Chain] = c
	}
	var diffs []string
	for _, w := range want {
		c, ok := g[w.Chain]
		delete(g, w.Chain)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("chain %s is missing (manifest: %d events)", w.Chain, w.Events))
		case c.Events != w.Events:
			diffs = append(diffs, fmt.Sprintf("chain %s has %d events, the manifest says %d", w.Chain, c.Events, w.Events))
		case c.LastEventID != w.LastEventID || !bytes.Equal(c.LastEventMAC, w.LastEventMAC):
			diffs = append(diffs, fmt.Sprintf("chain %s: the newest event is %d (MAC %x), the manifest says %d (MAC %x)", w.Chain, c.LastEventID, short(c.LastEventMAC), w.LastEventID, short(w.LastEventMAC)))
		case c.SealSeq != w.SealSeq || !bytes.Equal(c.SealMAC, w.SealMAC):
			diffs = append(diffs, fmt.Sprintf("chain %s: the newest seal is %d, the manifest says %d (or its MAC differs)", w.Chain, c.SealSeq, w.SealSeq))
		}
	}
	for _, c := range got {
		if _, extra := g[c.Chain]; extra {
			diffs = append(diffs, fmt.Sprintf("chain %s (%d events) is not in the manifest", c.Chain, c.Events))
		}
	}
	return diffs
}

func short(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

// clip keeps a detail within what the record stores.
func clip(s string) string {
	const max = 1900
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + " …"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NeededEpoch is the transaction id epoch a cluster needs so that every
// new transaction id is past the backup's audit log (pg_resetwal -e).
func NeededEpoch(m Manifest) uint32 {
	return uint32(uint64(m.Facts.XactHorizon)>>32) + 1
}

// ReadManifest reads only the manifest of the backup at path (no checks
// of the dump).
func ReadManifest(path string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestEntry {
		return Manifest{}, &ArchiveError{Path: path, Msg: "not a rampart backup"}
	}
	return parseManifest(tr)
}
