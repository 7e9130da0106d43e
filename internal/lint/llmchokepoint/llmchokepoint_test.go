package llmchokepoint_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/llmchokepoint"
)

// The handler package imports an SDK and is flagged; internal/llm is not.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, llmchokepoint.Analyzer, "example.com/internal/api", "example.com/internal/llm")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, llmchokepoint.Analyzer, "example.com/internal/api", "example.com/internal/llm")
}
