// Package api is a handler package: a model SDK here bypasses the guard.
package api

import (
	anthropic "github.com/anthropics/anthropic-sdk-go" // want `llm-chokepoint: example.com/internal/api imports the model SDK github.com/anthropics/anthropic-sdk-go`
)

var client anthropic.Client
