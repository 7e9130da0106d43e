package pgcluster

import (
	"os"
	"path/filepath"
	"strings"
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
