// Package llm declares the prompts and talks to the SDK.
package llm

import (
	"strings"

	anthropic "github.com/anthropics/anthropic-sdk-go"
)

// Text stands in for guard.Text.
type Text struct{ fenced string }

// Prompt is a system prompt.
type Prompt struct{ name, text string }

// Writer is a constant prompt.
var Writer = Prompt{name: "writer", text: writerText}

const writerText = "You write proposals."

// Request is what callers send.
type Request struct {
	Prompt Prompt
	Data   []Text
	Note   string
}

type prepared struct {
	system, user string
	max          int
}

func userMessage(data []Text) string {
	parts := make([]string, len(data))
	for i, d := range data {
		parts[i] = d.fenced
	}
	return strings.Join(parts, "\n\n")
}

func prepare(req Request) prepared {
	return prepared{system: req.Prompt.text, user: userMessage(req.Data), max: 10}
}

func send(req Request, key string) []anthropic.TextBlockParam {
	in := prepare(req)
	_ = anthropic.WithAPIKey(key) // configuration, not content
	return []anthropic.TextBlockParam{
		{Text: in.system},
		anthropic.NewTextBlock(in.user),
		anthropic.NewTextBlock("a constant is fine"),
		anthropic.NewTextBlock(req.Note), // want `prompt-guard: req.Note becomes prompt content \(anthropic.NewTextBlock\) without the guard`
		{Text: "Note: " + req.Note},      // want `prompt-guard: "Note: " \+ req.Note becomes prompt content \(anthropic.TextBlockParam.Text\)`
	}
}

func custom(topic string) Prompt {
	return Prompt{name: "custom", text: "Write about " + topic} // want `llm.Prompt.text, a system prompt, which is a constant`
}

func sneak(req Request) prepared {
	return prepared{system: req.Prompt.text, user: req.Note} // want `req.Note becomes prompt content \(llm.prepared.user, which the SDK sends\)`
}

func reviewed(version string) anthropic.TextBlockParam {
	//rampart:prompt-injection-safe the build version is set by the linker, never by a user
	return anthropic.NewTextBlock(version)
}

func unexplained(s string) anthropic.TextBlockParam {
	/* want `prompt-guard: //rampart:prompt-injection-safe without a reason` */ //rampart:prompt-injection-safe
	return anthropic.NewTextBlock(s)                                            // want `prompt-guard: s becomes prompt content`
}
