package llm

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a goroutine of this package or of a model SDK
// outlives the tests: a stream that is not closed, a timer not stopped.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := waitForLeaks(10 * time.Second); leaks != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

func waitForLeaks(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		leaks := leakedGoroutines()
		if leaks == "" || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leakedGoroutines lists the goroutines, other than the caller's, whose
// stack runs code of this package or of an SDK.
func leakedGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	stacks := strings.Split(string(buf), "\n\n")
	var out []string
	for _, s := range stacks[1:] { // the first is this goroutine
		if strings.Contains(s, "rampart/internal/llm.") || strings.Contains(s, "anthropic-sdk-go") || strings.Contains(s, "openai-go") {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n\n")
}
