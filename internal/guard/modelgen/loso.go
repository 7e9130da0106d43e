package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-dev/rampart/internal/guard"
)

// leaveOneSourceOut trains one model per source named in which ("all": every
// training source), each without that source's texts, and prints a
// Markdown table of how the guard (the rules plus that model, at the
// default threshold) and the model alone do on the source left out:
// recall for an attack source, the false-positive rate for a benign one.
// Beside it: the same texts under a model trained with every source (for
// most of them seen in training, so an upper bound), and the left-out
// model's false-positive rate on the held-out e-mails (easy-ham-2), to show
// it did not buy recall with false positives. Nothing is written.
func leaveOneSourceOut(w io.Writer, items, heldHam []item, which string, seed uint64, calibFPR float64) error {
	bySource := map[string][]item{}
	for _, it := range items {
		bySource[it.Source] = append(bySource[it.Source], it)
	}
	var sources []string
	if which == "all" {
		for s := range bySource {
			sources = append(sources, s)
		}
		sort.Strings(sources)
	} else {
		for _, s := range strings.Split(which, ",") {
			if _, ok := bySource[s]; !ok {
				return fmt.Errorf("-loso: no training source %q", s)
			}
			sources = append(sources, s)
		}
	}

	full, err := fitModel(slices.Clone(items), seed, calibFPR)
	if err != nil {
		return err
	}
	fullGuard, err := guard.New(guard.Options{Model: full.model})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Leave-one-source-out (seed %d, calibration FPR %.4f; all sources: threshold %.4f, held-out ham FPR %.4f)\n\n",
		seed, calibFPR, full.threshold, flaggedShare(fullGuard, heldHam))
	fmt.Fprintln(w, "| left out | kind | texts | guard, trained with it | guard, left out | model alone, left out | held-out ham FPR, left out | model threshold |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, src := range sources {
		rest := make([]item, 0, len(items))
		for _, it := range items {
			if it.Source != src {
				rest = append(rest, it)
			}
		}
		f, err := fitModel(rest, seed, calibFPR)
		if err != nil {
			return fmt.Errorf("without %s: %w", src, err)
		}
		g, err := guard.New(guard.Options{Model: f.model})
		if err != nil {
			return err
		}
		out := bySource[src]
		kind, measure := "benign", "FPR"
		if out[0].attack {
			kind, measure = "attack", "recall"
		}
		var modelHits int
		for _, it := range out {
			if f.model.Probability(guard.NormalizeForModel(it.Text)) >= f.threshold {
				modelHits++
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s %.3f | %s %.3f | %s %.3f | %.4f | %.4f |\n",
			src, kind, len(out),
			measure, flaggedShare(fullGuard, out),
			measure, flaggedShare(g, out),
			measure, float64(modelHits)/float64(len(out)),
			flaggedShare(g, heldHam), f.threshold)
	}
	return nil
}

// flaggedShare is the share of items g blocks.
func flaggedShare(g *guard.Guard, items []item) float64 {
	if len(items) == 0 {
		return 0
	}
	n := 0
	for _, it := range items {
		if _, v := g.Inspect("data", it.Text); v.Blocked {
			n++
		}
	}
	return float64(n) / float64(len(items))
}
