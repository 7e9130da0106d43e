package orgscoping_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/orgscoping"
)

func withExceptions(t *testing.T, file string) {
	t.Helper()
	if err := orgscoping.Analyzer.Flags.Set("exceptions", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = orgscoping.Analyzer.Flags.Set("exceptions", "") })
}

// Unscoped reads, writes, inserts, joins and subqueries on tenant tables
// are flagged; scoped ones, CTE names, a global table and the listed
// exceptions are not.
func TestAnalyzer(t *testing.T) {
	withExceptions(t, filepath.Join("testdata", "exceptions.txt"))
	linttest.Run(t, orgscoping.Analyzer, "example.com/store")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, orgscoping.Analyzer, "example.com/store")
}

// An exception that matches nothing any more is reported: the list only
// shrinks.
func TestStaleExceptionIsReported(t *testing.T) {
	withExceptions(t, filepath.Join("testdata", "stale-exceptions.txt"))
	var got []string
	for _, d := range linttestDiagnostics(t) {
		if strings.Contains(d, "matches no statement any more") {
			got = append(got, d)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "GetProposal") {
		t.Errorf("stale exception reports = %q, want the GetProposal entry", got)
	}
}

func linttestDiagnostics(t *testing.T) []string {
	t.Helper()
	return linttest.Collect(t, orgscoping.Analyzer, "example.com/store")
}

// maxExceptions is the committed size of exceptions.txt: the list may
// only shrink. Lower it when an entry goes; raising it is a reviewed
// decision (docs/guardrails.md#org-scoping).
const maxExceptions = 26

func TestExceptionsOnlyShrink(t *testing.T) {
	b, err := os.ReadFile("exceptions.txt")
	if err != nil {
		t.Fatal(err)
	}
	excs, err := orgscoping.ParseExceptions(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(excs) > maxExceptions {
		t.Errorf("exceptions.txt has %d entries, more than the committed %d: the list may only shrink (fix the statement instead)", len(excs), maxExceptions)
	}
	if len(excs) < maxExceptions {
		t.Errorf("exceptions.txt has %d entries: lower maxExceptions to %d so the list cannot grow back", len(excs), len(excs))
	}
	for i, e := range excs {
		if len(strings.Fields(e.Reason)) < 3 {
			t.Errorf("exceptions line %d: the reason %q says too little", e.Line, e.Reason)
		}
		if slices.ContainsFunc(excs[:i], func(o orgscoping.Exception) bool {
			return o.File == e.File && o.Statement == e.Statement && o.Table == e.Table
		}) {
			t.Errorf("exceptions line %d repeats %s %s %s", e.Line, e.File, e.Statement, e.Table)
		}
	}
	if _, err := orgscoping.ParseExceptions("queries/x.sql Name table\n"); err == nil {
		t.Error("an entry without a reason parses")
	}
}
