// Package llm is the one door to models: it may import the SDK.
package llm

import anthropic "github.com/anthropics/anthropic-sdk-go"

var client anthropic.Client
