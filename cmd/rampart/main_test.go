package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/store"
)

func TestMain(m *testing.M) {
	// The test binary doubles as rampart itself for the tests that run
	// real OS processes (cluster_test.go): it runs main and exits.
	if os.Getenv("RAMPART_TEST_RUN_MAIN") == "1" {
		// The drills that SIGKILL a worker shorten River's rescue delay.
		if d, err := time.ParseDuration(os.Getenv("RAMPART_TEST_AI_RESCUE_AFTER")); err == nil {
			aiRescueAfter = d
		}
		// The process-registry tests shorten the heartbeat.
		if d, err := time.ParseDuration(os.Getenv("RAMPART_TEST_PROCESS_HEARTBEAT")); err == nil {
			processHeartbeat = d
		}
		main()
		return
	}
	pgtest.Main(m, store.Prepare)
}

// externalEnv is the environment of a serve on an existing server: the
// runtime login's URL and signing keys (required without the embedded
// cluster), and a data directory of its own outside the source tree (the
// mail outbox goes there).
func externalEnv(db *pgtest.DB, url string) map[string]string {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	return map[string]string{"DATABASE_URL": url, "RAMPART_SERVICE_DATABASE_URL": db.ServiceURL,
		"RAMPART_DATA_DIR":     filepath.Join(os.TempDir(), "rampart-test-"+db.Name),
		"RAMPART_SESSION_KEYS": "k1:" + k, "RAMPART_TOKEN_KEYS": "k1:" + k, "RAMPART_AUDIT_KEYS": "k1:" + k,
		"RAMPART_FIELD_KEYS": "f1:" + k, "RAMPART_SECRETS_KEY": "s1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{11}, 32))}
}

// openTestStore opens a store on db with the audit key of externalEnv, so
// the commands under test and the test write events under one keyring.
func openTestStore(t testing.TB, db *pgtest.DB) *store.Store {
	t.Helper()
	keys, err := audit.NewKeyring([]audit.Key{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db.AppURL, store.Options{ServiceURL: db.ServiceURL, Audit: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// syncBuffer is a goroutine-safe output capture.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a Main started in the background.
type running struct {
	m      *Main
	out    *syncBuffer
	errOut *syncBuffer
	addr   chan net.Addr
	done   chan int
	cancel context.CancelFunc
}

func start(t *testing.T, env map[string]string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{out: &syncBuffer{}, errOut: &syncBuffer{}, addr: make(chan net.Addr, 1), done: make(chan int, 1), cancel: cancel}
	r.m = &Main{Stdout: r.out, Stderr: r.errOut, Getenv: func(k string) string { return env[k] },
		OnListen: func(a net.Addr) { r.addr <- a }}
	go func() { r.done <- r.m.Run(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(60 * time.Second):
			t.Error("rampart did not stop within 60s")
		}
	})
	return r
}

// waitListen returns the bound address, or fails with the output if Main exits first.
func (r *running) waitListen(t *testing.T) net.Addr {
	t.Helper()
	select {
	case a := <-r.addr:
		return a
	case code := <-r.done:
		r.done <- code
		t.Fatalf("rampart exited with %d before listening\nstdout:\n%s\nstderr:\n%s", code, r.out, r.errOut)
	case <-time.After(90 * time.Second):
		t.Fatalf("rampart did not listen within 90s\nstderr:\n%s", r.errOut)
	}
	return nil
}

func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(90 * time.Second):
		t.Fatalf("rampart did not exit within 90s\nstderr:\n%s", r.errOut)
	}
	return -1
}

// dataDir makes a data directory the embedded cluster's system user can reach.
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rampart-cmdtest-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := m.Run(ctx, args)
	return code, out.String(), errOut.String()
}

func postmasterRunning(dataDir string) bool {
	b, err := os.ReadFile(filepath.Join(dataDir, "pg", "postmaster.pid"))
	if err != nil {
		return false
	}
	pid, _, _ := strings.Cut(string(b), "\n")
	return exec.Command("kill", "-0", strings.TrimSpace(pid)).Run() == nil
}

// TestServeEmbedded is the demo path: a fresh data directory, the embedded
// cluster initialised and started, migrations applied, health 200, the
// demo seeded, rls-audit clean against the live cluster, a second serve
// refused, and a clean stop of both server and cluster on cancel.
func TestServeEmbedded(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	env := map[string]string{"RAMPART_DATA_DIR": dir, "RAMPART_LOG_FORMAT": "text"}
	// Read-only commands and the worker create nothing on a fresh data directory.
	for _, args := range [][]string{{"rls-audit"}, {"migrate", "status"}, {"worker"}} {
		code, _, errOut := run(t, env, args...)
		if code == 0 || !(strings.Contains(errOut, "no embedded cluster") || strings.Contains(errOut, "start `rampart serve` first")) {
			t.Fatalf("%v on a fresh data dir: exit %d\n%s", args, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "PG_VERSION")); err == nil {
		t.Fatal("a read-only command initialised a cluster")
	}
	r := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	addr := r.waitListen(t)
	if !strings.Contains(r.out.String(), "/auth/link?token=") {
		t.Errorf("--demo printed no sign-in link:\n%s", r.out)
	}
	// A worker joins the running cluster and stops cleanly.
	wctx, wcancel := context.WithCancel(context.Background())
	wdone := make(chan int, 1)
	var wout syncBuffer
	go func() {
		wdone <- (&Main{Stdout: &wout, Stderr: &wout, Getenv: func(k string) string { return env[k] }}).Run(wctx, []string{"worker"})
	}()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(wout.String(), "worker ready"); {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not get ready beside serve:\n%s", wout.String())
		}
		select {
		case code := <-wdone:
			t.Fatalf("worker beside serve exited early: %d\n%s", code, wout.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	wcancel()
	if code := <-wdone; code != 0 {
		t.Fatalf("worker beside serve: exit %d\n%s", code, wout.String())
	}

	resp, err := http.Get(fmt.Sprintf("http://%s/api/health", addr))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("health: %d %v", resp.StatusCode, body)
	}
	resp, err = http.Get(fmt.Sprintf("http://%s/api/health/ready", addr))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ready: %d", resp.StatusCode)
	}
	if !strings.Contains(r.out.String(), "http://"+addr.String()) {
		t.Errorf("banner does not print the URL:\n%s", r.out)
	}

	// Other commands attach to the running cluster instead of starting one.
	code, out, errOut := run(t, env, "rls-audit")
	if code != 0 {
		t.Fatalf("rls-audit on the demo database: exit %d\n%s\n%s", code, out, errOut)
	}
	code, adminURL, _ := run(t, env, "db", "url", "--admin")
	if code != 0 {
		t.Fatalf("db url --admin: %d", code)
	}
	// Drift by hand on the live demo database: rls-audit exits 1 and names it.
	aconn, err := pgx.Connect(context.Background(), strings.TrimSpace(adminURL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aconn.Exec(context.Background(), "ALTER TABLE venues NO FORCE ROW LEVEL SECURITY"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, env, "rls-audit")
	if code != 1 || !strings.Contains(out, "venues") {
		t.Fatalf("rls-audit after NO FORCE: exit %d\n%s", code, out)
	}
	if _, err := aconn.Exec(context.Background(), "ALTER TABLE venues FORCE ROW LEVEL SECURITY"); err != nil {
		t.Fatal(err)
	}
	aconn.Close(context.Background())
	code, out, _ = run(t, env, "db", "url")
	if code != 0 || !strings.HasPrefix(out, "postgres://rampart@/rampart?") {
		t.Fatalf("db url: %d %q", code, out)
	}
	conn, err := pgx.Connect(context.Background(), strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("connect with `db url`: %v", err)
	}
	conn.Close(context.Background())

	// A second serve on the same data directory is refused, clearly.
	code, _, errOut = run(t, env, "serve", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "already running on data directory") {
		t.Fatalf("second serve: exit %d, stderr %q", code, errOut)
	}

	r.cancel()
	if code := r.wait(t); code != 0 {
		t.Fatalf("serve exited %d after cancel\n%s", code, r.errOut)
	}
	if postmasterRunning(dir) {
		t.Fatal("embedded PostgreSQL still running after serve stopped")
	}

	// A restart on the same data directory reuses the cluster; the demo
	// organization is not seeded twice.
	r2 := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	r2.waitListen(t)
	r2.cancel()
	if code := r2.wait(t); code != 0 {
		t.Fatalf("restart exited %d\n%s", code, r2.errOut)
	}
}

// TestServeRefusesUnsafeLogins: a superuser or BYPASSRLS DATABASE_URL is
// refused with a message naming the problem.
func TestServeRefusesUnsafeLogins(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	bypass := "rampart_bypass_" + strings.ReplaceAll(db.Name, "rt_", "")
	if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{bypass}.Sanitize()+" LOGIN NOINHERIT BYPASSRLS IN ROLE rampart_app"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{bypass}.Sanitize()) })
	bypassURL := strings.Replace(db.AppURL, "://"+pgtest.Login+"@", "://"+bypass+"@", 1)
	if bypassURL == db.AppURL {
		t.Fatalf("could not derive a URL for %s from %s", bypass, db.AppURL)
	}
	cases := []struct {
		name, url, want string
	}{
		{"superuser", db.AdminURL, "superuser"},
		{"bypassrls", bypassURL, "BYPASSRLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, externalEnv(db, tc.url), "serve", "--addr", "127.0.0.1:0")
			if code == 0 || !strings.Contains(errOut, "refusing to start") || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant a refusal naming %q", code, errOut, tc.want)
			}
		})
	}
	// The safe login starts.
	r := start(t, externalEnv(db, db.AppURL), "serve", "--addr", "127.0.0.1:0")
	r.waitListen(t)
}

// TestRLSAuditCatchesDrift: exit 0 on a clean database, 1 after a manual
// ALTER TABLE … NO FORCE ROW LEVEL SECURITY, naming the table.
func TestRLSAuditCatchesDrift(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	code, out, errOut := run(t, env, "rls-audit")
	if code != 0 {
		t.Fatalf("clean database: exit %d\n%s%s", code, out, errOut)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "ALTER TABLE venues NO FORCE ROW LEVEL SECURITY"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, env, "rls-audit")
	if code != 1 || !strings.Contains(out, "venues") {
		t.Fatalf("after NO FORCE: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, env, "rls-audit", "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	// And serve refuses the drifted database.
	code, _, errOut = run(t, env, "serve", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "venues") {
		t.Fatalf("serve on drifted database: exit %d\n%s", code, errOut)
	}
}

func TestUsageAndBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args     []string
		env      map[string]string
		code     int
		contains string
	}{
		{[]string{"--help"}, nil, 0, "rls-audit"},
		{[]string{}, nil, 2, "Usage: rampart"},
		{[]string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--help"}, nil, 0, "RAMPART_ADDR"},
		{[]string{"serve", "--bogus"}, nil, 2, "flag provided but not defined"},
		{[]string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`},
		{[]string{"serve"}, map[string]string{"RAMPART_ADDR": "nonsense"}, 2, "RAMPART_ADDR (--addr)"},
		{[]string{"serve"}, map[string]string{"DATABASE_URL": "mysql://u@h/db"}, 2, "DATABASE_URL (--database-url)"},
		{[]string{"migrate", "sideways"}, nil, 2, `unknown action "sideways"`},
		{[]string{"serve", "--demo", "--addr", "0.0.0.0:8080"}, nil, 2, "--demo listens only on a loopback address"},
		{[]string{"serve", "--demo"}, map[string]string{"DATABASE_URL": "postgres://u@h/db"}, 2, "--demo runs only on the embedded cluster"},
		{[]string{"serve"}, map[string]string{"RAMPART_AUDIT_RETENTION_MONTHS": "6"}, 2, "RAMPART_AUDIT_RETENTION_MONTHS"},
		{[]string{"serve"}, map[string]string{"RAMPART_AUDIT_SEAL_INTERVAL": "1ms"}, 2, "RAMPART_AUDIT_SEAL_INTERVAL"},
		{[]string{"db", "drop"}, nil, 2, "usage: rampart db url"},
		{[]string{"rls-audit", "--help"}, nil, 0, "--json"},
		{[]string{"version"}, nil, 0, "rampart "},
	}
	for _, tc := range cases {
		code, out, errOut := run(t, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.contains) {
			t.Errorf("rampart %v: exit %d (want %d), output lacks %q:\n%s%s", tc.args, code, tc.code, tc.contains, out, errOut)
		}
	}
}

func TestMigrateExternal(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	code, out, errOut := run(t, map[string]string{"DATABASE_URL": db.AdminURL}, "migrate")
	latest, _, _ := store.LatestMigration()
	if code != 0 || !strings.Contains(out, fmt.Sprintf("migrated from version %d to %d", latest, latest)) {
		t.Fatalf("migrate: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, map[string]string{"DATABASE_URL": db.AppURL}, "migrate", "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("schema version %d of %d", latest, latest)) {
		t.Fatalf("status as runtime login: %d\n%s", code, out)
	}
	code, _, errOut = run(t, map[string]string{"DATABASE_URL": db.AppURL}, "migrate")
	if code == 0 || !strings.Contains(errOut, "superuser") {
		t.Fatalf("migrate as the runtime login must fail clearly: %d\n%s", code, errOut)
	}
	code, out, _ = run(t, map[string]string{"DATABASE_URL": db.AdminURL}, "migrate", "validate")
	if code != 0 {
		t.Fatalf("validate: %d\n%s", code, out)
	}
}
