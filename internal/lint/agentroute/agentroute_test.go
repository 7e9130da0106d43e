package agentroute_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/agentroute"
	"github.com/rampart-dev/rampart/internal/lint/linttest"
)

// An agent handler registered with Agent passes; one wrapped in an Authed
// handler, a forged AgentCall, a private ServeMux and a bypass without a
// reason are flagged; a justified second listener is not.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, agentroute.Analyzer, "example.com/internal/api")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, agentroute.Analyzer, "example.com/internal/api")
}
