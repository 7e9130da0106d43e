package llm

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/rampart-dev/rampart/internal/guard"
)

const anthropicMessagesURL = "https://api.anthropic.com/v1/messages"

// anthropicSetup is a provider whose requests for api.anthropic.com go to a
// fake server; the provider's base URL is the SDK default.
type anthropicSetup struct {
	provider *anthropicProvider
	server   *fakeServer
	rt       *redirectTransport
}

func setupAnthropic(t *testing.T) anthropicSetup {
	t.Helper()
	f := newFakeServer(t, script{deltas: conformanceDeltas}, writeAnthropic)
	rt := newRedirectTransport(t, "api.anthropic.com", f.srv.URL)
	p, err := New(Config{Provider: "anthropic", APIKey: "sk-ant-test-key", HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	return anthropicSetup{provider: p.(canaryProvider).Provider.(*anthropicProvider), server: f, rt: rt}
}

// checkAnthropicRequest asserts what the provider sent, as the server and
// the transport saw it.
func checkAnthropicRequest(t *testing.T, s anthropicSetup, wantUser string) {
	t.Helper()
	if urls := s.rt.seen(); len(urls) != 1 || urls[0] != anthropicMessagesURL {
		t.Errorf("requests went to %q, want exactly [%s]", urls, anthropicMessagesURL)
	}
	reqs := s.server.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/messages" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("X-Api-Key"); got != "sk-ant-test-key" {
		t.Errorf("x-api-key = %q", got)
	}
	if r.Header.Get("Anthropic-Version") == "" {
		t.Error("no anthropic-version header")
	}
	for name, values := range r.Header {
		if containsFold(name, "anthropic-beta") {
			t.Errorf("beta header sent: %s: %q", name, values)
		}
		for _, v := range append([]string{name}, values...) {
			if containsFold(v, "training") || containsFold(v, "opt-in") || containsFold(v, "beta") {
				t.Errorf("header %s: %q mentions training, opt-in or beta", name, values)
			}
		}
		if containsFold(name, "traceparent") || containsFold(name, "authorization") {
			t.Errorf("unexpected header %s", name)
		}
	}

	body := s.server.lastBody(t)
	system, _ := body["system"].([]any)
	if len(system) != 1 {
		t.Fatalf("system = %#v, want one text block", body["system"])
	}
	if block, _ := system[0].(map[string]any); block["type"] != "text" || block["text"] != ProposalWriter.text {
		t.Errorf("system block = %#v, want ProposalWriter's text", block)
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("messages = %#v, want one", body["messages"])
	}
	msg, _ := msgs[0].(map[string]any)
	content, _ := msg["content"].([]any)
	if msg["role"] != "user" || len(content) != 1 {
		t.Fatalf("message = %#v, want one user text block", msg)
	}
	if block, _ := content[0].(map[string]any); block["type"] != "text" || block["text"] != wantUser {
		t.Errorf("user content = %#v, want only the fenced data %q", block, wantUser)
	}
	if body["model"] != DefaultAnthropicModel || body["stream"] != true || body["max_tokens"] != float64(DefaultMaxTokens) {
		t.Errorf("model %v, stream %v, max_tokens %v", body["model"], body["stream"], body["max_tokens"])
	}
	for k := range body {
		if !slices.Contains([]string{"model", "max_tokens", "system", "messages", "stream"}, k) {
			t.Errorf("unexpected request field %q", k)
		}
	}
}

func TestAnthropicRequest(t *testing.T) {
	t.Parallel()
	s := setupAnthropic(t)
	brief := fenced(t, "brief", "A conference for 500 delegates.")
	notes := fenced(t, "notes", "Venue has a low ceiling.")
	resp, err := stream(t, s.provider, context.Background(),
		Request{Prompt: ProposalWriter, Data: []guard.Text{brief, notes}}, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	checkAnthropicRequest(t, s, brief.Fenced()+"\n\n"+notes.Fenced())
	if resp.Usage != (Usage{InputTokens: 42, OutputTokens: 7}) || resp.Model != "claude-test-model" || resp.StopReason != "end_turn" {
		t.Errorf("response = %+v", resp)
	}
	if !option.HasWithoutEnvironmentDefaults(s.provider.opts) {
		t.Error("the client is built with the SDK's environment defaults")
	}
}

// TestAnthropicIgnoresEnvironment: the SDK's environment variables cannot
// move the destination, add headers or replace the key. Not parallel:
// t.Setenv.
func TestAnthropicIgnoresEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_BASE_URL", "https://attacker.example/")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "anthropic-beta: training-opt-in-2099\nX-Exfil: 1")
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "token-from-env")
	t.Setenv("ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE", "content")

	t.Run("provider", func(t *testing.T) {
		s := setupAnthropic(t)
		req := briefRequest(t)
		if _, err := stream(t, s.provider, context.Background(), req, func(string) error { return nil }); err != nil {
			t.Fatal(err)
		}
		checkAnthropicRequest(t, s, req.Data[0].Fenced())
		if r := s.server.requests()[0]; r.Header.Get("X-Exfil") != "" {
			t.Error("ANTHROPIC_CUSTOM_HEADERS reached the request")
		}
	})

	// The control shows the test can fail: the SDK's defaults do follow the
	// variable, so the provider's choice of options is what protects it.
	t.Run("control: SDK defaults follow ANTHROPIC_BASE_URL", func(t *testing.T) {
		rt := newRedirectTransport(t, "api.anthropic.com", "http://127.0.0.1:1")
		client := anthropic.NewClient(option.WithHTTPClient(&http.Client{Transport: rt}), option.WithMaxRetries(0))
		_, _ = client.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model: DefaultAnthropicModel, MaxTokens: 1,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))},
		})
		if urls := rt.seen(); len(urls) != 1 || !strings.HasPrefix(urls[0], "https://attacker.example/") {
			t.Errorf("the SDK's defaults sent %q; the environment test above may be vacuous", urls)
		}
	})
}
