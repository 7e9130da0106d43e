package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoServer means no PostgreSQL server binaries were found.
var ErrNoServer = errors.New("no PostgreSQL server binaries found (initdb and postgres): install them with `apt-get install postgresql` (make demo and make test do this when run as root), or set DATABASE_URL to an existing server")

// FindBinDir locates a directory holding initdb and postgres: first
// `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	candidates = append(candidates, dirs...)
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	st, err := os.Stat(path) // #nosec G703 -- a PostgreSQL binary directory the operator configured or a known install path; no request reaches it
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// osUser is the unprivileged account that runs the cluster when Rampart runs as root.
type osUser struct {
	name     string
	uid, gid uint32
}

// runAs returns nil when the process is not root (the cluster runs as the
// current user), else the account named (default "postgres").
func runAs(name string) (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: PostgreSQL refuses to run as root and the system user %q to run it as does not exist (%v): install the postgresql package, which creates it, or set RAMPART_PG_OS_USER to another unprivileged user", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("pgcluster: system user %q is not a usable unprivileged account (uid %s): set RAMPART_PG_OS_USER to another user", name, u.Uid)
	}
	return &osUser{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
}

// procAttr runs a child as the account (if any) in its own process group,
// with a parent-death signal so a killed manager takes its server along.
func (u *osUser) procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
	if u != nil {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid} // no supplementary groups: root's are dropped
	}
	return a
}

// checkReach verifies that the account can traverse every ancestor of dir,
// which PostgreSQL needs to reach its data directory.
func (u *osUser) checkReach(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if errors.Is(err, os.ErrNotExist) {
			continue // created later, world-traversable
		}
		if err != nil {
			return fmt.Errorf("pgcluster: stat %s: %w", d, err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		if ok {
			reach := mode&0o001 != 0 ||
				(sys.Uid == u.uid && mode&0o100 != 0) ||
				(sys.Gid == u.gid && mode&0o010 != 0)
			if !reach {
				return fmt.Errorf("pgcluster: the embedded cluster runs as system user %q (PostgreSQL refuses root), which cannot enter %s (mode %o): choose a data directory it can reach with --data-dir / RAMPART_DATA_DIR (for example /var/lib/rampart), or run `chmod o+x %s`", u.name, d, mode, d)
			}
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// binDirFor picks the server binaries for the cluster in pgData: those of
// its PG_VERSION when installed (a newer major version cannot open it),
// else FindBinDir for a new cluster.
func binDirFor(pgData string) (string, error) {
	b, err := os.ReadFile(filepath.Join(pgData, "PG_VERSION"))
	if err != nil {
		return FindBinDir()
	}
	v := strings.TrimSpace(string(b))
	d := filepath.Join("/usr/lib/postgresql", v, "bin")
	if isExecutable(filepath.Join(d, "postgres")) {
		return d, nil
	}
	found, err := FindBinDir()
	if err != nil {
		return "", err
	}
	if out, err := exec.Command(filepath.Join(found, "postgres"), "--version").Output(); err == nil && !strings.Contains(string(out), " "+v+".") {
		return "", fmt.Errorf("pgcluster: the cluster in %s is PostgreSQL %s but the installed server is %s: install postgresql-%s", pgData, v, strings.TrimSpace(string(out)), v)
	}
	return found, nil
}

// ownDir gives a directory Rampart created to the cluster's user.
func ownDir(path string, owner *osUser) error {
	if owner == nil {
		return nil
	}
	if err := os.Lchown(path, int(owner.uid), int(owner.gid)); err != nil {
		return fmt.Errorf("pgcluster: chown %s to %s: %w", path, owner.name, err)
	}
	return nil
}

// secureSocketDir creates the socket directory (mode 0700, owned by the
// cluster's user) or checks an existing one. It never follows a symlink and
// never adopts a directory someone else owns: a socket directory in a
// shared place (the system temp dir) could otherwise be planted.
func secureSocketDir(path string, owner *osUser) error {
	uid := uint32(os.Getuid())
	if owner != nil {
		uid = owner.uid
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(path, 0o700); err != nil {
			return fmt.Errorf("pgcluster: create socket directory %s: %w", path, err)
		}
		return ownDir(path, owner)
	}
	if err != nil {
		return fmt.Errorf("pgcluster: stat socket directory %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() || !ok || st.Uid != uid || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("pgcluster: socket directory %s is not a private directory of the cluster's user (a symlink, another owner, or open permissions); refusing to use it: remove it and start again", path)
	}
	return nil
}

// BinDir is the directory of the server binaries this cluster runs with
// (Config.BinDir, else those of its PG_VERSION): its pg_dump and
// pg_restore are the ones that match the cluster (rampart backup).
func (c *Cluster) BinDir() (string, error) {
	if c.cfg.BinDir != "" {
		return c.cfg.BinDir, nil
	}
	return binDirFor(c.pgData)
}

// SetXIDEpoch sets the transaction id epoch of the stopped cluster of
// cfg.Dir (pg_resetwal -e, run as the cluster's system user), so that
// every 64-bit transaction id from then on is at least epoch<<32. The
// epoch is stored nowhere but in the control file: nothing in the
// database changes. A restore onto a younger cluster needs it, because
// the audit log orders events by transaction id. The cluster must be shut
// down cleanly and no process may hold it.
func SetXIDEpoch(cfg Config, epoch uint32) error {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	paths, err := ResolvePaths(dir, cfg.OSUser)
	if err != nil {
		return err
	}
	if pid, alive := postmasterAlive(paths.Data); alive {
		return fmt.Errorf("pgcluster: the cluster in %s is running (pid %d): stop it before changing its transaction id epoch", paths.Data, pid)
	}
	owner, err := runAs(cfg.OSUser)
	if err != nil {
		return err
	}
	bin := cfg.BinDir
	if bin == "" {
		if bin, err = binDirFor(paths.Data); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "pg_resetwal"), "-e", strconv.FormatUint(uint64(epoch), 10), "-D", paths.Data)
	cmd.Dir = paths.Data
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = owner.procAttr()
	cmd.SysProcAttr.Pdeathsig = 0
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: pg_resetwal -e %d failed: %w\n%s", epoch, err, strings.TrimSpace(string(out)))
	}
	return nil
}
