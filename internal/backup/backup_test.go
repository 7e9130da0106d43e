package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/store"
)

func sampleManifest(dumpBytes int64, sum string) Manifest {
	return Manifest{Format: Format, Version: Version, TakenAt: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
		Dump:  DumpInfo{Entry: DumpEntry, Format: "custom", Bytes: dumpBytes, SHA256: sum},
		Facts: store.BackupFacts{SchemaVersion: 22, Tables: []store.TableCount{{Table: "public.venues", Rows: 3}}}}
}

// TestArchiveRoundTripAndDamage: an archive reads back whole; a truncated
// one, one whose dump differs from its checksum, one of another format or
// version, and a file that is not a tar are each refused with a sentence
// that says which.
func TestArchiveRoundTripAndDamage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dump := filepath.Join(dir, "in.dump")
	if err := os.WriteFile(dump, []byte(strings.Repeat("PGDMP", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	n, sum, err := hashFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.rampart")
	if err := writeArchive(good, sampleManifest(n, sum), dump); err != nil {
		t.Fatal(err)
	}
	m, path, err := openArchive(good, t.TempDir())
	if err != nil || m.Dump.SHA256 != sum || m.Facts.Tables[0].Rows != 3 {
		t.Fatalf("round trip: %+v %v", m, err)
	}
	if _, psum, _ := hashFile(path); psum != sum {
		t.Fatal("the extracted dump differs")
	}
	b, _ := os.ReadFile(good)
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := filepath.Join(dir, "other.rampart")
	if err := writeArchive(other, sampleManifest(n, strings.Repeat("0", 64)), dump); err != nil {
		t.Fatal(err)
	}
	wrongVersion := sampleManifest(n, sum)
	wrongVersion.Version = 2
	v2 := filepath.Join(dir, "v2.rampart")
	if err := writeArchive(v2, wrongVersion, dump); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, want string
	}{
		{write("truncated.rampart", b[:len(b)-1500]), "truncated"},
		{other, "SHA-256"},
		{v2, "version 2"},
		{write("text.rampart", []byte("not a tar at all")), "not a rampart backup"},
		{filepath.Join(dir, "missing.rampart"), "cannot open"},
	} {
		_, _, err := openArchive(c.file, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", filepath.Base(c.file), err, c.want)
		}
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	want := []store.TableCount{{Table: "public.a", Rows: 1}, {Table: "public.b", Rows: 2}, {Table: "public.c", Rows: 0}}
	got := []store.TableCount{{Table: "public.a", Rows: 1}, {Table: "public.b", Rows: 3}, {Table: "public.d", Rows: 4}}
	d := strings.Join(compareTables(want, got), "; ")
	for _, s := range []string{"public.b has 3 rows, the manifest says 2", "public.c is missing", "public.d (4 rows) is not in the manifest"} {
		if !strings.Contains(d, s) {
			t.Errorf("table diffs %q lack %q", d, s)
		}
	}
	if len(compareTables(want, want)) != 0 {
		t.Error("equal counts differ")
	}
	wc := []store.ChainHead{{Chain: "platform", Events: 2, LastEventID: 9, LastEventMAC: []byte{1}, SealSeq: 1, SealMAC: []byte{2}}}
	gc := []store.ChainHead{{Chain: "platform", Events: 2, LastEventID: 9, LastEventMAC: []byte{7}, SealSeq: 1, SealMAC: []byte{2}}}
	if d := compareChains(wc, gc); len(d) != 1 || !strings.Contains(d[0], "newest event") {
		t.Errorf("chain diffs: %q", d)
	}
	if len(compareChains(wc, wc)) != 0 {
		t.Error("equal chains differ")
	}
}
