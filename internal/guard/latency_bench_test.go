package guard

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkGuardLatencyPerKiB times every Inspect call, one goroutine
// locked to its thread, on the committed evaluation texts (event briefs,
// RFPs and vendor e-mails, and injections hidden in them, most under
// 1 KiB) and on briefs of 1, 4 and 16 KiB made of them, an injection
// inside every other one. It reports the 50th and 99th percentile of the
// time per KiB of input (each call's time over its own size, a call under
// 1 KiB counted as 1 KiB so short texts' fixed cost does not inflate the
// figure), both as the thread's CPU time (what issue #13 budgets: 1 ms per
// KiB on one core; steady on a loaded machine) and as wall time (which on
// a shared machine includes waiting for a core), and the 16 KiB briefs'
// call time.
func BenchmarkGuardLatencyPerKiB(b *testing.B) {
	var texts []string
	for _, f := range []string{"events-benign.jsonl", "events-attacks.jsonl"} {
		texts = append(texts, readEvalTexts(b, filepath.Join("testdata", "eval", f))...)
	}
	benign := readEvalTexts(b, filepath.Join("testdata", "eval", "events-benign.jsonl"))
	attacks := readEvalTexts(b, filepath.Join("testdata", "eval", "events-attacks.jsonl"))
	var long []string
	for i, kib := range []int{1, 1, 4, 4, 16, 16} {
		var sb strings.Builder
		for j := i; sb.Len() < kib<<10; j++ {
			if i%2 == 1 && sb.Len() > kib<<9 && !strings.Contains(sb.String(), attacks[i]) {
				sb.WriteString(attacks[i] + "\n")
			}
			sb.WriteString(benign[j%len(benign)] + "\n")
		}
		long = append(long, sb.String())
	}
	texts = append(texts, long...)
	g, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, haveCPU := threadCPU()
	var perKiB, cpuPerKiB, big, bigCPU []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, t := range texts {
			cpu0, _ := threadCPU()
			start := time.Now()
			g.Inspect("brief", t)
			took := time.Since(start)
			cpu1, _ := threadCPU()
			kib := max(1, float64(len(t))/1024)
			perKiB = append(perKiB, time.Duration(float64(took)/kib))
			cpuPerKiB = append(cpuPerKiB, time.Duration(float64(cpu1-cpu0)/kib))
			if len(t) >= 16<<10 {
				big, bigCPU = append(big, took), append(bigCPU, cpu1-cpu0)
			}
		}
	}
	p := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(q*float64(len(s))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(p(perKiB, 0.50), "wall-p50-µs/KiB")
	b.ReportMetric(p(perKiB, 0.99), "wall-p99-µs/KiB")
	b.ReportMetric(p(big, 0.50), "16KiB-wall-p50-µs")
	b.ReportMetric(p(big, 0.99), "16KiB-wall-p99-µs")
	if haveCPU {
		b.ReportMetric(p(cpuPerKiB, 0.50), "cpu-p50-µs/KiB")
		b.ReportMetric(p(cpuPerKiB, 0.99), "cpu-p99-µs/KiB")
		b.ReportMetric(p(bigCPU, 0.50), "16KiB-cpu-p50-µs")
		b.ReportMetric(p(bigCPU, 0.99), "16KiB-cpu-p99-µs")
		b.Logf("%d texts (%d briefs of 1-16 KiB) × %d, CPU time of the thread: p50 %.0f µs/KiB, p99 %.0f µs/KiB; a 16 KiB brief p50 %.0f µs, p99 %.0f µs",
			len(texts), len(long), b.N, p(cpuPerKiB, 0.5), p(cpuPerKiB, 0.99), p(bigCPU, 0.5), p(bigCPU, 0.99))
	}
	b.Logf("%d texts (%d briefs of 1-16 KiB) × %d, wall time: p50 %.0f µs/KiB, p99 %.0f µs/KiB; a 16 KiB brief p50 %.0f µs, p99 %.0f µs",
		len(texts), len(long), b.N, p(perKiB, 0.5), p(perKiB, 0.99), p(big, 0.5), p(big, 0.99))
}

// readEvalTexts reads the "text" of each JSON line of path.
func readEvalTexts(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r.Text)
	}
	if err := sc.Err(); err != nil || len(out) == 0 {
		tb.Fatalf("%s: %d texts, %v", path, len(out), err)
	}
	return out
}
