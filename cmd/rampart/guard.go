package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/rampart-dev/rampart/internal/guard"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runGuard(_ context.Context, m *Main, args []string) int {
	fs := m.flagSet("guard", "guard eval --attacks FILE --benign FILE [--threshold N] [flags]", `
The prompt-injection guard (docs/ai-guard.md).

  rampart guard eval --attacks FILE --benign FILE [--threshold N]
      The scorecard: runs the guard (rules and the embedded model) over
      labelled texts and prints recall and false-positive rate overall and
      per source, a threshold sweep, and the worst misses and false
      positives. A file holds one text per line, or JSON lines with "text"
      and "source" fields (a line without "source" counts under the file's
      name). --attacks and --benign may be given more than once.
  rampart guard model
      Prints the embedded model's provenance and calibrated threshold.`)
	var attacks, benign stringList
	fs.Var(&attacks, "attacks", "eval: a file of attacks (repeatable)")
	fs.Var(&benign, "benign", "eval: a file of benign texts (repeatable)")
	threshold := fs.Int("threshold", 0, fmt.Sprintf("eval: the guard threshold (default %d)", guard.DefaultThreshold))
	worst := fs.Int("worst", 10, "eval: how many worst misses and false positives to print")
	rulesOnly := fs.Bool("rules-only", false, "eval: turn the model off (the rules alone)")
	jsonOut := fs.Bool("json", false, "eval: print the scorecard as JSON")
	if code, done := m.parse(fs, args); done {
		return code
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "eval" && fs.Arg(0) != "model") {
		fmt.Fprintln(m.Stderr, "rampart guard: usage: rampart guard eval --attacks FILE --benign FILE [--threshold N] (see --help)")
		return exitUsage
	}
	if fs.Arg(0) == "model" {
		mo := guard.DefaultModel()
		fmt.Fprintf(m.Stdout, "threshold %.4f (probability at which the model alone scores %d)\n%s\n", mo.Threshold(), guard.ModelPoints, mo.Meta())
		return exitOK
	}
	if len(attacks) == 0 && len(benign) == 0 {
		fmt.Fprintln(m.Stderr, "rampart guard eval: give at least one --attacks or --benign file")
		return exitUsage
	}
	g, err := guard.New(guard.Options{Threshold: *threshold, NoModel: *rulesOnly})
	if err != nil {
		return m.fail("guard eval", err)
	}
	var samples []guard.Sample
	for _, set := range []struct {
		files  []string
		attack bool
	}{{attacks, true}, {benign, false}} {
		for _, f := range set.files {
			s, err := readSamples(f, set.attack)
			if err != nil {
				return m.fail("guard eval", err)
			}
			samples = append(samples, s...)
		}
	}
	sc := guard.Evaluate(g, samples, *worst)
	if *jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sc); err != nil {
			return m.fail("guard eval", err)
		}
		return exitOK
	}
	printScorecard(m.Stdout, sc, *rulesOnly)
	return exitOK
}

// readSamples reads one text per line, or JSON lines with "text" and
// "source" (guard.ReadSamples).
func readSamples(path string, attack bool) ([]guard.Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := guard.ReadSamples(f, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), attack)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func printScorecard(w io.Writer, sc guard.Scorecard, rulesOnly bool) {
	detector := "rules + model"
	if rulesOnly {
		detector = "rules only"
	}
	fmt.Fprintf(w, "Guard scorecard (%s), threshold %d\n\n", detector, sc.Threshold)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\ttexts\tflagged\trate\n")
	fmt.Fprintf(tw, "attacks (recall)\t%d\t%d\t%.3f\n", sc.Attacks, sc.Caught, sc.Recall())
	fmt.Fprintf(tw, "benign (false positives)\t%d\t%d\t%.4f\n", sc.Benign, sc.FalsePos, sc.FPR())
	if !rulesOnly {
		fmt.Fprintf(tw, "  rules alone: recall\t\t%d\t%.3f\n", sc.RulesCaught, ratio(sc.RulesCaught, sc.Attacks))
		fmt.Fprintf(tw, "  rules alone: false positives\t\t%d\t%.4f\n", sc.RulesFalsePos, ratio(sc.RulesFalsePos, sc.Benign))
		fmt.Fprintf(tw, "  model alone: recall\t\t%d\t%.3f\n", sc.ModelCaught, ratio(sc.ModelCaught, sc.Attacks))
		fmt.Fprintf(tw, "  model alone: false positives\t\t%d\t%.4f\n", sc.ModelFalsePos, ratio(sc.ModelFalsePos, sc.Benign))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nPer source\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "source\tkind\ttexts\tflagged\trate\n")
	for _, s := range sc.Sources {
		kind, rate := "benign", "FPR"
		if s.Attack {
			kind, rate = "attack", "recall"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s %.3f\n", s.Source, kind, s.Texts, s.Flagged, rate, s.Rate())
	}
	tw.Flush()

	fmt.Fprintf(w, "\nThreshold sweep\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "threshold\trecall\tFPR\n")
	for _, p := range sc.Sweep {
		mark := ""
		if p.Threshold == sc.Threshold {
			mark = "  <- current"
		}
		fmt.Fprintf(tw, "%d\t%.3f\t%.4f%s\n", p.Threshold, p.Recall, p.FPR, mark)
	}
	tw.Flush()

	printWorst(w, "Worst misses (attacks with the lowest scores)", sc.Misses)
	printWorst(w, "Worst false positives (benign texts with the highest scores)", sc.FalsePositives)

	fmt.Fprintf(w, "\nSpeed: %d texts, %.1f KiB, %v in Inspect, %v per KiB (one goroutine)\n",
		sc.Attacks+sc.Benign, float64(sc.Bytes)/1024, sc.Elapsed.Round(1e6), sc.PerKiB().Round(100))
}

func printWorst(w io.Writer, title string, list []guard.Scored) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	for _, s := range list {
		fmt.Fprintf(w, "  score %3d (rules %3d, model %3d, p=%.3f) [%s] %s\n", s.Verdict.Score, s.Verdict.RulesScore,
			s.Verdict.ModelScore, s.Verdict.ModelProbability, s.Source, excerpt(s.Text, 110))
	}
}

// excerpt is s on one line, cut to n runes.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
