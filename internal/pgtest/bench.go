package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ScaleEnv is the environment variable that sizes the benchmarks:
// "quick" (make bench-quick: fewer tenants, shorter phases) or "full"
// (make bench, the default).
const ScaleEnv = "RAMPART_BENCH_SCALE"

// Quick reports whether the benchmarks run at the quick scale
// (RAMPART_BENCH_SCALE=quick).
func Quick() bool { return os.Getenv(ScaleEnv) == "quick" }

// PgbenchScript is one pgbench script (its text, with :name variables)
// and the values of the variables it names, passed with -D.
type PgbenchScript struct {
	Text string
	Vars map[string]string
}

// Pgbench is one run of pgbench: the database's own client, driving the
// same statements as the code under test without any Go in the way. Each
// script runs in its own pgbench process with one connection (-c 1), all
// at once: a connection's variables (a tenant's claims) stay its own, and
// with -M prepared it prepares only its own script's statements, once,
// as pgx's statement cache does.
type Pgbench struct {
	URL      string // libpq URL; the runtime login's for tenant work
	Scripts  []PgbenchScript
	Duration time.Duration
	// Mode is pgbench's -M: "prepared" (what pgx's statement cache
	// does; the default) or "extended".
	Mode string
	Dir  string // where the scripts and transaction logs are written
}

// PgbenchResult is what a run measured: the throughput pgbench reports
// (without connection set-up) and every transaction's latency from the
// per-transaction logs (-l).
type PgbenchResult struct {
	TPS       float64
	Latencies []time.Duration
	Failed    int
}

// PgbenchPath finds pgbench: on PATH, or in a PostgreSQL bin directory
// (Debian's package postgresql-NN ships it with the server).
// The server's own directory comes first: Debian's /usr/bin/pgbench is a
// wrapper that picks a version.
func PgbenchPath() (string, error) {
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(dirs) > 0 {
		return dirs[len(dirs)-1], nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	return "", errors.New("pgbench not found: install the PostgreSQL server package (make deps)")
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// Run runs the scripts for p.Duration, each in its own pgbench process;
// their throughputs add up.
func (p Pgbench) Run(ctx context.Context) (PgbenchResult, error) {
	bin, err := PgbenchPath()
	if err != nil {
		return PgbenchResult{}, err
	}
	mode := p.Mode
	if mode == "" {
		mode = "prepared"
	}
	if len(p.Scripts) == 0 {
		return PgbenchResult{}, errors.New("pgbench: no scripts")
	}
	run, err := os.MkdirTemp(p.Dir, "pgbench-")
	if err != nil {
		return PgbenchResult{}, err
	}
	defer os.RemoveAll(run)
	tps := make([]float64, len(p.Scripts))
	errs := make([]error, len(p.Scripts))
	var wg sync.WaitGroup
	for i, s := range p.Scripts {
		f := filepath.Join(run, fmt.Sprintf("s%d.sql", i))
		if err := os.WriteFile(f, []byte(s.Text), 0o644); err != nil {
			return PgbenchResult{}, err
		}
		args := []string{"-n", "-M", mode, "-c", "1", "-j", "1", "-T", strconv.Itoa(max(1, int(p.Duration.Round(time.Second).Seconds()))),
			"-l", "--log-prefix", filepath.Join(run, fmt.Sprintf("log%d", i)), "-f", f}
		for name, v := range s.Vars {
			args = append(args, "-D", name+"="+v)
		}
		args = append(args, p.URL)
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = run
			b, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("pgbench: %v: %s", err, lastLines(string(b), 8))
				return
			}
			m := tpsLine.FindStringSubmatch(string(b))
			if m == nil {
				errs[i] = fmt.Errorf("pgbench: no tps in its output: %s", lastLines(string(b), 8))
				return
			}
			tps[i], _ = strconv.ParseFloat(m[1], 64)
		})
	}
	wg.Wait()
	var res PgbenchResult
	for i := range p.Scripts {
		if errs[i] != nil {
			return PgbenchResult{}, errs[i]
		}
		res.TPS += tps[i]
	}
	logs, _ := filepath.Glob(filepath.Join(run, "log*"))
	for _, f := range logs {
		lat, failed, err := readPgbenchLog(f)
		if err != nil {
			return PgbenchResult{}, err
		}
		res.Latencies = append(res.Latencies, lat...)
		res.Failed += failed
	}
	if len(res.Latencies) == 0 {
		return PgbenchResult{}, errors.New("pgbench: no transactions logged")
	}
	return res, nil
}

// readPgbenchLog reads a per-transaction log: "client_id transaction_no
// time script_no time_epoch time_us", time in microseconds, or "failed" /
// "skipped" instead of it.
func readPgbenchLog(name string) ([]time.Duration, int, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var lat []time.Duration
	failed := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		us, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			failed++
			continue
		}
		lat = append(lat, time.Duration(us)*time.Microsecond)
	}
	return lat, failed, sc.Err()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
