package promptguard_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/promptguard"
)

// internal/llm's vetted path (constant prompts, prepared built from a
// Prompt's text and userMessage) passes; a request field fed to the SDK,
// a prompt built from input, a prepared request built from a string and
// a justified exception without a reason are flagged, in llm and in api.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, promptguard.Analyzer, "example.com/internal/...")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, promptguard.Analyzer, "example.com/internal/...")
}
