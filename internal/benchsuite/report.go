package benchsuite

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one run of the suite: what the JSON file holds.
type Report struct {
	Scale     Scale         `json:"scale"`
	Started   time.Time     `json:"started"`
	Seconds   float64       `json:"seconds"`
	GoVersion string        `json:"go_version"`
	CPUs      int           `json:"cpus"`
	Commit    string        `json:"commit,omitempty"`
	Entries   []EntryReport `json:"entries"`
	Met       int           `json:"goals_met"`
	Missed    int           `json:"goals_missed"`
	Failed    int           `json:"entries_failed"`
	Skipped   []string      `json:"skipped,omitempty"` // entries not run at this scale
}

// EntryReport is one entry's run: its results and its goals checked.
type EntryReport struct {
	ID        string   `json:"id"`
	Package   string   `json:"package"`
	Bench     string   `json:"bench"`
	What      string   `json:"what"`
	Pattern   string   `json:"pattern"`
	Benchtime string   `json:"benchtime"`
	Seconds   float64  `json:"seconds"`
	Error     string   `json:"error,omitempty"`
	Results   []Result `json:"results"`
	Checks    []Check  `json:"checks"`
	show      []string
}

// Check is one goal against one variant's value.
type Check struct {
	Variant string  `json:"variant"`
	Metric  string  `json:"metric"`
	Op      string  `json:"op"`
	Goal    float64 `json:"goal"`
	Value   float64 `json:"value"`
	Met     bool    `json:"met"`
	// Margin is by how much the goal is met (positive) or missed
	// (negative), in the metric's unit.
	Margin float64 `json:"margin"`
	// Score is value/goal (goal/value for ≤ goals): 1 is the goal.
	Score float64 `json:"score"`
	// Missing is set when no result had the metric.
	Missing bool `json:"missing,omitempty"`
}

// Evaluate checks e's goals against the results of its benchmark: one
// Check per goal and matching variant, and a Missing one for a goal no
// result reported.
func Evaluate(e Entry, results []Result) []Check {
	var out []Check
	for _, g := range e.Goals {
		re := regexp.MustCompile(g.Variant) // Validate compiled it
		found := false
		for _, r := range results {
			if r.Function() != e.Bench || !re.MatchString(r.Variant) {
				continue
			}
			v, ok := r.Metrics[g.Metric]
			if !ok {
				continue
			}
			found = true
			met, margin, score := g.Check(v)
			out = append(out, Check{Variant: r.Variant, Metric: g.Metric, Op: g.Op, Goal: g.Value, Value: v, Met: met, Margin: margin, Score: score})
		}
		if !found {
			out = append(out, Check{Metric: g.Metric, Op: g.Op, Goal: g.Value, Missing: true})
		}
	}
	return out
}

// NewEntryReport is the report of e's run at scale s.
func NewEntryReport(e Entry, s Scale, results []Result, elapsed time.Duration, runErr error) EntryReport {
	er := EntryReport{ID: e.ID, Package: e.Package, Bench: e.Bench, What: e.What, Pattern: e.Pattern(s), Benchtime: e.Run(s).Benchtime,
		Seconds: elapsed.Seconds(), show: e.Show}
	for _, r := range results {
		if r.Function() == e.Bench {
			er.Results = append(er.Results, r)
		}
	}
	if runErr != nil {
		er.Error = runErr.Error()
	}
	er.Checks = Evaluate(e, er.Results)
	return er
}

// Tally counts goals met and missed (a missing metric is missed) and
// failed entries.
func (r *Report) Tally() {
	r.Met, r.Missed, r.Failed = 0, 0, 0
	for _, e := range r.Entries {
		if e.Error != "" {
			r.Failed++
		}
		for _, c := range e.Checks {
			if c.Met {
				r.Met++
			} else {
				r.Missed++
			}
		}
	}
}

// Status is a check as the table prints it: "met by 0.02 (3%)",
// "missed by 0.13 (16%)" or "no result".
func (c Check) Status() string {
	if c.Missing {
		return "no result"
	}
	word := "met"
	if !c.Met {
		word = "MISSED"
	}
	s := word + " by " + formatValue(math.Abs(c.Margin))
	if c.Goal != 0 {
		s += fmt.Sprintf(" (%.0f%%)", math.Abs(c.Margin/c.Goal)*100)
	}
	return s
}

// WriteTable prints the one table: benchmark, variant, metric, value,
// goal, met or missed by how much; then the entries that failed and a
// summary line.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tvariant\tmetric\tvalue\tgoal\tstatus")
	fmt.Fprintln(tw, "---------\t-------\t------\t-----\t----\t------")
	for _, e := range r.Entries {
		checks := map[[2]string]Check{}
		for _, c := range e.Checks {
			checks[[2]string{c.Variant, c.Metric}] = c
		}
		for _, res := range e.Results {
			units := e.show
			if len(units) == 0 {
				units = res.Order
			}
			for _, u := range units {
				v, ok := res.Metrics[u]
				if !ok {
					continue
				}
				goal, status := "", ""
				if c, ok := checks[[2]string{res.Variant, u}]; ok {
					goal, status = (Goal{Op: c.Op, Value: c.Goal}).String(), c.Status()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, orDash(res.Variant), u, formatValue(v), goal, status)
			}
		}
		for _, c := range e.Checks {
			if c.Missing {
				fmt.Fprintf(tw, "%s\t-\t%s\t-\t%s\t%s\n", e.ID, c.Metric, (Goal{Op: c.Op, Value: c.Goal}).String(), c.Status())
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.Entries {
		if e.Error != "" {
			fmt.Fprintf(w, "FAILED %s (%s %s): %s\n", e.ID, e.Package, e.Pattern, e.Error)
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "not run at the %s scale: %s\n", r.Scale, strings.Join(r.Skipped, ", "))
	}
	_, err := fmt.Fprintf(w, "%s scale, %d entries in %s: goals met %d, missed %d; entries failed %d\n",
		r.Scale, len(r.Entries), (time.Duration(r.Seconds * float64(time.Second))).Round(time.Second), r.Met, r.Missed, r.Failed)
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatValue prints a metric with the precision its size deserves.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return fmt.Sprint(v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// WriteSVG draws the checks as a horizontal bar chart of their scores
// (value ÷ goal, goal ÷ value for ≤ goals) against the goal line at 1:
// hand-written SVG, no dependencies. Bars are capped at 2× the goal.
func (r *Report) WriteSVG(w io.Writer) error {
	type bar struct {
		label, value string
		score        float64
		met          bool
	}
	var bars []bar
	for _, e := range r.Entries {
		for _, c := range e.Checks {
			if c.Missing {
				continue
			}
			label := e.ID
			if c.Variant != "" {
				label += " " + c.Variant
			}
			label += " " + c.Metric
			bars = append(bars, bar{label: label, value: formatValue(c.Value) + " (goal " + (Goal{Op: c.Op, Value: c.Goal}).String() + ")",
				score: c.Score, met: c.Met})
		}
	}
	const (
		labelW, chartW, valueW = 430, 360, 220
		rowH, top, bottom      = 22, 46, 30
		maxScore               = 2.0
	)
	width := labelW + chartW + valueW
	height := top + rowH*len(bars) + bottom
	x := func(score float64) float64 { return labelW + chartW*math.Min(math.Max(score, 0), maxScore)/maxScore }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">%s</text>`+"\n",
		xmlEscape(fmt.Sprintf("make bench (%s): each goal's value ÷ goal; the line is the goal; goals met %d of %d", r.Scale, r.Met, r.Met+r.Missed)))
	for _, tick := range []float64{0, 0.5, 1, 1.5, 2} {
		fmt.Fprintf(&b, `<text x="%.1f" y="38" text-anchor="middle" fill="#555">%s×</text>`+"\n", x(tick), formatValue(tick))
	}
	for i, br := range bars {
		y := top + i*rowH
		fill := "#2e7d32"
		if !br.met {
			fill = "#c62828"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+15, xmlEscape(br.label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+4, x(br.score)-labelW, rowH-8, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", labelW+chartW+8, y+15, xmlEscape(br.value))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="4 3"/>`+"\n", x(1), top-4, x(1), top+rowH*len(bars))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// WriteMarkdown writes the report as the README's benchmark table: one row
// per entry with what it compares, the shown metrics of each variant, and
// each goal met or missed by how much.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "%s scale, %s, %d CPUs, commit %s, %s: goals met %d, missed %d; entries failed %d.\n\n",
		r.Scale, r.Started.UTC().Format("2006-01-02"), r.CPUs, orDash(r.Commit), r.GoVersion, r.Met, r.Missed, r.Failed)
	fmt.Fprintln(w, "| benchmark | what is compared | results | goals |")
	fmt.Fprintln(w, "|---|---|---|---|")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, e := range r.Entries {
		var res []string
		for _, x := range e.Results {
			units := e.show
			if len(units) == 0 {
				units = x.Order
			}
			var parts []string
			for _, u := range units {
				if v, ok := x.Metrics[u]; ok {
					parts = append(parts, u+" "+formatValue(v))
				}
			}
			if len(parts) == 0 {
				continue
			}
			line := strings.Join(parts, ", ")
			if x.Variant != "" {
				line = x.Variant + ": " + line
			}
			res = append(res, line)
		}
		if e.Error != "" {
			res = append(res, "FAILED: "+e.Error)
		}
		var goals []string
		for _, c := range e.Checks {
			g := c.Metric + " " + (Goal{Op: c.Op, Value: c.Goal}).String() + ": "
			if c.Variant != "" {
				g = c.Variant + " " + g
			}
			if c.Missing {
				g += "no result"
			} else {
				g += formatValue(c.Value) + ", " + c.Status()
			}
			goals = append(goals, g)
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", e.Bench, cell(e.What), cell(strings.Join(res, "<br>")), cell(orDash(strings.Join(goals, "<br>"))))
	}
	return nil
}
