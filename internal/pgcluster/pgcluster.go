package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser is the bootstrap superuser that initdb creates. It is reachable
// only through the cluster's private unix socket.
const Superuser = "postgres"

// port only names the socket file (.s.PGSQL.5432); the cluster has no TCP listener.
const port = 5432

// Config says where a cluster lives and how it runs.
type Config struct {
	// Dir is the root of Rampart's data directory. The cluster's files are
	// in Dir/pg, its log in Dir/log/postgres.log, its socket in Dir/run (or
	// a short directory under the system temp dir when that path would
	// exceed the unix socket path limit).
	Dir string
	// BinDir holds initdb and postgres; empty means FindBinDir.
	BinDir string
	// OSUser runs the cluster when the process is root; empty means "postgres".
	OSUser string
	// Settings are extra server settings passed as -c name=value.
	Settings map[string]string
	// NoSync skips fsync during initdb (tests only).
	NoSync bool
	// NoInit refuses to create a cluster: commands that only read (rls-audit,
	// migrate status) must not initialise or migrate anything.
	NoInit bool
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// Purpose names why a process opens the cluster. Two long-running
// processes never share a data directory's lifecycle.
type Purpose struct {
	Name        string // e.g. "serve", "migrate"
	LongRunning bool
	// AttachOnly joins a cluster another Rampart process runs and never
	// starts one (a worker beside serve).
	AttachOnly bool
}

// Cluster is an open handle on an embedded cluster: either this process
// manages it (started it and stops it on Close) or it is attached as a
// client to a cluster that another Rampart process manages.
type Cluster struct {
	cfg       Config
	dir       string
	paths     Paths
	pgData    string
	socketDir string
	logPath   string
	lock      *os.File
	cmd       *exec.Cmd
	exited    chan struct{}
	exitErr   error
	log       *slog.Logger
}

// ErrInUse is returned when another long-running process manages the cluster.
var ErrInUse = errors.New("data directory in use")

// Open starts (initialising on first use) or attaches to the cluster in cfg.Dir.
func Open(ctx context.Context, cfg Config, purpose Purpose) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: data directory is empty: set --data-dir or RAMPART_DATA_DIR")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: resolve data directory %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: create data directory %s: %w", dir, err)
	}
	paths, err := ResolvePaths(dir, cfg.OSUser)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg:       cfg,
		dir:       dir,
		paths:     paths,
		pgData:    paths.Data,
		socketDir: paths.Socket,
		logPath:   filepath.Join(dir, "log", "postgres.log"),
		log:       cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lock, err := os.OpenFile(filepath.Join(dir, "cluster.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: open lock file: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil && purpose.AttachOnly {
			_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
			lock.Close()
			return nil, fmt.Errorf("pgcluster: no rampart process runs the embedded cluster in %s: start `rampart serve` first (the worker joins its cluster), or set DATABASE_URL", dir)
		}
		if err == nil {
			c.lock = lock
			if err := c.writeHolder(purpose); err != nil {
				c.releaseLock()
				return nil, err
			}
			if err := c.startManaged(ctx); err != nil {
				c.releaseLock()
				return nil, err
			}
			return c, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			lock.Close()
			return nil, fmt.Errorf("pgcluster: lock %s: %w", lock.Name(), err)
		}
		holder := readHolder(lock.Name())
		if purpose.LongRunning && holder.longRunning && !purpose.AttachOnly {
			lock.Close()
			return nil, fmt.Errorf("%w: another `rampart %s` (pid %d) is already running on data directory %s; stop it first, or give this one its own --data-dir",
				ErrInUse, holder.name, holder.pid, dir)
		}
		if (!purpose.LongRunning || purpose.AttachOnly) && c.accepting(ctx) {
			// Another Rampart process manages a running cluster: attach as a client.
			lock.Close()
			return c, nil
		}
		if time.Now().After(deadline) {
			lock.Close()
			return nil, fmt.Errorf("pgcluster: timed out after 60s waiting for `rampart %s` (pid %d) to release data directory %s", holder.name, holder.pid, dir)
		}
		select {
		case <-ctx.Done():
			lock.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Paths says where a cluster's files live.
type Paths struct {
	Data   string // the cluster's files (PGDATA)
	Socket string // the unix socket directory
	// Relocated is set when the data directory is out of reach of the
	// cluster's system user (say, a checkout under root's 0700 home):
	// the files then live under RelocatedRoot and Data is linked from
	// <data-dir>/pg.
	Relocated bool
}

// RelocatedRoot holds clusters whose data directory the cluster's system
// user cannot enter.
const RelocatedRoot = "/var/lib/rampart/clusters"

// ResolvePaths decides where the cluster of data directory dir lives:
// normally dir/pg with its socket in dir/run. When Rampart runs as root and
// the cluster's system user cannot enter dir, the cluster lives in
// RelocatedRoot/<hash of dir> (linked from dir/pg), so `make demo` works from
// any checkout. Socket paths are limited to 107 bytes, so a deep data
// directory gets a short, deterministic socket directory under the system
// temp dir instead.
func ResolvePaths(dir, osUser string) (Paths, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Paths{}, fmt.Errorf("pgcluster: resolve data directory: %w", err)
	}
	sum := sha256.Sum256([]byte(dir))
	hash := hex.EncodeToString(sum[:6])
	link := filepath.Join(dir, "pg")
	relocated := filepath.Join(RelocatedRoot, hash)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(link)
		if err != nil {
			return Paths{}, fmt.Errorf("pgcluster: %s links to a missing cluster (%v): remove the link to start a new cluster", link, err)
		}
		return Paths{Data: target, Socket: filepath.Join(filepath.Dir(target), "run"), Relocated: true}, nil
	}
	if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
		owner, err := runAs(osUser)
		if err != nil {
			return Paths{}, err
		}
		if owner != nil && owner.checkReach(link) != nil {
			return Paths{Data: filepath.Join(relocated, "pg"), Socket: filepath.Join(relocated, "run"), Relocated: true}, nil
		}
	}
	p := Paths{Data: link, Socket: filepath.Join(dir, "run")}
	if len(filepath.Join(p.Socket, ".s.PGSQL."+strconv.Itoa(port))) > 100 {
		p.Socket = filepath.Join(os.TempDir(), "rampart-pg-"+hash)
	}
	return p, nil
}

// Managed reports whether this process started the cluster and will stop it.
func (c *Cluster) Managed() bool { return c.cmd != nil }

// SocketDirectory is the directory holding the cluster's unix socket.
func (c *Cluster) SocketDirectory() string { return c.socketDir }

// Exited is closed when a managed postmaster exits on its own; nil when attached.
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

// URL is a connection URL for user on database over the private socket.
func (c *Cluster) URL(user, database string) string {
	return URL(c.socketDir, user, database)
}

// URL builds a socket connection URL; exported for the test harness.
func URL(socketDir, user, database string) string {
	q := url.Values{}
	q.Set("host", socketDir)
	q.Set("port", strconv.Itoa(port))
	q.Set("sslmode", "disable")
	u := url.URL{Scheme: "postgres", User: url.User(user), Path: "/" + database, RawQuery: q.Encode()}
	return u.String()
}

// Close stops a managed cluster with a fast shutdown (waiting up to 30 s,
// then an immediate shutdown) and releases the data directory.
func (c *Cluster) Close() error {
	defer c.releaseLock()
	if c.cmd == nil {
		return nil
	}
	select {
	case <-c.exited:
		return nil
	default:
	}
	c.log.Info("stopping embedded PostgreSQL", "data_dir", c.pgData)
	_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			return errors.New("pgcluster: postgres did not stop; killed")
		}
	}
	return nil
}

func (c *Cluster) releaseLock() {
	if c.lock == nil {
		return
	}
	_ = c.lock.Truncate(0)
	_ = syscall.Flock(int(c.lock.Fd()), syscall.LOCK_UN)
	_ = c.lock.Close()
	c.lock = nil
}

type holder struct {
	pid         int
	name        string
	longRunning bool
}

func (c *Cluster) writeHolder(p Purpose) error {
	if err := c.lock.Truncate(0); err != nil {
		return fmt.Errorf("pgcluster: write lock file: %w", err)
	}
	kind := "command"
	if p.LongRunning {
		kind = "long-running"
	}
	_, err := c.lock.WriteAt([]byte(fmt.Sprintf("%d %s %s\n", os.Getpid(), p.Name, kind)), 0)
	if err != nil {
		return fmt.Errorf("pgcluster: write lock file: %w", err)
	}
	return nil
}

func readHolder(path string) holder {
	b, _ := os.ReadFile(path)
	f := strings.Fields(string(b))
	h := holder{name: "(starting)"}
	if len(f) == 3 {
		h.pid, _ = strconv.Atoi(f[0])
		h.name = f[1]
		h.longRunning = f[2] == "long-running"
	}
	return h
}

// accepting reports whether the cluster answers on its socket.
func (c *Cluster) accepting(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.URL(Superuser, "postgres"))
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

func (c *Cluster) startManaged(ctx context.Context) error {
	owner, err := runAs(c.cfg.OSUser)
	if err != nil {
		return err
	}
	if c.paths.Relocated {
		link := filepath.Join(c.dir, "pg")
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			if c.cfg.NoInit {
				return c.notInitialised()
			}
			if err := os.MkdirAll(filepath.Dir(c.pgData), 0o755); err != nil {
				return fmt.Errorf("pgcluster: create %s: %w", filepath.Dir(c.pgData), err)
			}
			if err := os.Symlink(c.pgData, link); err != nil {
				return fmt.Errorf("pgcluster: link %s: %w", link, err)
			}
			c.log.Warn("the cluster's system user cannot enter the data directory; keeping the cluster files where it can, linked from the data directory",
				"data_dir", c.dir, "cluster_files", c.pgData)
		}
	}
	if owner != nil {
		if err := owner.checkReach(c.pgData); err != nil {
			return err
		}
	}
	if pid, alive := postmasterAlive(c.pgData); alive {
		return fmt.Errorf("pgcluster: a PostgreSQL server (pid %d) that no rampart process manages is running on %s; stop it (pg_ctl stop -D %s, as the cluster's system user) and start again", pid, c.pgData, c.pgData)
	}
	// PG_VERSION decides: an existing cluster, a new or empty directory to
	// initialise, or something else that is never touched.
	_, err = os.Stat(filepath.Join(c.pgData, "PG_VERSION"))
	initialised := err == nil
	created := false
	if !initialised {
		if c.cfg.NoInit {
			return c.notInitialised()
		}
		entries, err := os.ReadDir(c.pgData)
		switch {
		case errors.Is(err, os.ErrNotExist):
			created = true
		case err != nil:
			return fmt.Errorf("pgcluster: read %s: %w", c.pgData, err)
		case len(entries) > 0:
			return fmt.Errorf("pgcluster: %s exists, is not empty and holds no PostgreSQL cluster (no PG_VERSION); rampart will not touch it: choose another --data-dir, or empty that directory", c.pgData)
		}
	}
	bin := c.cfg.BinDir
	if bin == "" {
		if bin, err = binDirFor(c.pgData); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(c.logPath), 0o755); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", filepath.Dir(c.logPath), err)
	}
	if err := os.MkdirAll(c.pgData, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.pgData, err)
	}
	if err := ownDir(c.pgData, owner); err != nil {
		return err
	}
	if err := secureSocketDir(c.socketDir, owner); err != nil {
		return err
	}
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("pgcluster: open log %s: %w", c.logPath, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	if !initialised {
		if err := c.initdb(ctx, bin, owner, logFile); err != nil {
			// Remove only what this run created; an empty directory the
			// user gave stays (empty).
			if created {
				_ = os.RemoveAll(c.pgData)
			} else {
				entries, _ := os.ReadDir(c.pgData)
				for _, e := range entries {
					_ = os.RemoveAll(filepath.Join(c.pgData, e.Name()))
				}
			}
			return err
		}
	}
	args := []string{"-D", c.pgData,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + c.socketDir,
		"-c", "unix_socket_permissions=0700",
		"-c", "port=" + strconv.Itoa(port),
	}
	keys := make([]string, 0, len(c.cfg.Settings))
	for k := range c.cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+c.cfg.Settings[k])
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = c.pgData
	cmd.Env = cleanEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = owner.procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		c.exitErr = cmd.Wait()
		close(c.exited)
	}()
	c.log.Info("starting embedded PostgreSQL", "data_dir", c.pgData, "socket_dir", c.socketDir, "pid", cmd.Process.Pid)
	wait := time.NewTimer(60 * time.Second)
	defer wait.Stop()
	for {
		if c.accepting(ctx) {
			return nil
		}
		select {
		case <-c.exited:
			c.cmd = nil
			return fmt.Errorf("pgcluster: postgres exited during start-up (%v); last log lines:\n%s", c.exitErr, tail(c.logPath, 15))
		case <-ctx.Done():
			_ = c.Close()
			return ctx.Err()
		case <-wait.C:
			_ = c.Close()
			return fmt.Errorf("pgcluster: postgres did not accept connections within 60s; see %s", c.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) initdb(ctx context.Context, bin string, owner *osUser, logFile *os.File) error {
	c.log.Info("initialising embedded PostgreSQL cluster", "data_dir", c.pgData)
	// Local (unix socket) connections are trusted: the socket directory is
	// 0700 and owned by the cluster's user. Host connections are rejected
	// outright, so even a cluster started by hand with TCP enabled admits
	// nobody over the network.
	args := []string{"-D", c.pgData, "-U", Superuser, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-locale", "--no-instructions"}
	if c.cfg.NoSync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
	cmd.Dir = c.pgData
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, logFile)
	cmd.Stderr = io.MultiWriter(&out, logFile)
	cmd.SysProcAttr = owner.procAttr()
	cmd.SysProcAttr.Pdeathsig = 0
	if err := cmd.Run(); err != nil {
		// initdb removes what it wrote on failure; make sure no half cluster remains.
		entries, _ := os.ReadDir(c.pgData)
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(c.pgData, e.Name()))
		}
		return fmt.Errorf("pgcluster: initdb failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}
	// The cluster's own configuration says "no TCP", not only our command line.
	conf, err := os.OpenFile(filepath.Join(c.pgData, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: open postgresql.conf: %w", err)
	}
	defer conf.Close()
	if _, err := conf.WriteString("\n# rampart: unix socket only\nlisten_addresses = ''\nunix_socket_permissions = 0700\n"); err != nil {
		return fmt.Errorf("pgcluster: write postgresql.conf: %w", err)
	}
	return nil
}

func (c *Cluster) notInitialised() error {
	return fmt.Errorf("%w: no embedded cluster in %s yet: start `rampart serve` (or run `rampart migrate`) first, or set DATABASE_URL", ErrNotInitialised, c.dir)
}

// ErrNotInitialised is returned with Config.NoInit when there is no cluster.
var ErrNotInitialised = errors.New("not initialised")

// postmasterAlive reads postmaster.pid and reports whether that process lives.
func postmasterAlive(pgData string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// cleanEnv drops PG* variables so a developer's PGDATA or PGPORT cannot
// redirect the embedded cluster.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
