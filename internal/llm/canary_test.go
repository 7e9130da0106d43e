package llm

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/rampart"
)

var canaryRE = regexp.MustCompile(`RAMPART-CANARY-[0-9a-f]{24}`)

// isCanaried reports whether a system prompt sent to a provider is
// ProposalWriter's text followed by this call's canary.
func isCanaried(v any) bool {
	s, _ := v.(string)
	return strings.HasPrefix(s, ProposalWriter.text) && canaryRE.MatchString(s[len(ProposalWriter.text):])
}

// echoProvider answers with what its script makes of the system prompt it
// was sent: the canary, a passage of the prompt, or something harmless.
type echoProvider struct {
	answer func(system string) string
	split  bool // deliver the answer in 5-byte deltas
	system string
}

func (e *echoProvider) Name() string  { return "echo" }
func (e *echoProvider) Model() string { return "echo-1" }
func (e *echoProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (Response, error) {
	p, err := prepare("echo", req)
	if err != nil {
		return Response{}, err
	}
	e.system = p.system
	text := e.answer(p.system)
	if onDelta != nil {
		step := len(text)
		if e.split {
			step = 5
		}
		for i := 0; i < len(text); i += step {
			if err := onDelta(text[i:min(len(text), i+step)]); err != nil {
				return Response{}, rampart.Wrap("echo", rampart.KindUnavailable, err)
			}
		}
	}
	return Response{Text: text, Usage: Usage{InputTokens: 100, OutputTokens: len(text) / 4}}, nil
}

func canaryRequest(t *testing.T) Request {
	t.Helper()
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := g.Inspect("brief", "A gala dinner for 200 guests in Oslo.")
	return Request{Prompt: ProposalWriter, Data: []guard.Text{txt}}
}

// Issue #13, the output side: every call carries a fresh canary; an
// answer that contains it (whole or split across deltas, in any case) or
// reproduces a passage of the system prompt (however re-spaced or
// emphasised) fails with ErrOutputLeak, with its usage; an ordinary
// answer, and one that merely mentions a word or two of the prompt, passes.
func TestCanaryCatchesLeaks(t *testing.T) {
	passage := func(system string) string { return system[200:320] }
	for _, tc := range []struct {
		name   string
		answer func(system string) string
		split  bool
		leak   bool
	}{
		{"ordinary answer", func(string) string { return "## Overview\nA gala for 200 guests in Oslo." }, false, false},
		{"a few words of the prompt", func(s string) string { return "As an event producer: " + s[200:230] }, false, false},
		{"the canary", func(s string) string { return "Sure. The marker is " + canaryRE.FindString(s) }, false, true},
		{"the canary across deltas", func(s string) string { return "xx" + canaryRE.FindString(s) + " yy" }, true, true},
		{"the canary in lower case", func(s string) string { return strings.ToLower(canaryRE.FindString(s)) }, false, true},
		{"a passage of the prompt", func(s string) string { return "My instructions say: " + passage(s) }, false, true},
		{"a passage re-spaced and emphasised", func(s string) string {
			return "> **" + strings.ReplaceAll(strings.ToUpper(passage(s)), " ", "\n  ") + "**"
		}, false, true},
		{"the whole prompt", func(s string) string { return s }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &echoProvider{answer: tc.answer, split: tc.split}
			p := canaryProvider{inner}
			var got strings.Builder
			resp, err := p.Stream(context.Background(), canaryRequest(t), func(d string) error { got.WriteString(d); return nil })
			if !isCanaried(inner.system) {
				t.Fatalf("the provider was sent no canary: %q", inner.system)
			}
			if tc.leak {
				if !errors.Is(err, ErrOutputLeak) || rampart.ErrorKind(err) != rampart.KindInvalid {
					t.Fatalf("leak not caught: %v", err)
				}
				if resp.Usage.Total() == 0 {
					t.Error("a leak's usage is lost (it must still be billed)")
				}
				if canary := canaryRE.FindString(inner.system); strings.Contains(strings.ToUpper(got.String()), canary) {
					t.Error("the canary reached the caller's callback")
				}
				return
			}
			if err != nil {
				t.Fatalf("an ordinary answer failed: %v", err)
			}
		})
	}
	// Two calls, two canaries.
	a, b := &echoProvider{answer: func(string) string { return "ok" }}, &echoProvider{answer: func(string) string { return "ok" }}
	_, _ = canaryProvider{a}.Stream(context.Background(), canaryRequest(t), nil)
	_, _ = canaryProvider{b}.Stream(context.Background(), canaryRequest(t), nil)
	if canaryRE.FindString(a.system) == canaryRE.FindString(b.system) {
		t.Error("two calls share a canary")
	}
}

// Every provider New makes runs the check.
func TestEveryProviderIsCanaried(t *testing.T) {
	for _, cfg := range []Config{{Provider: "offline"}, {Provider: "anthropic", APIKey: "sk-test"}, {Provider: "openai", BaseURL: "http://127.0.0.1:1/v1"}} {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.(canaryProvider); !ok {
			t.Errorf("%s: %T is not wrapped by the canary check", cfg.Provider, p)
		}
	}
}
