package benchsuite

import (
	"fmt"
	"math"
	"regexp"
)

// Scale is how large and long the benchmarks run; the benchmarks read it
// from RAMPART_BENCH_SCALE.
type Scale string

// The scales: quick (make bench-quick, under 2 minutes on the 2-core
// development machine) and full (make bench, the published numbers).
const (
	Quick Scale = "quick"
	Full  Scale = "full"
)

// ScaleEnv is the variable the benchmarks read their scale from
// (pgtest.ScaleEnv).
const ScaleEnv = "RAMPART_BENCH_SCALE"

// Run is how an entry runs at one scale.
type Run struct {
	// Benchtime is go test's -benchtime ("1x", "500x", "2s").
	Benchtime string
	// Sub narrows the sub-benchmarks run, as the part of -bench after
	// the first "/" (e.g. "^listen$"); empty runs them all.
	Sub string
	// Env is extra environment, NAME=value.
	Env []string
	// Skip leaves the entry out at this scale (make bench-quick's time
	// budget); the table says so.
	Skip bool
}

// Goal is a target a metric must meet: Metric Op Value, for the
// sub-benchmarks whose variant matches Variant (empty: all).
type Goal struct {
	Metric  string
	Op      string // ">=" or "<="
	Value   float64
	Variant string // a regular expression over the variant
}

// Entry is one benchmark of the suite: where it is, how it runs at each
// scale, what the table shows and what it must reach. A new benchmark is
// one more Entry in Suite.
type Entry struct {
	ID      string // short and stable: the table's and the JSON's key
	Package string // relative to the module root, e.g. "./internal/api"
	Bench   string // the benchmark function, e.g. "BenchmarkRLSOverhead"
	What    string // one line: what is compared
	Quick   Run
	Full    Run
	// Show lists the metrics the table shows (all when empty). The JSON
	// has every metric.
	Show  []string
	Goals []Goal
}

// Run returns the entry's settings at scale s.
func (e Entry) Run(s Scale) Run {
	if s == Quick {
		return e.Quick
	}
	return e.Full
}

// Pattern is go test's -bench pattern for the entry at scale s.
func (e Entry) Pattern(s Scale) string {
	p := "^" + regexp.QuoteMeta(e.Bench) + "$"
	if sub := e.Run(s).Sub; sub != "" {
		p += "/" + sub
	}
	return p
}

// Check evaluates the goal against value: whether it is met and by how
// much (value − goal for ≥, goal − value for ≤: positive when met), and
// the normalised score the chart draws (1 = exactly the goal, above 1
// better).
func (g Goal) Check(value float64) (met bool, margin, score float64) {
	switch g.Op {
	case "<=":
		margin = g.Value - value
		if value > 0 {
			score = g.Value / value
		} else {
			score = math.Inf(1)
		}
	default:
		margin = value - g.Value
		if g.Value != 0 {
			score = value / g.Value
		}
	}
	return margin >= 0, margin, score
}

// String is the goal as the table prints it, e.g. "≥ 0.60".
func (g Goal) String() string {
	op := "≥"
	if g.Op == "<=" {
		op = "≤"
	}
	return op + " " + formatValue(g.Value)
}

// Validate reports a malformed suite: duplicate ids, missing fields,
// unknown comparison, bad regular expressions.
func Validate(entries []Entry) error {
	seen := map[string]bool{}
	for _, e := range entries {
		if e.ID == "" || e.Package == "" || e.Bench == "" || e.Quick.Benchtime == "" || e.Full.Benchtime == "" {
			return fmt.Errorf("entry %q: id, package, bench and both benchtimes are required", e.ID)
		}
		if seen[e.ID] {
			return fmt.Errorf("entry %q: duplicate id", e.ID)
		}
		seen[e.ID] = true
		for _, g := range e.Goals {
			if g.Op != ">=" && g.Op != "<=" {
				return fmt.Errorf("entry %q: goal on %s: op %q is not >= or <=", e.ID, g.Metric, g.Op)
			}
			if _, err := regexp.Compile(g.Variant); err != nil {
				return fmt.Errorf("entry %q: goal on %s: %v", e.ID, g.Metric, err)
			}
		}
		for _, s := range []Scale{Quick, Full} {
			if _, err := regexp.Compile(e.Pattern(s)); err != nil {
				return fmt.Errorf("entry %q: %v", e.ID, err)
			}
		}
	}
	return nil
}
