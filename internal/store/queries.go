package store

import (
	"embed"
	"io/fs"

	"github.com/rampart-dev/rampart/internal/store/queryfile"
)

// Named queries live in queries/*.sql next to this file (issue #11: SQL
// in .sql files, no repeated column lists), one file per aggregate. A file
// is a sequence of blocks, each starting at a line "-- name: Name" (a
// statement) or "-- fragment: name" (text that statements and other
// fragments include as ${name}). Comment lines before the first block are
// the file's documentation; comment lines inside a block are dropped.
// The set is parsed once, at start-up; a malformed file is a programming
// error caught by TestNamedQueries, and every name used in code is looked
// up through query, which panics on an unknown name at package init.
// TestNamedQueriesPrepare has PostgreSQL parse and analyse every statement.

//go:embed queries/*.sql
var queryFS embed.FS

// fragmentRE matches a fragment reference, ${name}.
var fragmentRE = queryfile.FragmentRE

// queryBlock is one block of a queries file, before substitution.
type queryBlock struct {
	file string
	kind string // "name" (a statement) or "fragment"
	name string
	text string // comment lines dropped, trimmed
}

// readQueryBlocks reads the blocks of every queries/*.sql file of fsys
// (the reader is internal/store/queryfile, shared with the SQL analyzers
// of cmd/rampart-lint).
func readQueryBlocks(fsys fs.FS) ([]queryBlock, error) {
	blocks, err := queryfile.ReadBlocks(fsys, "queries/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]queryBlock, len(blocks))
	for i, b := range blocks {
		out[i] = queryBlock{file: b.File, kind: b.Kind, name: b.Name, text: b.Text}
	}
	return out, nil
}

// parseQueries reads every queries/*.sql file of fsys into statements by
// name, with fragments substituted (a fragment may include fragments).
func parseQueries(fsys fs.FS) (map[string]string, error) {
	return queryfile.Parse(fsys, "queries/*.sql")
}

var namedQueries = func() map[string]string {
	q, err := parseQueries(queryFS)
	if err != nil {
		panic("store: embedded queries: " + err.Error()) // a build defect, caught by TestNamedQueries
	}
	return q
}()

// query returns the named statement; an unknown name panics at package
// init (every caller is a package-level var), never at request time.
func query(name string) string {
	q, ok := namedQueries[name]
	if !ok {
		panic("store: no query named " + name + " in queries/*.sql")
	}
	return q
}

// Statement returns the text of the named statement of queries/*.sql,
// fragments substituted, exactly as the store sends it; ok is false for
// an unknown name. Benchmarks use it to have pgbench send the store's
// own statements.
func Statement(name string) (text string, ok bool) {
	text, ok = namedQueries[name]
	return text, ok
}
