package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// writeArchive writes the tar of manifest and the dump file to out through
// a temporary file in the same directory (synced, then renamed): readers
// see no backup or the whole backup, never half of one. The file is the
// operator's alone (0600): it holds every tenant's rows.
func writeArchive(out string, m Manifest, dumpPath string) (err error) {
	mb, err := m.encode()
	if err != nil {
		return err
	}
	dump, err := os.Open(dumpPath)
	if err != nil {
		return err
	}
	defer dump.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".rampart-backup-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	tw := tar.NewWriter(tmp)
	mod := m.TakenAt.UTC().Truncate(time.Second)
	if err = tw.WriteHeader(&tar.Header{Name: ManifestEntry, Mode: 0o600, Size: int64(len(mb)), ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err = tw.Write(mb); err != nil {
		return err
	}
	if err = tw.WriteHeader(&tar.Header{Name: DumpEntry, Mode: 0o600, Size: m.Dump.Bytes, ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err = io.Copy(tw, dump); err != nil {
		return fmt.Errorf("copy the dump into the archive: %w", err)
	}
	if err = tw.Close(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// ArchiveError is a backup file that cannot be used: unreadable, not a
// rampart backup, or a dump that does not match its manifest.
type ArchiveError struct {
	Path string
	Msg  string
}

func (e *ArchiveError) Error() string { return e.Path + ": " + e.Msg }

// openArchive reads the backup at path: the manifest, and the dump copied
// into dir (returned as dumpPath) while its SHA-256 is computed. A dump
// whose size or SHA-256 differs from the manifest's is an *ArchiveError
// that says so; the manifest is returned whenever it could be read, so a
// report can still say what the backup claimed.
func openArchive(path, dir string) (m Manifest, dumpPath string, err error) {
	fail := func(format string, args ...any) (Manifest, string, error) {
		return m, "", &ArchiveError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	f, err := os.Open(path)
	if err != nil {
		return fail("cannot open: %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	hdr, err := tr.Next()
	if err != nil {
		return fail("not a rampart backup (a tar whose first entry is %s): %v", ManifestEntry, err)
	}
	if hdr.Name != ManifestEntry || hdr.Typeflag != tar.TypeReg {
		return fail("not a rampart backup: the first entry is %q, want %s", hdr.Name, ManifestEntry)
	}
	if m, err = parseManifest(tr); err != nil {
		return fail("%v", err)
	}
	hdr, err = tr.Next()
	if err != nil {
		return fail("the dump entry %s is missing or unreadable (a truncated file?): %v", DumpEntry, err)
	}
	if hdr.Name != DumpEntry || hdr.Typeflag != tar.TypeReg {
		return fail("the second entry is %q, want %s", hdr.Name, DumpEntry)
	}
	dumpPath = filepath.Join(dir, DumpEntry)
	out, err := os.OpenFile(dumpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail("cannot extract the dump: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), tr) // #nosec G110 -- the operator's own backup, verified against its manifest's size and SHA-256 right after
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fail("the dump is truncated: %d of the manifest's %d bytes are there", n, m.Dump.Bytes)
	case err != nil:
		return fail("cannot read the dump: %v", err)
	case n != m.Dump.Bytes:
		return fail("the dump has %d bytes, the manifest says %d", n, m.Dump.Bytes)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.Dump.SHA256 {
		return fail("the dump's SHA-256 is %s, the manifest says %s: the dump was changed or damaged after the backup", sum, m.Dump.SHA256)
	}
	if _, err := tr.Next(); err != io.EOF {
		return fail("unexpected content after the dump entry")
	}
	return m, dumpPath, nil
}

// hashFile returns a file's size and SHA-256.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
