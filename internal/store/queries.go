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
// comment lines before the first block are the file's documentation;
// comment lines inside a block are dropped. A fragment may include other
// fragments.
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
	// A fragment may include other fragments; expand them first, so that
	// a statement's substitution is a single pass.
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
