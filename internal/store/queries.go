package store

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
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

var (
	blockRE    = regexp.MustCompile(`^-- (name|fragment): ([A-Za-z][A-Za-z0-9_]*)\s*$`)
	fragmentRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9_]*)\}`)
)

// queryBlock is one block of a queries file, before substitution.
type queryBlock struct {
	file string
	kind string // "name" (a statement) or "fragment"
	name string
	text string // comment lines dropped, trimmed
}

// readQueryBlocks reads the blocks of every queries/*.sql file of fsys.
func readQueryBlocks(fsys fs.FS) ([]queryBlock, error) {
	files, err := fs.Glob(fsys, "queries/*.sql")
	if err != nil {
		return nil, err
	}
	var blocks []queryBlock
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var cur *queryBlock
		var body []string
		flush := func() error {
			if cur == nil {
				return nil
			}
			cur.text = strings.TrimSpace(strings.Join(body, "\n"))
			if cur.text == "" {
				return fmt.Errorf("%s: %s %q is empty", f, cur.kind, cur.name)
			}
			blocks = append(blocks, *cur)
			return nil
		}
		for _, line := range strings.Split(string(b), "\n") {
			if m := blockRE.FindStringSubmatch(line); m != nil {
				if err := flush(); err != nil {
					return nil, err
				}
				cur, body = &queryBlock{file: f, kind: m[1], name: m[2]}, nil
				continue
			}
			if cur != nil && !strings.HasPrefix(strings.TrimSpace(line), "--") {
				body = append(body, line)
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return blocks, nil
}

// parseQueries reads every queries/*.sql file of fsys into statements by
// name, with fragments substituted (a fragment may include fragments).
func parseQueries(fsys fs.FS) (map[string]string, error) {
	blocks, err := readQueryBlocks(fsys)
	if err != nil {
		return nil, err
	}
	statements, fragments := map[string]string{}, map[string]string{}
	for _, b := range blocks {
		target := statements
		if b.kind == "fragment" {
			target = fragments
		}
		if _, dup := target[b.name]; dup {
			return nil, fmt.Errorf("%s: %s %q is defined twice", b.file, b.kind, b.name)
		}
		target[b.name] = b.text
	}
	expanded := map[string]string{}
	var expandFragment func(name string, seen []string) (string, error)
	expandFragment = func(name string, seen []string) (string, error) {
		if text, ok := expanded[name]; ok {
			return text, nil
		}
		for _, s := range seen {
			if s == name {
				return "", fmt.Errorf("fragment %q includes itself (%s)", name, strings.Join(append(seen, name), " -> "))
			}
		}
		text, err := substitute(fragments[name], func(ref string) (string, error) {
			if _, ok := fragments[ref]; !ok {
				return "", fmt.Errorf("fragment %q includes unknown fragment ${%s}", name, ref)
			}
			return expandFragment(ref, append(seen[:len(seen):len(seen)], name))
		})
		if err != nil {
			return "", err
		}
		expanded[name] = text
		return text, nil
	}
	for name, text := range statements {
		text, err := substitute(text, func(ref string) (string, error) {
			if _, ok := fragments[ref]; !ok {
				return "", fmt.Errorf("statement %q includes unknown fragment ${%s}", name, ref)
			}
			return expandFragment(ref, nil)
		})
		if err != nil {
			return nil, err
		}
		statements[name] = text
	}
	return statements, nil
}

// substitute replaces every ${name} of text with expand(name).
func substitute(text string, expand func(name string) (string, error)) (string, error) {
	var failed error
	out := fragmentRE.ReplaceAllStringFunc(text, func(ref string) string {
		s, err := expand(fragmentRE.FindStringSubmatch(ref)[1])
		if err != nil && failed == nil {
			failed = err
		}
		return s
	})
	return out, failed
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
