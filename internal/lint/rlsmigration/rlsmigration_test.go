package rlsmigration_test

import (
	"testing"

	"github.com/rampart-dev/rampart/internal/lint/linttest"
	"github.com/rampart-dev/rampart/internal/lint/rlsmigration"
)

// 001 is a complete tenant table and a table without tenant data; 002
// forgets FORCE, 003 forgets everything, 004 has a policy that isolates
// nothing and turns RLS off on an older table.
func TestAnalyzer(t *testing.T) {
	linttest.Run(t, rlsmigration.Analyzer, "example.com/store")
}

func TestTestdataFailsWithoutTheAnalyzer(t *testing.T) {
	linttest.FailsWithout(t, rlsmigration.Analyzer, "example.com/store")
}
