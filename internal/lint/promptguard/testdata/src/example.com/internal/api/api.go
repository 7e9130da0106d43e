// Package api must not reach the SDK at all (llm-chokepoint); if it did,
// its strings would be flagged here too.
package api

import anthropic "github.com/anthropics/anthropic-sdk-go"

func handler(brief string) anthropic.TextBlockParam {
	return anthropic.NewTextBlock(brief) // want `prompt-guard: brief becomes prompt content`
}
