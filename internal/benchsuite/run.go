package benchsuite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Runner runs entries of the suite: it builds each package's test binary
// once, then runs the entries one after the other (never two at once:
// they would measure each other), with a progress line.
type Runner struct {
	Root     string // the module root
	Out      string // results directory (binaries, raw outputs)
	Scale    Scale
	Entries  []Entry
	Progress io.Writer // the progress line; nil: none
	// Live redraws the progress line every second (a terminal); otherwise
	// one line per start and end.
	Live bool
}

// group is entries run by one invocation of their test binary: the same
// package and settings, and no sub-benchmark filter.
type group struct {
	pkg     string
	run     Run
	entries []Entry
}

// groups merges consecutive entries that can share an invocation (and
// so one start of the test cluster).
func groups(entries []Entry, s Scale) []group {
	var out []group
	for _, e := range entries {
		r := e.Run(s)
		if r.Skip {
			continue
		}
		if n := len(out); n > 0 && r.Sub == "" && out[n-1].pkg == e.Package && out[n-1].run.Sub == "" &&
			out[n-1].run.Benchtime == r.Benchtime && slices.Equal(out[n-1].run.Env, r.Env) {
			out[n-1].entries = append(out[n-1].entries, e)
			continue
		}
		out = append(out, group{pkg: e.Package, run: r, entries: []Entry{e}})
	}
	return out
}

// pattern is the group's -bench pattern.
func (g group) pattern(s Scale) string {
	if len(g.entries) == 1 {
		return g.entries[0].Pattern(s)
	}
	names := make([]string, len(g.entries))
	for i, e := range g.entries {
		names[i] = regexp.QuoteMeta(e.Bench)
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// binaryName is the test binary go test -c -o dir/ writes for pkg.
func binaryName(pkg string) string { return path.Base(pkg) + ".test" }

// Run builds, runs every entry and returns the report (also when some
// entries failed: their Error says why).
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	rep := &Report{Scale: r.Scale, Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Commit: gitCommit(r.Root)}
	binDir := filepath.Join(r.Out, "bin")
	rawDir := filepath.Join(r.Out, "raw")
	for _, d := range []string{binDir, rawDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var pkgs []string
	seen := map[string]string{}
	for _, e := range r.Entries {
		name := binaryName(e.Package)
		if other, ok := seen[name]; ok && other != e.Package {
			return nil, fmt.Errorf("packages %s and %s would build the same test binary %s", other, e.Package, name)
		}
		if _, ok := seen[name]; !ok {
			pkgs = append(pkgs, e.Package)
		}
		seen[name] = e.Package
	}
	r.say(fmt.Sprintf("building %d test binaries (%s)", len(pkgs), strings.Join(pkgs, " ")))
	build := exec.CommandContext(ctx, "go", append([]string{"test", "-c", "-o", binDir + string(filepath.Separator)}, pkgs...)...)
	build.Dir = r.Root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	gs := groups(r.Entries, r.Scale)
	for _, e := range r.Entries {
		if e.Run(r.Scale).Skip {
			rep.Skipped = append(rep.Skipped, e.ID)
		}
	}
	done := len(rep.Skipped)
	for _, g := range gs {
		ids := make([]string, len(g.entries))
		for i, e := range g.entries {
			ids[i] = e.ID
		}
		label := fmt.Sprintf("[%d/%d] %s", done+1, len(r.Entries), strings.Join(ids, ", "))
		if len(g.entries) > 1 {
			label = fmt.Sprintf("[%d-%d/%d] %s", done+1, done+len(g.entries), len(r.Entries), strings.Join(ids, ", "))
		}
		t0 := time.Now()
		stop := r.progress(label, rep.Started)
		out, err := r.invoke(ctx, g, filepath.Join(binDir, binaryName(g.pkg)))
		stop()
		elapsed := time.Since(t0)
		_ = os.WriteFile(filepath.Join(rawDir, strings.Join(ids, "+")+".txt"), out, 0o644)
		results, perr := Parse(bytes.NewReader(out))
		if err == nil {
			err = perr
		}
		for _, e := range g.entries {
			var mine []Result
			for _, res := range results {
				if res.Function() == e.Bench {
					mine = append(mine, res)
				}
			}
			entryErr := err
			if entryErr == nil && len(mine) == 0 {
				entryErr = fmt.Errorf("no benchmark results (skipped?): %s", lastLines(string(out), 5))
			}
			rep.Entries = append(rep.Entries, NewEntryReport(e, r.Scale, mine, elapsed/time.Duration(len(g.entries)), entryErr))
		}
		done += len(g.entries)
		status := "done"
		if err != nil {
			status = "FAILED"
		}
		r.say(fmt.Sprintf("%s: %s in %s", label, status, elapsed.Round(100*time.Millisecond)))
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Tally()
	return rep, nil
}

// invoke runs the group's benchmarks with the test binary, in the
// package's directory (as go test does), and returns their output.
func (r *Runner) invoke(ctx context.Context, g group, bin string) ([]byte, error) {
	args := []string{"-test.run", "^$", "-test.bench", g.pattern(r.Scale), "-test.benchtime", g.run.Benchtime,
		"-test.count", "1", "-test.timeout", "30m"}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join(r.Root, filepath.FromSlash(g.pkg))
	cmd.Env = append(append(os.Environ(), ScaleEnv+"="+string(r.Scale)), g.run.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, lastLines(string(out), 12))
	}
	return out, nil
}

// progress shows label with the elapsed times until the returned stop is
// called: redrawn every second when Live, else one line now.
func (r *Runner) progress(label string, started time.Time) (stop func()) {
	if r.Progress == nil {
		return func() {}
	}
	if !r.Live {
		fmt.Fprintf(r.Progress, "%s: running (total %s)\n", label, time.Since(started).Round(time.Second))
		return func() {}
	}
	t0 := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	draw := func() {
		fmt.Fprintf(r.Progress, "\r\033[K%s … %s (total %s)", label, time.Since(t0).Round(time.Second), time.Since(started).Round(time.Second))
	}
	draw()
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(r.Progress, "\r\033[K")
				return
			case <-t.C:
				draw()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *Runner) say(msg string) {
	if r.Progress != nil {
		fmt.Fprintln(r.Progress, msg)
	}
}

func gitCommit(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
