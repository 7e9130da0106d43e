package nofinance_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/nofinance"
)

// An agent that imports finance and writes a budget line is flagged, by a
// method value too; reading a proposal is not; the package that applies an
// approved proposal (agentproposal) may write finance.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, nofinance.Analyzer, "example.com/internal/agent/...", "example.com/internal/agentproposal")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, nofinance.Analyzer, "example.com/internal/agent/...", "example.com/internal/agentproposal")
}
