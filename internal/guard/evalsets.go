package guard

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// The evaluation sets committed with the repository
// (testdata/eval/*-attacks.jsonl and *-benign.jsonl, docs/guard-data.md)
// travel in the binary, so `rampart trust-report` scores the guard of the
// running binary on them without the source tree.
//
//go:embed testdata/eval/*.jsonl
var evalFS embed.FS

// EvalSamples returns the committed evaluation sets as labelled samples:
// files ending in -attacks.jsonl are attacks, -benign.jsonl benign. Each
// line is JSON with "text" and an optional "source" (default: the file's
// name).
func EvalSamples() ([]Sample, error) {
	files, err := fs.Glob(evalFS, "testdata/eval/*.jsonl")
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".jsonl")
		var attack bool
		switch {
		case strings.HasSuffix(base, "-attacks"):
			attack = true
		case strings.HasSuffix(base, "-benign"):
		default:
			continue
		}
		b, err := evalFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var rec struct {
				Text   *string `json:"text"`
				Source string  `json:"source"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Text == nil {
				return nil, fmt.Errorf("%s:%d: not a JSON line with \"text\"", f, line)
			}
			if rec.Source == "" {
				rec.Source = base
			}
			out = append(out, Sample{Text: *rec.Text, Source: rec.Source, Attack: attack})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return out, nil
}

// EvalSetNames lists the embedded evaluation files.
func EvalSetNames() []string {
	files, _ := fs.Glob(evalFS, "testdata/eval/*.jsonl")
	for i, f := range files {
		files[i] = path.Join("internal/guard", f)
	}
	return files
}
