package sqlsource

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"golang.org/x/tools/go/analysis"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/rampart-dev/rampart/internal/store/queryfile"
)

// Stmt is one parsed statement.
type Stmt struct {
	File *File
	Line int    // its first line (a queries file: its header)
	Name string // the query name in a queries file, "" in a script
	Text string // as sent, fragments substituted
	Node *pg_query.Node
	Pos  token.Pos // Line in the pass's file set
}

// Where names the statement for messages: "Name" or "statement at line N".
func (s Stmt) Where() string {
	if s.Name != "" {
		return s.Name
	}
	return "statement at line " + strconv.Itoa(s.Line)
}

// File is one embedded .sql file.
type File struct {
	Path    string // absolute
	Rel     string // relative to the package directory, slash-separated ("queries/finance.sql")
	Queries bool   // a queries file ("-- name:" blocks) rather than a script
	Stmts   []Stmt
	tf      *token.File
}

// Pos is line of the file in the pass's file set.
func (f *File) Pos(line int) token.Pos {
	if line < 1 {
		line = 1
	}
	if line > f.tf.LineCount() {
		line = f.tf.LineCount()
	}
	return f.tf.LineStart(line)
}

// Error is a file that could not be read or parsed, at a position.
type Error struct {
	Pos token.Pos
	Msg string
}

// Load returns the .sql files the package of pass embeds, parsed, and the
// errors met (a file the parser refuses, a query file the store's reader
// refuses). It returns no files for a package that embeds none.
func Load(pass *analysis.Pass) ([]*File, []Error) {
	var errs []Error
	var paths []string
	for _, f := range pass.Files {
		goFile := pass.Fset.File(f.Pos()).Name()
		for _, pattern := range embedPatterns(f) {
			matches, err := filepath.Glob(filepath.Join(filepath.Dir(goFile), filepath.FromSlash(pattern)))
			if err != nil {
				errs = append(errs, Error{f.Pos(), "sqlsource: bad //go:embed pattern " + pattern})
				continue
			}
			for _, m := range matches {
				paths = append(paths, sqlUnder(m)...)
			}
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	if len(paths) == 0 {
		return nil, errs
	}
	dir := filepath.Dir(pass.Fset.File(pass.Files[0].Pos()).Name())
	var files []*File
	var blocks []queryfile.Block
	byRel := map[string]*File{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, Error{pass.Files[0].Pos(), "sqlsource: " + err.Error()})
			continue
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			rel = p
		}
		f := &File{Path: p, Rel: filepath.ToSlash(rel), Queries: queryfile.HasBlocks(src)}
		f.tf = pass.Fset.AddFile(p, -1, len(src))
		f.tf.SetLinesForContent(src)
		files = append(files, f)
		byRel[f.Rel] = f
		if f.Queries {
			b, err := queryfile.ParseBlocks(f.Rel, src)
			if err != nil {
				errs = append(errs, Error{f.Pos(1), "sqlsource: " + err.Error()})
				continue
			}
			blocks = append(blocks, b...)
			continue
		}
		stmts, err := parseScript(string(src))
		if err != nil {
			errs = append(errs, Error{f.Pos(errLine(string(src), err)), fmt.Sprintf("sqlsource: %s does not parse as PostgreSQL: %v", f.Rel, err)})
			continue
		}
		for _, s := range stmts {
			s.File, s.Pos = f, f.Pos(s.Line)
			f.Stmts = append(f.Stmts, s)
		}
	}
	named, err := queryfile.Expand(blocks)
	if err != nil {
		errs = append(errs, Error{files[0].Pos(1), "sqlsource: " + err.Error()})
	}
	for _, q := range named {
		f := byRel[q.File]
		res, err := pg_query.Parse(q.Text)
		if err != nil {
			errs = append(errs, Error{f.Pos(q.Line), fmt.Sprintf("sqlsource: %s: query %s does not parse as PostgreSQL: %v", f.Rel, q.Name, err)})
			continue
		}
		for _, raw := range res.Stmts {
			f.Stmts = append(f.Stmts, Stmt{File: f, Line: q.Line, Name: q.Name, Text: q.Text, Node: raw.Stmt, Pos: f.Pos(q.Line)})
		}
	}
	return files, errs
}

// parseScript splits a script into parsed statements with their first line.
func parseScript(src string) ([]Stmt, error) {
	res, err := pg_query.Parse(src)
	if err != nil {
		return nil, err
	}
	var out []Stmt
	for _, raw := range res.Stmts {
		start := int(raw.StmtLocation)
		end := start + int(raw.StmtLen)
		if raw.StmtLen == 0 || end > len(src) {
			end = len(src)
		}
		text := src[start:end]
		off := start + firstCode(text)
		out = append(out, Stmt{Line: 1 + strings.Count(src[:off], "\n"), Text: strings.TrimSpace(text), Node: raw.Stmt})
	}
	return out, nil
}

// firstCode is the offset of the first character of s that is neither
// space nor part of a "--" comment.
func firstCode(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return len(s)
			}
			i += j + 1
		default:
			return i
		}
	}
	return i
}

// errLine is the line of a parse error's cursor position, 1 when unknown.
func errLine(src string, err error) int {
	var pe *parser.Error
	if !errors.As(err, &pe) || pe.Cursorpos <= 0 || pe.Cursorpos > len(src) {
		return 1
	}
	return 1 + strings.Count(src[:pe.Cursorpos-1], "\n")
}

// sqlUnder is p when it is a .sql file, or the .sql files under the
// directory p.
func sqlUnder(p string) []string {
	st, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		if strings.HasSuffix(p, ".sql") {
			return []string{p}
		}
		return nil
	}
	var out []string
	_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".sql") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// embedPatterns returns the patterns of the //go:embed directives of f.
func embedPatterns(f *ast.File) []string {
	var out []string
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			rest, ok := strings.CutPrefix(c.Text, "//go:embed ")
			if !ok {
				continue
			}
			for _, field := range strings.Fields(rest) {
				if u, err := strconv.Unquote(field); err == nil {
					field = u
				}
				out = append(out, strings.TrimPrefix(field, "all:"))
			}
		}
	}
	return out
}

// Walk calls fn for m and, while fn returns true, for every message below
// it (a parse tree's nodes and their fields), depth first.
func Walk(m proto.Message, fn func(proto.Message) bool) {
	if m == nil || !m.ProtoReflect().IsValid() || !fn(m) {
		return
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				Walk(l.Get(i).Message().Interface(), fn)
			}
		default:
			Walk(v.Message().Interface(), fn)
		}
		return true
	})
}

// Tables returns the tables a statement names (RangeVar relnames, without
// schema), in order, once each.
func Tables(n *pg_query.Node) []string {
	var out []string
	Walk(n, func(m proto.Message) bool {
		if rv, ok := m.(*pg_query.RangeVar); ok && !slices.Contains(out, rv.Relname) {
			out = append(out, rv.Relname)
		}
		return true
	})
	return out
}

// ColumnName is the last name of a column reference ("organization_id"
// for p.organization_id) and its qualifier ("p", or "" when unqualified).
func ColumnName(c *pg_query.ColumnRef) (qualifier, name string) {
	var parts []string
	for _, f := range c.Fields {
		if s := f.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	default:
		return parts[len(parts)-2], parts[len(parts)-1]
	}
}
