package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the rampart command once for the process tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rampart")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs `rampart serve` as a real process and waits for its URL.
func startBinary(t *testing.T, bin, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "text")
	cmd.Env = append(os.Environ(), "DATABASE_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "URL:"); ok {
				urls <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(90 * time.Second):
		t.Fatal("rampart serve printed no URL within 90s")
	}
	return nil, ""
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatal("rampart did not exit within 60s")
	}
	return -1
}

func waitNoPostmaster(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for postmasterRunning(dir) {
		if time.Now().After(deadline) {
			t.Fatal("embedded PostgreSQL still running")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProcessSignals: Ctrl-C (SIGINT) and SIGTERM stop serve and its
// cluster cleanly with exit 0; SIGKILL of serve still takes the cluster
// down (parent-death signal), and the next start recovers the data.
func TestProcessSignals(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := dataDir(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		cmd, url := startBinary(t, bin, dir)
		resp, err := http.Get(url + "/api/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health %d", resp.StatusCode)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		code := waitExit(t, cmd)
		if sig != syscall.SIGKILL && code != 0 {
			t.Fatalf("%v: exit code %d, want 0", sig, code)
		}
		waitNoPostmaster(t, dir)
	}
	// After the SIGKILL the cluster is recovered on the next start.
	cmd, url := startBinary(t, bin, dir)
	resp, err := http.Get(url + "/api/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ready after recovery: %d", resp.StatusCode)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
