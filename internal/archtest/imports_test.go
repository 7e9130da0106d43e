package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkg { return listPackagesWith(t) }

// listPackagesWith lists the module's packages with extra go list flags.
func listPackagesWith(t *testing.T, flags ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-e", "-json=ImportPath,Dir,Imports,GoFiles"}, flags...)
	cmd := exec.Command("go", append(args, "github.com/rampart-dev/rampart/...")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// TestOnlyStoreTalksToPostgres: the store is the only door to the database.
// Outside it, only the cluster runner (readiness probe) and the test
// harness may import a PostgreSQL driver; non-test code elsewhere cannot
// open a transaction or run a query.
func TestOnlyStoreTalksToPostgres(t *testing.T) {
	allowed := []string{
		"github.com/rampart-dev/rampart/internal/store",
		"github.com/rampart-dev/rampart/internal/pgcluster",
		"github.com/rampart-dev/rampart/internal/pgtest",
		"github.com/rampart-dev/rampart/internal/storetest", // superuser counts in test assertions
	}
	drivers := []string{"database/sql", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/jackc/pgconn"}
	// internal/jobs adapts River, whose client is typed on pgx.Tx: it may
	// name pgx's types and River's pgx driver, never pgxpool or pgconn, and
	// runs no SQL of its own (tenant work goes through store.InTenant).
	jobsAllowed := []string{"github.com/jackc/pgx/v5"}
	for _, p := range listPackages(t) {
		if slices.Contains(allowed, p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if p.ImportPath == "github.com/rampart-dev/rampart/internal/jobs" && slices.Contains(jobsAllowed, imp) {
				continue
			}
			for _, d := range drivers {
				if imp == d || strings.HasPrefix(imp, d+"/") {
					t.Errorf("%s imports %s: only internal/store may talk to PostgreSQL (DESIGN.md §1, store.InTenant/AsService)", p.ImportPath, imp)
				}
			}
		}
	}
}

// TestDomainImportsNoAdapter: the domain package stays free of adapters so
// every layer can depend on it.
func TestDomainImportsNoAdapter(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath != "github.com/rampart-dev/rampart/internal/rampart" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/rampart-dev/rampart/") || strings.Contains(imp, "pgx") || imp == "net/http" {
				t.Errorf("internal/rampart imports %s", imp)
			}
		}
	}
}

// harnesses are the test harnesses: they hold superuser URLs and seed on
// the service path.
var harnesses = []string{"github.com/rampart-dev/rampart/internal/pgtest", "github.com/rampart-dev/rampart/internal/storetest"}

// TestHarnessOnlyInTests: the test harnesses are imported only by
// _test.go files (and by each other), never by code that ships.
func TestHarnessOnlyInTests(t *testing.T) {
	for _, p := range listPackages(t) {
		if slices.Contains(harnesses, p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			if slices.Contains(harnesses, imp) {
				t.Errorf("%s imports %s outside its tests", p.ImportPath, imp)
			}
		}
	}
}
