package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long Start waits for the server to answer PING.
const startTimeout = 15 * time.Second

// Binary returns the path of redis-server (on PATH or /usr/bin).
func Binary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/bin/redis-server"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/redis-server", nil
	}
	return "", errors.New("redis-server not found on PATH or in /usr/bin: run make deps (Debian package redis-server)")
}

// Start starts a private redis-server for t and returns its URL
// (unix:///tmp/.../redis.sock). The server is stopped in t.Cleanup.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	dir, err := os.MkdirTemp("", "rampart-redistest-")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "redis.sock")
	logFile := filepath.Join(dir, "redis.log")

	cmd := exec.Command(bin,
		"--port", "0",
		"--unixsocket", sock,
		"--unixsocketperm", "700",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile,
		"--daemonize", "no",
	)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Die with the test binary (SIGTERM makes redis exit cleanly), and
		// stay out of the test's process group (no terminal signals).
		Pdeathsig: syscall.SIGTERM,
		Setpgid:   true,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redistest: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Registered after the directory's cleanup, so it runs first: stop the
	// server, then remove its directory.
	t.Cleanup(func() { stop(cmd, exited) })

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if err := ping(ctx, sock); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("redistest: redis-server did not answer PING within %s: %v\n%s", startTimeout, err, tail(logFile))
		}
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it too
			t.Fatalf("redistest: redis-server exited during start-up: %v\n%s", err, tail(logFile))
		case <-time.After(10 * time.Millisecond):
		}
	}
	return "unix://" + sock
}

// stop sends SIGTERM and waits; after a grace period it kills the server.
func stop(cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(5 * time.Second):
	}
	_ = cmd.Process.Kill()
	<-exited
}

// ping sends an inline PING over the socket and expects +PONG.
func ping(ctx context.Context, sock string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}

// tail returns the last lines of the server log for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no redis-server log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "redis-server log:\n" + strings.Join(lines, "\n")
}
