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
