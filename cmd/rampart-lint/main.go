// Command rampart-lint runs Rampart's own analyzers (internal/lint) over
// packages, as go vet runs its own: `rampart-lint ./...` (make lint). Each
// finding is "file:line:col: rule: message"; docs/guardrails.md says why
// each rule exists and how an exception is justified. It needs cgo (the
// SQL rules parse with libpg_query): without a C compiler it does not
// build, and make lint fails rather than skip them.
package main

import (
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/rampart-dev/rampart/internal/lint/agentroute"
	"github.com/rampart-dev/rampart/internal/lint/learningscope"
	"github.com/rampart-dev/rampart/internal/lint/llmchokepoint"
	"github.com/rampart-dev/rampart/internal/lint/nofinance"
	"github.com/rampart-dev/rampart/internal/lint/nosurveillance"
	"github.com/rampart-dev/rampart/internal/lint/orgscoping"
	"github.com/rampart-dev/rampart/internal/lint/promptguard"
	"github.com/rampart-dev/rampart/internal/lint/rlsmigration"
)

func main() {
	multichecker.Main(
		llmchokepoint.Analyzer,
		promptguard.Analyzer,
		orgscoping.Analyzer,
		rlsmigration.Analyzer,
		agentroute.Analyzer,
		nofinance.Analyzer,
		nosurveillance.Analyzer,
		learningscope.Analyzer,
	)
}
