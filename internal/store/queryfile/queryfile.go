package queryfile

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

var (
	blockRE = regexp.MustCompile(`^-- (name|fragment): ([A-Za-z][A-Za-z0-9_]*)\s*$`)
	// FragmentRE matches a fragment reference, ${name}; group 1 is the name.
	FragmentRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9_]*)\}`)
)

// Block is one block of a queries file, before substitution.
type Block struct {
	File string // the path in the file system it was read from
	Line int    // the 1-based line of its "-- name:" or "-- fragment:" header
	Kind string // "name" (a statement) or "fragment"
	Name string
	Text string // comment lines dropped, trimmed
}

// Statement is a named statement with its fragments substituted.
type Statement struct {
	File string
	Line int // the line of its header
	Name string
	Text string
}

// HasBlocks reports whether src holds at least one block header: a queries
// file rather than a plain SQL script.
func HasBlocks(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		if blockRE.MatchString(line) {
			return true
		}
	}
	return false
}

// ReadBlocks reads the blocks of every file of fsys that matches pattern
// (fs.Glob), in name order.
func ReadBlocks(fsys fs.FS, pattern string) ([]Block, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var blocks []Block
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		fb, err := ParseBlocks(f, b)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, fb...)
	}
	return blocks, nil
}

// ParseBlocks splits the content src of the queries file named file into
// its blocks.
func ParseBlocks(file string, src []byte) ([]Block, error) {
	var blocks []Block
	var cur *Block
	var body []string
	flush := func() error {
		if cur == nil {
			return nil
		}
		cur.Text = strings.TrimSpace(strings.Join(body, "\n"))
		if cur.Text == "" {
			return fmt.Errorf("%s: %s %q is empty", file, cur.Kind, cur.Name)
		}
		blocks = append(blocks, *cur)
		return nil
	}
	for i, line := range strings.Split(string(src), "\n") {
		if m := blockRE.FindStringSubmatch(line); m != nil {
			if err := flush(); err != nil {
				return nil, err
			}
			cur, body = &Block{File: file, Line: i + 1, Kind: m[1], Name: m[2]}, nil
			continue
		}
		if cur != nil && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			body = append(body, line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return blocks, nil
}

// Parse reads every file of fsys that matches pattern into statements by
// name, with fragments substituted (a fragment may include fragments).
func Parse(fsys fs.FS, pattern string) (map[string]string, error) {
	blocks, err := ReadBlocks(fsys, pattern)
	if err != nil {
		return nil, err
	}
	stmts, err := Expand(blocks)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(stmts))
	for _, s := range stmts {
		out[s.Name] = s.Text
	}
	return out, nil
}

// Expand substitutes the fragments of blocks into their statements, in
// the order of blocks.
func Expand(blocks []Block) ([]Statement, error) {
	statements, fragments := map[string]bool{}, map[string]string{}
	for _, b := range blocks {
		seen := statements
		if b.Kind == "fragment" {
			if _, dup := fragments[b.Name]; dup {
				return nil, fmt.Errorf("%s: %s %q is defined twice", b.File, b.Kind, b.Name)
			}
			fragments[b.Name] = b.Text
			continue
		}
		if seen[b.Name] {
			return nil, fmt.Errorf("%s: %s %q is defined twice", b.File, b.Kind, b.Name)
		}
		seen[b.Name] = true
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
	var out []Statement
	for _, b := range blocks {
		if b.Kind != "name" {
			continue
		}
		text, err := substitute(b.Text, func(ref string) (string, error) {
			if _, ok := fragments[ref]; !ok {
				return "", fmt.Errorf("statement %q includes unknown fragment ${%s}", b.Name, ref)
			}
			return expandFragment(ref, nil)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, Statement{File: b.File, Line: b.Line, Name: b.Name, Text: text})
	}
	return out, nil
}

// substitute replaces every ${name} of text with expand(name).
func substitute(text string, expand func(name string) (string, error)) (string, error) {
	var failed error
	out := FragmentRE.ReplaceAllStringFunc(text, func(ref string) string {
		s, err := expand(FragmentRE.FindStringSubmatch(ref)[1])
		if err != nil && failed == nil {
			failed = err
		}
		return s
	})
	return out, failed
}
