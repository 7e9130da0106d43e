// Command rampart-lint runs Rampart's own analyzers (internal/lint) over
// packages, as go vet runs its own: `rampart-lint ./...` (make lint). Each
// finding is "file:line:col: rule: message"; docs/guardrails.md says why
// each rule exists and how an exception is justified. It needs cgo (the
// SQL rules parse with libpg_query): built without it, it does not build.
package main

import (
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/rampart-dev/rampart/internal/lint/llmchokepoint"
	"github.com/rampart-dev/rampart/internal/lint/nofinance"
	"github.com/rampart-dev/rampart/internal/lint/nosurveillance"
	"github.com/rampart-dev/rampart/internal/lint/orgscoping"
	"github.com/rampart-dev/rampart/internal/lint/rlsmigration"
)

func main() {
	multichecker.Main(
		llmchokepoint.Analyzer,
		nofinance.Analyzer,
		rlsmigration.Analyzer,
		orgscoping.Analyzer,
		nosurveillance.Analyzer,
	)
}
