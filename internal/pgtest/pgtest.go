package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampart-dev/rampart/internal/pgcluster"
)

// Login is the runtime login the harness creates (NOINHERIT, member of
// rampart_app only), as the embedded default does.
const Login = "rampart"

// ServiceLogin is the service login (NOINHERIT, member of rampart_service
// only); it matches store.ServiceLogin(Login).
const ServiceLogin = Login + "_svc"

const templateDB = "rampart_template"

// PrepareFunc creates and migrates database as the superuser at superURL
// (a URL to the maintenance database) and creates the login.
type PrepareFunc func(ctx context.Context, superURL func(database string) string, database, login string) error

type harness struct {
	superURL func(database string) string
	appURL   func(database string) string
	svcURL   func(database string) string
	admin    *pgxpool.Pool
	prefix   string
	templ    string
	seq      atomic.Int64
	mu       sync.Mutex // serialises CREATE DATABASE from the template
}

var h *harness

// Main starts the harness, runs the tests and cleans up; call it from TestMain.
func Main(m *testing.M, prepare PrepareFunc) {
	os.Exit(run(m, prepare))
}

func run(m *testing.M, prepare PrepareFunc) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cleanup func()
	var err error
	h, cleanup, err = start(ctx, prepare)
	if err != nil {
		log.Printf("pgtest: %v", err)
		if cleanup != nil {
			cleanup()
		}
		return 1
	}
	code := m.Run()
	cleanup()
	return code
}

func start(ctx context.Context, prepare PrepareFunc) (*harness, func(), error) {
	hs := &harness{prefix: fmt.Sprintf("rt_%d_%s", os.Getpid(), randomHex(3))}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	template := templateDB
	if ext := os.Getenv("RAMPART_TEST_DATABASE_URL"); ext != "" {
		u, err := url.Parse(ext)
		if err != nil {
			return nil, nil, fmt.Errorf("RAMPART_TEST_DATABASE_URL is not a URL: %v", err)
		}
		password := randomHex(16)
		hs.superURL = func(db string) string { v := *u; v.Path = "/" + db; return v.String() }
		loginURL := func(login string) func(string) string {
			return func(db string) string {
				v := *u
				v.Path = "/" + db
				v.User = url.UserPassword(login, password)
				return v.String()
			}
		}
		hs.appURL, hs.svcURL = loginURL(Login), loginURL(ServiceLogin)
		template = hs.prefix + "_template"
		if err := prepare(ctx, hs.superURL, template, Login); err != nil {
			return nil, nil, fmt.Errorf("prepare template: %w", err)
		}
		cleanups = append(cleanups, func() { dropDatabase(hs.superURL("postgres"), template) })
		conn, err := pgx.Connect(ctx, hs.superURL("postgres"))
		if err != nil {
			return nil, cleanup, err
		}
		// ALTER ROLE takes no parameters: let the server quote them.
		for _, login := range []string{Login, ServiceLogin} {
			var q string
			if err = conn.QueryRow(ctx, "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", login, password).Scan(&q); err == nil {
				_, err = conn.Exec(ctx, q)
			}
			if err != nil {
				break
			}
		}
		conn.Close(ctx)
		if err != nil {
			return nil, cleanup, fmt.Errorf("set test login password: %w", err)
		}
	} else {
		removeOrphans()
		dir, err := os.MkdirTemp("", "rampart-pgtest-")
		if err != nil {
			return nil, nil, err
		}
		cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, cleanup, err
		}
		if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return nil, cleanup, err
		}
		cl, err := pgcluster.Open(ctx, pgcluster.Config{
			Dir:    dir,
			NoSync: true,
			Settings: map[string]string{
				"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
				"max_connections": "300", "shared_buffers": "128MB",
			},
		}, pgcluster.Purpose{Name: "test", LongRunning: true})
		if err != nil {
			return nil, cleanup, err
		}
		cleanups = append(cleanups, func() { _ = cl.Close() })
		hs.superURL = func(db string) string { return cl.URL(pgcluster.Superuser, db) }
		hs.appURL = func(db string) string { return cl.URL(Login, db) }
		hs.svcURL = func(db string) string { return cl.URL(ServiceLogin, db) }
		if err := prepare(ctx, hs.superURL, template, Login); err != nil {
			return nil, cleanup, fmt.Errorf("prepare template: %w", err)
		}
	}
	admin, err := pgxpool.New(ctx, hs.superURL("postgres"))
	if err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, admin.Close)
	hs.admin = admin
	hs.templ = template
	return hs, cleanup, nil
}

// DB is one test's private database.
type DB struct {
	Name       string
	AppURL     string // the runtime login: what the code under test uses
	ServiceURL string // the service login: store.Options.ServiceURL
	AdminURL   string // the superuser: set-up and deliberate tampering only
}

// New clones the migrated template into a fresh database for t and drops it
// when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	if h == nil {
		t.Fatal("pgtest: harness not started; call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("%s_%d", h.prefix, h.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.mu.Lock()
	_, err := h.admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s OWNER rampart_owner STRATEGY FILE_COPY",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{h.templ}.Sanitize()))
	h.mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: clone template: %v", err)
	}
	t.Cleanup(func() { dropDatabase(h.superURL("postgres"), name) })
	return &DB{Name: name, AppURL: h.appURL(name), ServiceURL: h.svcURL(name), AdminURL: h.superURL(name)}
}

// SuperURL returns the superuser URL of database (for tests of set-up code).
func SuperURL(database string) string { return h.superURL(database) }

// AppURL returns the runtime login's URL of database.
func AppURL(database string) string { return h.appURL(database) }

func dropDatabase(superURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// removeOrphans deletes harness directories whose test binary has died.
func removeOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "rampart-pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
