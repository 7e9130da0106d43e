package benchsuite

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one benchmark line of go test's output: the benchmark's
// full name (GOMAXPROCS suffix removed), its variant (the sub-benchmark
// path after the function's name, "" for none), iterations and metrics
// by unit (ns/op and every b.ReportMetric).
type Result struct {
	Name       string             `json:"name"`
	Variant    string             `json:"variant"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
	// Order is the units in the order the line gave them.
	Order []string `json:"-"`
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads go test -bench output and returns its result lines, in
// order. Other lines (logs, PASS, ok) are ignored. A line is
// "BenchmarkName[/sub]-N <iterations> (<value> <unit>)+".
func Parse(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if res, ok := parseLine(sc.Text()); ok {
			out = append(out, res)
		}
	}
	return out, sc.Err()
}

func parseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	name := procsSuffix.ReplaceAllString(f[0], "")
	res := Result{Name: name, Iterations: n, Metrics: map[string]float64{}}
	if _, sub, ok := strings.Cut(name, "/"); ok {
		res.Variant = sub
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		if _, dup := res.Metrics[f[i+1]]; !dup {
			res.Order = append(res.Order, f[i+1])
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// Function is the benchmark function's name of a result: its name up to
// the first "/".
func (r Result) Function() string {
	fn, _, _ := strings.Cut(r.Name, "/")
	return fn
}
