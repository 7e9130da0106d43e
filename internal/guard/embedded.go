package guard

import (
	"bufio"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// The evaluation sets committed with the repository are embedded in the
// binary, so a running install can show the scorecard of its own guard
// (the trust report). A file named *-attacks.jsonl holds attacks, any other
// benign texts (docs/guard-data.md lists them and their licences).
//
//go:embed testdata/eval/*.jsonl
var evalFiles embed.FS

// EmbeddedScorecard scores g (nil: the default guard, rules and embedded
// model at the default threshold) on the evaluation sets embedded in the
// binary: the project's event-production attacks and benign briefs, RFPs
// and vendor e-mails, none of them trained on. It is the running binary's
// own scorecard, for the trust report; the public collections of
// docs/guard-data.md are not embedded (see `make guard-eval`). It takes a
// few milliseconds; the error is only for a build whose embedded files
// are unreadable.
func EmbeddedScorecard(g *Guard) (Scorecard, error) {
	samples, err := EmbeddedSamples()
	if err != nil {
		return Scorecard{}, err
	}
	return Evaluate(g, samples, 0), nil
}

// EmbeddedSamples are the embedded evaluation texts, in file order.
func EmbeddedSamples() ([]Sample, error) {
	names, err := fs.Glob(evalFiles, "testdata/eval/*.jsonl")
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, name := range names {
		f, err := evalFiles.Open(name)
		if err != nil {
			return nil, err
		}
		s, err := ReadSamples(f, strings.TrimSuffix(path.Base(name), ".jsonl"), strings.HasSuffix(name, "-attacks.jsonl"))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, s...)
	}
	return out, nil
}

// ReadSamples reads labelled texts: one text per line, or JSON lines with
// "text" and "source" (a line without "source", or a plain line, counts
// under name). Blank lines are skipped; a line may be up to 16 MiB.
func ReadSamples(r io.Reader, name string, attack bool) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		source := name
		if strings.HasPrefix(text, "{") {
			var rec struct {
				Text   *string `json:"text"`
				Source string  `json:"source"`
			}
			if err := json.Unmarshal([]byte(text), &rec); err == nil && rec.Text != nil {
				text = *rec.Text
				if rec.Source != "" {
					source = rec.Source
				}
			}
		}
		out = append(out, Sample{Text: text, Source: source, Attack: attack})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, err)
	}
	return out, nil
}

// EvalSetNames lists the embedded evaluation files by their path in the
// repository.
func EvalSetNames() []string {
	files, _ := fs.Glob(evalFiles, "testdata/eval/*.jsonl")
	for i, f := range files {
		files[i] = path.Join("internal/guard", f)
	}
	return files
}
