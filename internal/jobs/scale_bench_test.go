package jobs

import (
	"os"
	"testing"
)

// benchScaleEnv selects the size of this package's issue-#12 benchmarks:
// "quick" (each finishes in about 20 s or less; the default when unset)
// or "full" (2–3 minutes at most), as `make bench` sets it.
const benchScaleEnv = "RAMPART_BENCH_SCALE"

// benchFull reports whether the benchmark runs at full size; an unknown
// value fails the benchmark rather than silently measuring something else.
func benchFull(b *testing.B) bool {
	b.Helper()
	switch v := os.Getenv(benchScaleEnv); v {
	case "", "quick":
		return false
	case "full":
		return true
	default:
		b.Fatalf("%s=%q: want quick or full", benchScaleEnv, v)
		return false
	}
}

// benchSize is quick or full, by benchFull.
func benchSize(b *testing.B, quick, full int) int {
	b.Helper()
	if benchFull(b) {
		return full
	}
	return quick
}
