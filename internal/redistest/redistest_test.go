package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func socketOf(t *testing.T, url string) string {
	t.Helper()
	sock, ok := strings.CutPrefix(url, "unix://")
	if !ok || filepath.Base(sock) != "redis.sock" {
		t.Fatalf("URL %q is not unix://<dir>/redis.sock", url)
	}
	return sock
}

// TestStartAndCleanup: the server answers while the test runs; afterwards
// it is stopped and its directory removed.
func TestStartAndCleanup(t *testing.T) {
	var sock string
	t.Run("server", func(t *testing.T) {
		sock = socketOf(t, Start(t))
		if err := ping(context.Background(), sock); err != nil {
			t.Fatal(err)
		}
		if pids := serversOn(sock); len(pids) != 1 {
			t.Fatalf("%d redis-server processes on %s, want 1", len(pids), sock)
		}
	})
	if _, err := os.Stat(filepath.Dir(sock)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory %s not removed: %v", filepath.Dir(sock), err)
	}
	if pids := serversOn(sock); len(pids) != 0 {
		t.Errorf("redis-server %v still running after cleanup", pids)
	}
}

// TestServersAreSeparate: two Starts give two servers.
func TestServersAreSeparate(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("both servers on %s", a)
	}
}

// TestServerDiesWithTestBinary: a test binary killed with SIGKILL (no
// cleanup runs) takes its redis-server along.
func TestServerDiesWithTestBinary(t *testing.T) {
	if os.Getenv("REDISTEST_HELPER") == "1" {
		fmt.Println("SOCKET " + socketOf(t, Start(t)))
		time.Sleep(time.Minute) // killed by the parent
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestBinary$", "-test.v")
	cmd.Env = append(os.Environ(), "REDISTEST_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var sock string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "SOCKET "); ok {
			sock = s
			break
		}
	}
	if sock == "" {
		t.Fatal("helper did not report its socket")
	}
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(sock)) }) // the helper could not
	if len(serversOn(sock)) != 1 {
		t.Fatal("helper's redis-server not running")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for len(serversOn(sock)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %v outlived the killed test binary", serversOn(sock))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serversOn lists the pids of live processes working in sock's directory
// (redis-server rewrites its command line, so match its cwd).
func serversOn(sock string) []string {
	dir := filepath.Dir(sock)
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err != nil || cwd != dir {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			// Skip zombies: exited, awaiting their parent.
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
				continue
			}
		}
		pids = append(pids, e.Name())
	}
	return pids
}
