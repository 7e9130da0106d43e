package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// copyTree copies the repository's tracked files (git ls-files) into a
// throw-away directory: the violations below are written there, never in
// the tree.
func copyTree(t *testing.T) string {
	t.Helper()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	src := strings.TrimSpace(string(root))
	files, err := exec.Command("git", "-C", src, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(src, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestThrowAwayViolationsFail writes each violation the issue names into a
// throw-away copy of the tree and shows the checker fails on it, naming
// the file, the line and the rule; the untouched copy passes first, so the
// failure is the violation's. The first case runs make lint's own script
// (scripts/lint.sh, our analyzers' step), the others the multichecker on
// the package.
func TestThrowAwayViolationsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the checker and copies the tree")
	}
	dir := copyTree(t)
	bin := filepath.Join(t.TempDir(), "rampart-lint")
	if out, err := run(t, dir, nil, "go", "build", "-o", bin, "./cmd/rampart-lint"); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pkgs := []string{"./internal/store/", "./internal/api/", "./internal/agent/"}
	if out, err := run(t, dir, nil, bin, append([]string{"-test=false"}, pkgs...)...); err != nil {
		t.Fatalf("the untouched copy does not pass: %v\n%s", err, out)
	}
	cases := []struct {
		name        string
		file        string // relative to the copy
		append      bool   // append to an existing file instead of creating it
		text        string
		line        int // the line the finding must name
		rule        string
		pkg         string
		viaMakeLint bool
	}{
		{name: "table without RLS", file: "internal/store/migrations/099_throwaway.sql",
			text: "-- A tenant table and nothing else.\nCREATE TABLE gigs (organization_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (organization_id, id));\n",
			line: 2, rule: "rls-migration", pkg: "./internal/store/", viaMakeLint: true},
		{name: "model SDK imported in a handler", file: "internal/api/zz_throwaway.go",
			text: "package api\n\nimport (\n\t_ \"github.com/anthropics/anthropic-sdk-go\"\n)\n",
			line: 4, rule: "llm-chokepoint", pkg: "./internal/api/"},
		{name: "tenant query without organization_id", file: "internal/store/queries/proposals.sql", append: true,
			text: "\n-- name: ThrowawayEveryProposal\nSELECT id, title FROM proposals WHERE title <> ''\n",
			rule: "org-scoping", pkg: "./internal/store/"},
		{name: "surveillance column", file: "internal/store/migrations/099_throwaway.sql",
			text: "ALTER TABLE memberships ADD COLUMN last_gps_fix point;\n",
			line: 1, rule: "no-surveillance", pkg: "./internal/store/"},
		{name: "agent calling a budget write", file: "internal/agent/zz_throwaway.go",
			text: "package agent\n\nimport (\n\t\"context\"\n\n\t\"github.com/google/uuid\"\n\n\t\"github.com/rampart-dev/rampart/internal/rampart\"\n\t\"github.com/rampart-dev/rampart/internal/store\"\n)\n\n" +
				"func throwaway(ctx context.Context, tx *store.TenantTx, p uuid.UUID) error {\n\t_, err := tx.Finance().CreateBudgetLine(ctx, p, rampart.PricedBudgetLine{})\n\treturn err\n}\n",
			line: 13, rule: "no-finance-from-agents", pkg: "./internal/agent/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			before, err := os.ReadFile(path)
			existed := err == nil
			text := c.text
			line := c.line
			if c.append {
				text = string(before) + c.text
				line = bytes.Count(before, []byte("\n")) + 2 // the "-- name:" header, after a blank line
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if existed {
					_ = os.WriteFile(path, before, 0o644)
				} else {
					_ = os.Remove(path)
				}
			})
			var out string
			if c.viaMakeLint {
				out, err = run(t, dir, []string{"LINT_ONLY=rampart-lint", "LINT_CACHE=" + t.TempDir()}, "bash", "scripts/lint.sh")
			} else {
				out, err = run(t, dir, nil, bin, "-test=false", c.pkg)
			}
			if err == nil {
				t.Fatalf("the checker passes with the violation:\n%s", out)
			}
			want := regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("%s:%d:", path, line)) + `\d+: ` + regexp.QuoteMeta(c.rule+":"))
			if !want.MatchString(out) {
				t.Errorf("no finding at %s:%d for rule %s in:\n%s", c.file, line, c.rule, out)
			}
		})
	}
}
