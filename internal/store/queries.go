package store

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// Named queries live in queries/*.sql next to this file (issue #11: SQL
// in .sql files, no repeated column lists). A file is a sequence of
// blocks, each starting at a line "-- name: Name" (a statement) or
// "-- fragment: name" (text that statements include as ${name}). Other
// comment lines before the first block are the file's documentation.
// The set is parsed once, at start-up; a malformed file is a programming
// error caught by TestNamedQueries, and every name used in code is looked
// up through query, which panics on an unknown name at package init.

//go:embed queries/*.sql
var queryFS embed.FS

var (
	blockRE    = regexp.MustCompile(`^-- (name|fragment): ([A-Za-z][A-Za-z0-9_]*)\s*$`)
	fragmentRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9_]*)\}`)
)

// parseQueries reads every queries/*.sql file of fsys into statements by
// name, with fragments substituted.
func parseQueries(fsys fs.FS) (map[string]string, error) {
	files, err := fs.Glob(fsys, "queries/*.sql")
	if err != nil {
		return nil, err
	}
	statements, fragments := map[string]string{}, map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var kind, name string
		var body []string
		flush := func() error {
			if name == "" {
				return nil
			}
			text := strings.TrimSpace(strings.Join(body, "\n"))
			if text == "" {
				return fmt.Errorf("%s: %s %q is empty", f, kind, name)
			}
			target := statements
			if kind == "fragment" {
				target = fragments
			}
			if _, dup := target[name]; dup {
				return fmt.Errorf("%s: %s %q is defined twice", f, kind, name)
			}
			target[name] = text
			return nil
		}
		for _, line := range strings.Split(string(b), "\n") {
			if m := blockRE.FindStringSubmatch(line); m != nil {
				if err := flush(); err != nil {
					return nil, err
				}
				kind, name, body = m[1], m[2], nil
				continue
			}
			if name != "" && !strings.HasPrefix(strings.TrimSpace(line), "--") {
				body = append(body, line)
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	for name, text := range statements {
		var missing error
		statements[name] = fragmentRE.ReplaceAllStringFunc(text, func(ref string) string {
			frag, ok := fragments[fragmentRE.FindStringSubmatch(ref)[1]]
			if !ok {
				missing = fmt.Errorf("statement %q includes unknown fragment %s", name, ref)
			}
			return frag
		})
		if missing != nil {
			return nil, missing
		}
	}
	return statements, nil
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
