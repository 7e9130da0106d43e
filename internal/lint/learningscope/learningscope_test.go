package learningscope_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/learningscope"
	"github.com/rampart-dev/rampart/internal/lint/linttest"
)

// A crew package calling the learned-state door and a crew query reading
// learned_weights are flagged; the learning package, queries/learning.sql
// and the migration that creates the tables are not.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, learningscope.Analyzer, "example.com/internal/...")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, learningscope.Analyzer, "example.com/internal/...")
}
