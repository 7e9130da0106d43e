package benchsuite

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/rampart-dev/rampart/internal/store
cpu: AMD EPYC
BenchmarkAuditedMutation/orgs=1-2            	       1	  96686178 ns/op	      4589 audited-ops/s	         0.7671 audited/plain	      5982 plain-ops/s
BenchmarkAuditedMutation/orgs=100-2          	       1	 123025560 ns/op	      3145 audited-ops/s	         0.5471 audited/plain	      5749 plain-ops/s
--- BENCH: BenchmarkAuditedMutation/orgs=100-2
    audit_bench_test.go:99: BenchmarkAuditedMutation/orgs=1 1 2 unit
BenchmarkAuditVerify-2                       	       1	 559520045 ns/op	    357497 events/s
BenchmarkKillSwitchPropagation/listen/scope=global-2 	 1	5176661490 ns/op	        10.09 max-ms	        10.05 p99-ms
PASS
ok  	github.com/rampart-dev/rampart/internal/store	11.645s
`

func TestParse(t *testing.T) {
	res, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4: %+v", len(res), res)
	}
	r := res[1]
	if r.Name != "BenchmarkAuditedMutation/orgs=100" || r.Variant != "orgs=100" || r.Function() != "BenchmarkAuditedMutation" || r.Iterations != 1 {
		t.Fatalf("%+v", r)
	}
	if r.Metrics["audited/plain"] != 0.5471 || r.Metrics["ns/op"] != 123025560 || len(r.Order) != 4 || r.Order[1] != "audited-ops/s" {
		t.Fatalf("%+v", r)
	}
	if res[2].Variant != "" || res[2].Metrics["events/s"] != 357497 {
		t.Fatalf("%+v", res[2])
	}
	if res[3].Variant != "listen/scope=global" || res[3].Function() != "BenchmarkKillSwitchPropagation" {
		t.Fatalf("%+v", res[3])
	}
}

func TestGoalCheck(t *testing.T) {
	for _, c := range []struct {
		g             Goal
		v             float64
		met           bool
		margin, score float64
	}{
		{Goal{Op: ">=", Value: 0.80}, 0.64, false, -0.16, 0.8},
		{Goal{Op: ">=", Value: 0.80}, 0.80, true, 0, 1},
		{Goal{Op: "<=", Value: 50}, 10, true, 40, 5},
		{Goal{Op: "<=", Value: 40}, 50, false, -10, 0.8},
	} {
		met, margin, score := c.g.Check(c.v)
		if met != c.met || math.Abs(margin-c.margin) > 1e-9 || math.Abs(score-c.score) > 1e-9 {
			t.Errorf("%s with %v: met %v margin %v score %v; want %v %v %v", c.g, c.v, met, margin, score, c.met, c.margin, c.score)
		}
	}
	if s := (Check{Op: ">=", Goal: 0.8, Value: 0.64, Margin: -0.16}).Status(); s != "MISSED by 0.160 (20%)" {
		t.Errorf("status %q", s)
	}
	if s := (Check{Op: "<=", Goal: 50, Value: 10, Margin: 40, Met: true}).Status(); s != "met by 40.0 (80%)" {
		t.Errorf("status %q", s)
	}
}

func TestEvaluate(t *testing.T) {
	res, _ := Parse(strings.NewReader(sample))
	e := Entry{ID: "audited", Bench: "BenchmarkAuditedMutation", Goals: []Goal{
		{Metric: "audited/plain", Op: ">=", Value: 0.80},
		{Metric: "plain-ops/s", Op: ">=", Value: 5800, Variant: "^orgs=1$"},
		{Metric: "nothing", Op: ">=", Value: 1},
	}}
	checks := Evaluate(e, res)
	if len(checks) != 4 {
		t.Fatalf("%d checks, want 4 (2 variants, 1 filtered, 1 missing): %+v", len(checks), checks)
	}
	if checks[0].Variant != "orgs=1" || checks[0].Met || checks[1].Variant != "orgs=100" {
		t.Errorf("%+v", checks[:2])
	}
	if !checks[2].Met || checks[2].Variant != "orgs=1" || !checks[3].Missing || checks[3].Met {
		t.Errorf("%+v", checks[2:])
	}
}

func TestSuiteIsValid(t *testing.T) {
	if err := Validate(Suite); err != nil {
		t.Fatal(err)
	}
	bad := []Entry{{ID: "a", Package: "./p", Bench: "B", Quick: Run{Benchtime: "1x"}, Full: Run{Benchtime: "1x"},
		Goals: []Goal{{Metric: "m", Op: "=", Value: 1}}}}
	if Validate(bad) == nil {
		t.Error("an unknown comparison passed")
	}
	dup := []Entry{bad[0], bad[0]}
	dup[0].Goals, dup[1].Goals = nil, nil
	if Validate(dup) == nil {
		t.Error("a duplicate id passed")
	}
}

func TestGroups(t *testing.T) {
	r := Run{Benchtime: "1x"}
	entries := []Entry{
		{ID: "a", Package: "./p", Bench: "BenchmarkA", Quick: r},
		{ID: "b", Package: "./p", Bench: "BenchmarkB", Quick: r},
		{ID: "c", Package: "./p", Bench: "BenchmarkC", Quick: Run{Benchtime: "9x"}},
		{ID: "d", Package: "./p", Bench: "BenchmarkD", Quick: Run{Benchtime: "9x", Sub: "^x$"}},
		{ID: "e", Package: "./q", Bench: "BenchmarkE", Quick: r},
	}
	gs := groups(entries, Quick)
	if len(gs) != 4 || len(gs[0].entries) != 2 {
		t.Fatalf("%d groups: %+v", len(gs), gs)
	}
	if p := gs[0].pattern(Quick); p != "^(BenchmarkA|BenchmarkB)$" {
		t.Errorf("pattern %q", p)
	}
	if p := gs[2].pattern(Quick); p != "^BenchmarkD$/^x$" {
		t.Errorf("pattern %q", p)
	}
	if binaryName("./cmd/rampart") != "rampart.test" {
		t.Error(binaryName("./cmd/rampart"))
	}
}

func sampleReport(t *testing.T) *Report {
	res, _ := Parse(strings.NewReader(sample))
	e := Entry{ID: "audited", Bench: "BenchmarkAuditedMutation", Show: []string{"audited/plain", "plain-ops/s"},
		Goals: []Goal{{Metric: "audited/plain", Op: ">=", Value: 0.80}}, Quick: Run{Benchtime: "1x"}}
	v := Entry{ID: "verify & <co>", Bench: "BenchmarkAuditVerify", Goals: []Goal{{Metric: "events/s", Op: ">=", Value: 300000}}, Quick: Run{Benchtime: "1x"}}
	rep := &Report{Scale: Quick, Seconds: 61}
	rep.Entries = append(rep.Entries, NewEntryReport(e, Quick, res, time.Second, nil), NewEntryReport(v, Quick, res, time.Second, nil))
	rep.Tally()
	return rep
}

func TestTableAndJSON(t *testing.T) {
	rep := sampleReport(t)
	if rep.Met != 1 || rep.Missed != 2 {
		t.Fatalf("met %d missed %d", rep.Met, rep.Missed)
	}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"benchmark", "audited", "orgs=100", "audited/plain", "0.547", "≥ 0.800", "MISSED by 0.253 (32%)",
		"events/s", "met by 57497 (19%)", "goals met 1, missed 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "audited-ops/s") {
		t.Errorf("table shows a metric not in Show:\n%s", out)
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Entries) != 2 || back.Entries[0].Results[1].Metrics["audited-ops/s"] != 3145 || back.Entries[0].Checks[0].Score == 0 {
		t.Fatalf("%+v", back)
	}
}

func TestSVG(t *testing.T) {
	rep := sampleReport(t)
	var b bytes.Buffer
	if err := rep.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, one bar per check, labels escaped.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if rects != 1+3 { // background + 3 bars
		t.Errorf("%d rects, want 4", rects)
	}
	svg := b.String()
	if !strings.Contains(svg, "verify &amp; &lt;co&gt;") || !strings.Contains(svg, `fill="#c62828"`) || !strings.Contains(svg, `fill="#2e7d32"`) {
		t.Errorf("labels or colours missing:\n%s", svg)
	}
}

func TestMarkdown(t *testing.T) {
	rep := sampleReport(t)
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| benchmark | what is compared | results | goals |", "orgs=100: ", "audited/plain 0.547",
		"MISSED by 0.253 (32%)", "goals met 1, missed 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[2:] {
		if strings.Count(line, "|")-strings.Count(line, "\\|") != 5 {
			t.Errorf("a row with the wrong number of cells: %s", line)
		}
	}
}
