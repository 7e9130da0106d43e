package nosurveillance_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/nosurveillance"
)

// A crew table with a GPS column, a staffing table gaining a productivity
// score and a keystroke count, and a renamed column are flagged; a venue's
// location and a crew member's skills are not.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, nosurveillance.Analyzer, "example.com/store")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, nosurveillance.Analyzer, "example.com/store")
}
