package linttest

import (
	"flag"
	"fmt"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
)

// recorder passes analysistest's complaints to errorf, except those
// about a .sql file (it cannot hold Go "// want" comments): run checks
// those.
type recorder struct{ errorf func(string, ...any) }

func (r recorder) Errorf(format string, args ...any) {
	if len(args) > 0 {
		if p, ok := args[0].(token.Position); ok && strings.HasSuffix(p.Filename, ".sql") {
			return
		}
	}
	r.errorf(format, args...)
}

var (
	wantRE   = regexp.MustCompile(`^\s*-- want (".*")\s*$`)
	quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

type expectation struct {
	re      *regexp.Regexp
	matched bool
}

// Run runs a on the packages of testdata/src matching patterns (as
// analysistest.Run) and checks the expectations of the .sql files under
// each pattern's directory. It returns the diagnostics reported, as
// "file:line: message" with file relative to testdata/src.
func Run(t *testing.T, a *analysis.Analyzer, patterns ...string) []string {
	t.Helper()
	return run(t, t.Errorf, a, patterns...)
}

// FailsWithout proves the testdata of a can fail: the same packages
// checked by an analyzer of the same name that reports nothing leave
// expectations unmet (a test that passes without its analyzer tests
// nothing).
func FailsWithout(t *testing.T, a *analysis.Analyzer, patterns ...string) {
	t.Helper()
	noop := *a
	noop.Run = func(*analysis.Pass) (any, error) { return nil, nil }
	noop.Flags = *flag.NewFlagSet(a.Name, flag.ContinueOnError)
	var complaints []string
	run(t, func(format string, args ...any) { complaints = append(complaints, fmt.Sprintf(format, args...)) }, &noop, patterns...)
	unmet := 0
	for _, c := range complaints {
		if strings.Contains(c, "no diagnostic was reported matching") {
			unmet++
		}
	}
	if unmet == 0 {
		t.Errorf("the testdata of %s passes without the analyzer: it tests nothing (%q)", a.Name, complaints)
	}
}

func run(t *testing.T, errorf func(string, ...any), a *analysis.Analyzer, patterns ...string) []string {
	t.Helper()
	testdata := analysistest.TestData()
	src := filepath.Join(testdata, "src")
	want := map[string][]*expectation{} // "abs.sql:line"
	for _, p := range patterns {
		dir := filepath.Join(src, filepath.FromSlash(strings.TrimSuffix(p, "/...")))
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var pending []*expectation
			for i, line := range strings.Split(string(b), "\n") {
				if m := wantRE.FindStringSubmatch(line); m != nil {
					for _, q := range quotedRE.FindAllString(m[1], -1) {
						s, err := strconv.Unquote(q)
						if err != nil {
							t.Fatalf("%s:%d: bad want: %v", path, i+1, err)
						}
						pending = append(pending, &expectation{re: regexp.MustCompile(s)})
					}
					continue
				}
				if len(pending) > 0 {
					key := fmt.Sprintf("%s:%d", path, i+1)
					want[key] = append(want[key], pending...)
					pending = nil
				}
			}
			return nil
		})
	}
	var got []string
	for _, res := range analysistest.Run(recorder{errorf}, testdata, a, patterns...) {
		if res.Pass == nil {
			continue
		}
		for _, d := range res.Diagnostics {
			posn := res.Pass.Fset.Position(d.Pos)
			rel, err := filepath.Rel(src, posn.Filename)
			if err != nil {
				rel = posn.Filename
			}
			got = append(got, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), posn.Line, d.Message))
			if !strings.HasSuffix(posn.Filename, ".sql") {
				continue
			}
			found := false
			for _, e := range want[fmt.Sprintf("%s:%d", posn.Filename, posn.Line)] {
				if !e.matched && e.re.MatchString(d.Message) {
					e.matched, found = true, true
					break
				}
			}
			if !found {
				errorf("%s:%d: unexpected diagnostic: %s", rel, posn.Line, d.Message)
			}
		}
	}
	for key, es := range want {
		for _, e := range es {
			if !e.matched {
				errorf("%s: no diagnostic was reported matching %q", key, e.re)
			}
		}
	}
	return got
}

// Collect runs a on the packages of testdata/src matching patterns and
// returns its diagnostics as "file:line: message", checking no
// expectation.
func Collect(t *testing.T, a *analysis.Analyzer, patterns ...string) []string {
	t.Helper()
	var got []string
	for _, res := range analysistest.Run(recorder{func(string, ...any) {}}, analysistest.TestData(), a, patterns...) {
		if res.Pass == nil {
			continue
		}
		for _, d := range res.Diagnostics {
			posn := res.Pass.Fset.Position(d.Pos)
			got = append(got, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(posn.Filename), posn.Line, d.Message))
		}
	}
	return got
}
