package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-dev/rampart/internal/store"
)

// TakeOptions say what to back up and where.
type TakeOptions struct {
	// AdminURL reaches the database as a login that reads every row: a
	// superuser, or a member of rampart_owner with BYPASSRLS.
	AdminURL string
	// BinDir holds pg_dump (the cluster's own installation's, or the
	// newest installed for an external server).
	BinDir string
	// Out is the backup file to write; an existing file is replaced only
	// once the new backup is complete.
	Out string
	// RampartVersion is recorded in the manifest.
	RampartVersion string
}

// Take writes a backup of the database to opts.Out: pg_dump's custom
// format of one exported snapshot, and the manifest of that snapshot.
func Take(ctx context.Context, opts TakeOptions) (Manifest, error) {
	if opts.Out == "" {
		return Manifest{}, errors.New("no output file")
	}
	dir := filepath.Dir(opts.Out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Manifest{}, fmt.Errorf("the output directory %s does not exist", dir)
	}
	ver, err := toolVersion(ctx, opts.BinDir, "pg_dump")
	if err != nil {
		return Manifest{}, err
	}
	_, names, err := store.LatestMigration()
	if err != nil {
		return Manifest{}, err
	}
	snap, err := store.OpenBackupSnapshot(ctx, opts.AdminURL)
	if err != nil {
		return Manifest{}, err
	}
	defer snap.Close()
	m := Manifest{Format: Format, Version: Version, TakenAt: snap.Facts.At.UTC(), RampartVersion: opts.RampartVersion,
		PgDumpVersion: ver, Facts: snap.Facts, Dump: DumpInfo{Entry: DumpEntry, Format: "custom"}}
	if v := int(snap.Facts.SchemaVersion); v >= 1 && v <= len(names) {
		m.Migration = names[v-1]
	}
	// The dump goes next to the output (same file system, no copy of a
	// large file across devices), readable by its owner only.
	tmp, err := os.CreateTemp(dir, ".rampart-backup-*.dump")
	if err != nil {
		return m, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	start := time.Now()
	if err := pgTool(ctx, opts.BinDir, "pg_dump", opts.AdminURL, "--format=custom", "--snapshot="+snap.ID, "--file="+tmp.Name()); err != nil {
		return m, err
	}
	m.DumpSeconds = time.Since(start).Seconds()
	if m.Dump.Bytes, m.Dump.SHA256, err = hashFile(tmp.Name()); err != nil {
		return m, err
	}
	if err := writeArchive(opts.Out, m, tmp.Name()); err != nil {
		return m, fmt.Errorf("write %s: %w", opts.Out, err)
	}
	return m, nil
}
