package orgscoping

import (
	_ "embed" // the exceptions file
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"golang.org/x/tools/go/analysis"
	"google.golang.org/protobuf/proto"

	"github.com/rampart-dev/rampart/internal/lint/sqlsource"
)

// Analyzer reports statements on tenant tables that do not name organization_id.
var Analyzer = &analysis.Analyzer{
	Name: "orgscoping",
	Doc:  "org-scoping: every SQL statement on a tenant table filters on or sets organization_id (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#org-scoping",
	Run:  run,
}

// TenantColumn marks a tenant table and scopes a statement.
const TenantColumn = "organization_id"

//go:embed exceptions.txt
var embedded string

var exceptionsPath string

func init() {
	Analyzer.Flags.StringVar(&exceptionsPath, "exceptions", "", "read the exceptions from this file instead of the embedded internal/lint/orgscoping/exceptions.txt")
}

// Exception is one justified statement.
type Exception struct {
	File, Statement, Table, Reason string
	Line                           int // in the exceptions file
}

// ParseExceptions reads an exceptions file: one entry a line, "file
// statement table reason…"; blank lines and lines starting with # are
// skipped. An entry without a reason is an error.
func ParseExceptions(text string) ([]Exception, error) {
	var out []Exception
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return nil, fmt.Errorf("exceptions line %d: want \"file statement table reason\", with a reason: %q", i+1, line)
		}
		out = append(out, Exception{File: f[0], Statement: f[1], Table: f[2], Reason: strings.Join(f[3:], " "), Line: i + 1})
	}
	return out, nil
}

func exceptions() ([]Exception, error) {
	if exceptionsPath == "" {
		return ParseExceptions(embedded)
	}
	b, err := os.ReadFile(exceptionsPath)
	if err != nil {
		return nil, err
	}
	return ParseExceptions(string(b))
}

func run(pass *analysis.Pass) (any, error) {
	files, errs := sqlsource.Load(pass)
	for _, e := range errs {
		pass.Reportf(e.Pos, "org-scoping: %s", e.Msg)
	}
	if len(files) == 0 {
		return nil, nil
	}
	excs, err := exceptions()
	if err != nil {
		return nil, err
	}
	tenant := map[string]bool{}
	for _, f := range files {
		for _, s := range f.Stmts {
			if c := s.Node.GetCreateStmt(); c != nil && c.Relation.GetRelpersistence() != "t" {
				for _, e := range c.TableElts {
					if cd := e.GetColumnDef(); cd != nil && cd.Colname == TenantColumn {
						tenant[c.Relation.Relname] = true
					}
				}
			}
		}
	}
	used := make([]bool, len(excs))
	byRel := map[string]*sqlsource.File{}
	for _, f := range files {
		byRel[f.Rel] = f
		for _, s := range f.Stmts {
			where := s.Name
			if !f.Queries {
				where = "line:" + strconv.Itoa(s.Line)
			}
			for _, fd := range Check(s.Node, tenant) {
				i := slices.IndexFunc(excs, func(e Exception) bool {
					return e.File == f.Rel && e.Statement == where && e.Table == fd.Table
				})
				if i >= 0 {
					used[i] = true
					continue
				}
				pass.Reportf(s.Pos, "org-scoping: %s: %s %s tenant table %s without %s %s (or justify it in internal/lint/orgscoping/exceptions.txt: %s %s %s <reason>)",
					f.Rel, s.Where(), fd.Verb, fd.Table, fd.Need(), TenantColumn, f.Rel, where, fd.Table)
			}
		}
	}
	for i, e := range excs {
		f := byRel[e.File]
		if f == nil || used[i] {
			continue
		}
		pass.Reportf(f.Pos(1), "org-scoping: exceptions line %d (%s %s %s) matches no statement any more: delete it (the list only shrinks)", e.Line, e.File, e.Statement, e.Table)
	}
	return nil, nil
}

// Finding is one unscoped use of a tenant table.
type Finding struct {
	Verb  string // "reads", "updates", "deletes from", "inserts into"
	Table string
}

// Need says what the statement lacks.
func (f Finding) Need() string {
	if f.Verb == "inserts into" {
		return "setting"
	}
	return "filtering on"
}

type ref struct{ table, alias string }

// Check returns the tenant tables (tenant[name]) that the statement n
// reads or writes without naming organization_id. Only DML is checked: a
// DDL statement (CREATE POLICY, CREATE VIEW …) is not.
func Check(n *pg_query.Node, tenant map[string]bool) []Finding {
	switch n.Node.(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt:
	default:
		return nil
	}
	ctes := map[string]bool{}
	sqlsource.Walk(n, func(m proto.Message) bool {
		if c, ok := m.(*pg_query.CommonTableExpr); ok {
			ctes[c.Ctename] = true
		}
		return true
	})
	isTenant := func(rv *pg_query.RangeVar) bool {
		return rv != nil && tenant[rv.Relname] && !(rv.Schemaname == "" && ctes[rv.Relname])
	}
	var out []Finding
	add := func(verb, table string) {
		f := Finding{verb, table}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	checkFrom := func(verb string, from []*pg_query.Node, quals []*pg_query.Node) {
		var refs []ref
		for _, item := range from {
			collect(item, &refs, &quals)
		}
		for _, r := range refs {
			if tenant[r.table] && !ctes[r.table] && !scoped(quals, r) {
				add(verb, r.table)
			}
		}
	}
	sqlsource.Walk(n, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg_query.SelectStmt:
			checkFrom("reads", x.FromClause, []*pg_query.Node{x.WhereClause})
		case *pg_query.UpdateStmt:
			if isTenant(x.Relation) && !scoped([]*pg_query.Node{x.WhereClause}, refOf(x.Relation)) {
				add("updates", x.Relation.Relname)
			}
			checkFrom("reads", x.FromClause, []*pg_query.Node{x.WhereClause})
		case *pg_query.DeleteStmt:
			if isTenant(x.Relation) && !scoped([]*pg_query.Node{x.WhereClause}, refOf(x.Relation)) {
				add("deletes from", x.Relation.Relname)
			}
			checkFrom("reads", x.UsingClause, []*pg_query.Node{x.WhereClause})
		case *pg_query.InsertStmt:
			if isTenant(x.Relation) && !slices.ContainsFunc(x.Cols, func(c *pg_query.Node) bool {
				return c.GetResTarget().GetName() == TenantColumn
			}) {
				add("inserts into", x.Relation.Relname)
			}
		}
		return true
	})
	return out
}

func refOf(rv *pg_query.RangeVar) ref {
	r := ref{table: rv.Relname, alias: rv.Relname}
	if rv.Alias != nil && rv.Alias.Aliasname != "" {
		r.alias = rv.Alias.Aliasname
	}
	return r
}

// collect gathers the table references of a FROM item and the
// conditions of its joins (a JOIN … USING (organization_id) counts as a
// condition naming it).
func collect(item *pg_query.Node, refs *[]ref, quals *[]*pg_query.Node) {
	switch x := item.Node.(type) {
	case *pg_query.Node_RangeVar:
		*refs = append(*refs, refOf(x.RangeVar))
	case *pg_query.Node_JoinExpr:
		collect(x.JoinExpr.Larg, refs, quals)
		collect(x.JoinExpr.Rarg, refs, quals)
		*quals = append(*quals, x.JoinExpr.Quals)
		for _, u := range x.JoinExpr.UsingClause {
			if u.GetString_().GetSval() == TenantColumn {
				*quals = append(*quals, &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
					Fields: []*pg_query.Node{{Node: &pg_query.Node_String_{String_: &pg_query.String{Sval: TenantColumn}}}}}}})
			}
		}
	}
}

// scoped reports whether the conditions name r's organization_id
// (qualified by its alias or table name, or unqualified), outside any
// nested SELECT (a subquery is checked on its own).
func scoped(quals []*pg_query.Node, r ref) bool {
	found := false
	for _, q := range quals {
		sqlsource.Walk(q, func(m proto.Message) bool {
			switch x := m.(type) {
			case *pg_query.SelectStmt:
				return false
			case *pg_query.ColumnRef:
				if qual, col := sqlsource.ColumnName(x); col == TenantColumn && (qual == "" || qual == r.alias || qual == r.table) {
					found = true
				}
			}
			return !found
		})
	}
	return found
}
