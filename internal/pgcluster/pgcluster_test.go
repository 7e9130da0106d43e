package pgcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestResolvePaths(t *testing.T) {
	base, err := os.MkdirTemp("", "rampart-paths-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	reachable := filepath.Join(base, "data")
	p, err := ResolvePaths(reachable, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Relocated || p.Data != filepath.Join(reachable, "pg") || p.Socket != filepath.Join(reachable, "run") {
		t.Errorf("reachable dir: %+v", p)
	}

	deep := filepath.Join(base, strings.Repeat("d", 90), "data")
	p, err = ResolvePaths(deep, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Socket, os.TempDir()) || len(p.Socket) > 60 {
		t.Errorf("deep dir: socket %q should be a short temp path", p.Socket)
	}
	again, _ := ResolvePaths(deep, "")
	if again.Socket != p.Socket {
		t.Errorf("socket path not deterministic: %q vs %q", p.Socket, again.Socket)
	}

	if os.Geteuid() != 0 {
		t.Skip("relocation applies only when running as root")
	}
	if _, err := runAs(""); err != nil {
		t.Skipf("no postgres system user: %v", err)
	}
	closed := filepath.Join(base, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	p, err = ResolvePaths(filepath.Join(closed, "data"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Relocated || !strings.HasPrefix(p.Data, RelocatedRoot+"/") || filepath.Dir(p.Socket) != filepath.Dir(p.Data) {
		t.Errorf("unreachable dir: %+v", p)
	}
}

func TestRunAsRejectsRootAndMissingUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runAs only picks a user when running as root")
	}
	if _, err := runAs("root"); err == nil || !strings.Contains(err.Error(), "RAMPART_PG_OS_USER") {
		t.Errorf("root accepted: %v", err)
	}
	if _, err := runAs("no-such-user-rampart"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing user: %v", err)
	}
}

func reachableTemp(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "rampart-pgc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	return base
}

// TestNeverTouchesForeignDirectories: a data directory whose pg/ holds
// something that is not a cluster is refused and left exactly as it was.
func TestNeverTouchesForeignDirectories(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(reachableTemp(t), "data")
	if err := os.MkdirAll(filepath.Join(dir, "pg"), 0o755); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(dir, "pg", "important.txt")
	if err := os.WriteFile(precious, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Config{Dir: dir}, Purpose{Name: "test"})
	if err == nil || !strings.Contains(err.Error(), "holds no PostgreSQL cluster") {
		t.Fatalf("Open: %v", err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep me" {
		t.Fatalf("the file was touched: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "pg")); st.Mode().Perm() != 0o755 {
		t.Fatalf("the directory's mode changed to %o", st.Mode().Perm())
	}
}

// TestRefusesPlantedSocketDirectory: the short socket directory in the
// shared temp dir is predictable; a symlink planted there is refused and
// its target left alone.
func TestRefusesPlantedSocketDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(reachableTemp(t), strings.Repeat("x", 90), "data")
	p, err := ResolvePaths(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Socket, os.TempDir()) {
		t.Fatalf("socket %s not in the temp dir", p.Socket)
	}
	target := reachableTemp(t)
	if err := os.Symlink(target, p.Socket); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(p.Socket) })
	_, err = Open(context.Background(), Config{Dir: dir}, Purpose{Name: "test"})
	if err == nil || !strings.Contains(err.Error(), "refusing to use it") {
		t.Fatalf("Open: %v", err)
	}
	st, _ := os.Stat(target)
	if st.Mode().Perm() != 0o755 || st.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
		t.Fatalf("the symlink's target was changed: mode %o", st.Mode().Perm())
	}
}

// TestNoInitCreatesNothing: read-only commands do not initialise a cluster.
func TestNoInitCreatesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(reachableTemp(t), "data")
	_, err := Open(context.Background(), Config{Dir: dir, NoInit: true}, Purpose{Name: "test"})
	if !errors.Is(err, ErrNotInitialised) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "PG_VERSION")); err == nil {
		t.Fatal("a cluster was created")
	}
}
