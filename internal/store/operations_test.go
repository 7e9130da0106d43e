package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func sampleDrill(at time.Time) RestoreDrill {
	taken := at.Add(-3 * time.Hour)
	return RestoreDrill{StartedAt: at, FinishedAt: at.Add(2 * time.Second), OK: true, BackupFile: "/backups/nightly.rampart",
		BackupTakenAt: &taken, BackupSHA256: strings.Repeat("ab", 32), BackupBytes: 4096, SchemaVersion: 22,
		RestoreTime: Millis(1500 * time.Millisecond), TotalTime: Millis(2 * time.Second), TablesChecked: 40, RowsChecked: 1234,
		Summary: "restore drill passed", RunBy: "test",
		Checks: []DrillCheck{{Name: "archive", OK: true, Detail: "fine"}, {Name: "restore", OK: true, Detail: "1.5s"}}}
}

// TestRestoreDrillRecords: no drill yet is "none", not an error; a
// recorded drill comes back whole with its audit event in the same
// transaction; the newest one is the last; the runtime role reaches none
// of it.
func TestRestoreDrillRecords(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	if _, ok, err := s.Operations().LastRestoreDrill(ctx); err != nil || ok {
		t.Fatalf("before any drill: ok=%v err=%v", ok, err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	first, err := s.Operations().RecordRestoreDrill(ctx, sampleDrill(at))
	if err != nil {
		t.Fatal(err)
	}
	failed := sampleDrill(at.Add(time.Minute))
	failed.OK = false
	failed.Summary = "restore drill FAILED: row-counts"
	failed.Checks = append(failed.Checks, DrillCheck{Name: "row-counts", OK: false, Detail: "public.venues has 6 rows, the manifest says 7"})
	second, err := s.Operations().RecordRestoreDrill(ctx, failed)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID <= first.ID || second.FailedChecks != 1 {
		t.Fatalf("records: %+v %+v", first, second)
	}
	last, ok, err := s.Operations().LastRestoreDrill(ctx)
	if err != nil || !ok || last.ID != second.ID || last.OK || len(last.Checks) != 3 || last.Checks[2].Detail != failed.Checks[2].Detail ||
		time.Duration(last.RestoreTime) != 1500*time.Millisecond || last.BackupAge() != 3*time.Hour {
		t.Fatalf("last drill = %+v (ok %v, err %v)", last, ok, err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var events int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'operations.restore_drill.recorded' AND organization_id IS NULL`).Scan(&events); err != nil || events != 2 {
		t.Fatalf("recorded events: %d %v", events, err)
	}
	// The runtime role has no grant on the table, with or without claims.
	app, err := pgx.Connect(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	if _, err := app.Exec(ctx, "SET ROLE "+AppRole); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := app.QueryRow(ctx, "SELECT count(*) FROM restore_drills").Scan(&n); err == nil {
		t.Fatalf("the runtime role read %d restore drills", n)
	}
}

// TestRestoreDrillRecordRefusesBadInput: each rule is named, and nothing
// is written (no row, no audit event).
func TestRestoreDrillRecordRefusesBadInput(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	at := time.Now().UTC()
	for _, c := range []struct {
		name string
		edit func(*RestoreDrill)
		want string
	}{
		{"finished before started", func(d *RestoreDrill) { d.FinishedAt = d.StartedAt.Add(-time.Second) }, "started_at/finished_at"},
		{"no summary", func(d *RestoreDrill) { d.Summary = " " }, "summary"},
		{"long summary", func(d *RestoreDrill) { d.Summary = strings.Repeat("x", 2001) }, "summary"},
		{"no file", func(d *RestoreDrill) { d.BackupFile = "" }, "backup_file"},
		{"bad checksum", func(d *RestoreDrill) { d.BackupSHA256 = "nothex" }, "backup_sha256"},
		{"negative time", func(d *RestoreDrill) { d.RestoreTime = -1 }, "times and counts"},
		{"no checks", func(d *RestoreDrill) { d.Checks = nil }, "checks"},
		{"ok with a failed check", func(d *RestoreDrill) { d.Checks[1].OK = false }, "ok"},
		{"invalid UTF-8 detail", func(d *RestoreDrill) { d.Checks[0].Detail = "\xff" }, "checks"},
	} {
		d := sampleDrill(at)
		c.edit(&d)
		_, err := s.Operations().RecordRestoreDrill(ctx, d)
		if rampart.ErrorKind(err) != rampart.KindInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var rows, events int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM restore_drills), (SELECT count(*) FROM audit_events)`).Scan(&rows, &events); err != nil || rows != 0 || events != 0 {
		t.Fatalf("after refused records: %d rows, %d events (%v)", rows, events, err)
	}
}
