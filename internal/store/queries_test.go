package store

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

func TestNamedQueries(t *testing.T) {
	t.Parallel()
	q, err := parseQueries(queryFS)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT organization_id, id, code, name, city, capacity, created_at, updated_at, latitude::float8, longitude::float8 FROM venues WHERE organization_id = $1 AND id = $2"
	if got := q["GetVenue"]; got != want {
		t.Errorf("GetVenue = %q, want %q", got, want)
	}
	for name, text := range q {
		if strings.Contains(text, "${") || strings.Contains(text, "-- ") {
			t.Errorf("%s kept a fragment reference or a comment: %q", name, text)
		}
	}
	for desc, body := range map[string]string{
		"duplicate name":   "-- name: A\nSELECT 1\n-- name: A\nSELECT 2\n",
		"unknown fragment": "-- name: A\nSELECT ${cols} FROM t\n",
		"empty statement":  "-- name: A\n-- a comment only\n-- name: B\nSELECT 1\n",
		"fragment cycle":   "-- fragment: a\nx, ${b}\n-- fragment: b\ny, ${a}\n-- name: A\nSELECT ${a} FROM t\n",
		"unknown nested":   "-- fragment: a\nx, ${b}\n-- name: A\nSELECT ${a} FROM t\n",
	} {
		fsys := fstest.MapFS{"queries/x.sql": {Data: []byte(body)}}
		if _, err := parseQueries(fsys); err == nil {
			t.Errorf("%s: parsed without an error", desc)
		}
	}
	nested := fstest.MapFS{"queries/x.sql": {Data: []byte("-- fragment: a\nx, ${b}\n-- fragment: b\ny\n-- name: A\nSELECT ${a} FROM t\n")}}
	if q, err := parseQueries(nested); err != nil || q["A"] != "SELECT x, y FROM t" {
		t.Errorf("nested fragments = %q, %v; want %q", q["A"], err, "SELECT x, y FROM t")
	}
}

// TestNamedQueryRoles checks that the role names written out in tx.sql
// are the Go constants the rest of the code (and sql/roles.sql) uses.
func TestNamedQueryRoles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, got, want string }{
		{"SetAppRole", sqlSetAppRole, "SET LOCAL ROLE " + AppRole},
		{"SetSvcRole", sqlSetSvcRole, "SET LOCAL ROLE " + ServiceRole},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestNamedQueriesUsed checks, over the package's non-test Go files, that
// every statement of queries/*.sql is bound by a query("Name") call with a
// literal name, that every variable so bound is used, and that no SQL is
// left in a package-level sql… constant.
func TestNamedQueriesUsed(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	referenced := map[string]bool{}  // statement names passed to query
	bound := map[*ast.Ident]string{} // package-level var → statement name
	uses := map[string]int{}         // identifier → uses outside its declaration
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, id := range vs.Names {
					if g.Tok == token.CONST && strings.HasPrefix(id.Name, "sql") {
						t.Errorf("%s: const %s: SQL belongs in queries/*.sql (var %s = query(…))", fset.Position(id.Pos()), id.Name, id.Name)
					}
					if i < len(vs.Values) {
						if name, ok := queryCallName(vs.Values[i]); ok {
							bound[id] = name
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); !ok || fn.Name != "query" || len(call.Args) != 1 {
				return true
			}
			if name, ok := queryCallName(call); ok {
				referenced[name] = true
			} else {
				t.Errorf("%s: query takes a literal name (so that it can be checked)", fset.Position(call.Pos()))
			}
			return true
		})
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if _, decl := bound[id]; !decl {
					uses[id.Name]++
				}
			}
			return true
		})
	}
	for name := range namedQueries {
		if !referenced[name] {
			t.Errorf("statement %s of queries/*.sql is not used by any Go code", name)
		}
	}
	for id, name := range bound {
		if uses[id.Name] == 0 {
			t.Errorf("%s: %s (query %q) is never used", fset.Position(id.Pos()), id.Name, name)
		}
	}
}

// queryCallName returns Name of a query("Name") call.
func queryCallName(e ast.Expr) (string, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return "", false
	}
	if fn, ok := call.Fun.(*ast.Ident); !ok || fn.Name != "query" {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	name, err := strconv.Unquote(lit.Value)
	return name, err == nil
}

// A column list: four or more comma-separated names (optionally qualified
// and cast), not followed by a call's parenthesis.
var (
	columnItem        = `[A-Za-z_][A-Za-z0-9_.]*(?:::[A-Za-z0-9_]+)*`
	columnListRE      = regexp.MustCompile(columnItem + `(?:\s*,\s*` + columnItem + `){3,}`)
	columnQualifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.`)
	identCharRE       = regexp.MustCompile(`[A-Za-z0-9_.:$]`)
	minColumnItems    = 4
)

// repeatedColumnLists returns the column lists of four or more columns
// that appear more than once across the blocks of the queries files of
// fsys (table qualifiers ignored), with where they appear: such a list
// belongs in a fragment.
func repeatedColumnLists(fsys fs.FS) ([]string, error) {
	blocks, err := readQueryBlocks(fsys)
	if err != nil {
		return nil, err
	}
	where := map[string][]string{}
	for _, b := range blocks {
		text := strings.Join(strings.Fields(b.text), " ")
		for _, loc := range columnListRE.FindAllStringIndex(text, -1) {
			start, end := loc[0], loc[1]
			if start > 0 && identCharRE.MatchString(text[start-1:start]) {
				continue // inside a longer token ($1, 8::interval …)
			}
			items := strings.Split(text[start:end], ",")
			if end < len(text) && text[end] == '(' {
				items = items[:len(items)-1] // the last name is a function's
			}
			if len(items) < minColumnItems {
				continue
			}
			for i := range items {
				items[i] = columnQualifierRE.ReplaceAllString(strings.TrimSpace(items[i]), "")
			}
			key := strings.Join(items, ", ")
			where[key] = append(where[key], b.file+": "+b.name)
		}
	}
	var out []string
	for list, at := range where {
		if len(at) > 1 {
			out = append(out, fmt.Sprintf("%q in %s", list, strings.Join(at, ", ")))
		}
	}
	sort.Strings(out)
	return out, nil
}

func TestNamedQueryColumnLists(t *testing.T) {
	t.Parallel()
	repeated, err := repeatedColumnLists(queryFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range repeated {
		t.Errorf("column list repeated (make it a fragment): %s", r)
	}
	// The check can fail: a list written twice (once qualified); neither
	// parameters nor a shorter list count.
	fsys := fstest.MapFS{
		"queries/a.sql": {Data: []byte("-- name: A\nSELECT a, b, c, d FROM t\n-- name: C\nSELECT a, b, c FROM t WHERE x IN ($1, $2, $3, $4) AND y IN ($1, $2, $3, $4)\n")},
		"queries/b.sql": {Data: []byte("-- name: B\nSELECT t.a, t.b, t.c,\n  t.d FROM t\n")},
	}
	repeated, err = repeatedColumnLists(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(repeated) != 1 || !strings.Contains(repeated[0], `"a, b, c, d" in queries/a.sql: A, queries/b.sql: B`) {
		t.Errorf("repeatedColumnLists = %q, want the list of A and B only", repeated)
	}
	// Every fragment is included somewhere.
	blocks, err := readQueryBlocks(queryFS)
	if err != nil {
		t.Fatal(err)
	}
	included := map[string]bool{}
	for _, b := range blocks {
		for _, m := range fragmentRE.FindAllStringSubmatch(b.text, -1) {
			included[m[1]] = true
		}
	}
	for _, b := range blocks {
		if b.kind == "fragment" && !included[b.name] {
			t.Errorf("%s: fragment %s is not included by any block", b.file, b.name)
		}
	}
}

// TestNamedQueriesPrepare has PostgreSQL parse and analyse every named
// statement against the migrated schema (a wrong table, column, function
// or type fails here). It connects as the owner role: privileges are
// checked when a statement runs, not when it is prepared, and nothing
// here runs.
func TestNamedQueriesPrepare(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "SET ROLE "+OwnerRole); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(namedQueries))
	for name := range namedQueries {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := conn.PgConn().Prepare(ctx, "", namedQueries[name], nil); err != nil {
			t.Errorf("%s: %v\n%s", name, err, namedQueries[name])
		}
	}
	// The check can fail.
	if _, err := conn.PgConn().Prepare(ctx, "", "SELECT no_such_column FROM proposals", nil); err == nil {
		t.Error("a statement naming a missing column prepared without an error")
	}
}
