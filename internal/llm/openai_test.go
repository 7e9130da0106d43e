package llm

import (
	"context"
	"net/http"
	"testing"

	"github.com/rampart-dev/rampart/internal/guard"
)

// checkOpenAIRequest asserts the body the provider sent.
func checkOpenAIRequest(t *testing.T, f *fakeServer, wantUser, tokenField string) {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	body := f.lastBody(t)
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %#v, want system and user", body["messages"])
	}
	sys, _ := msgs[0].(map[string]any)
	user, _ := msgs[1].(map[string]any)
	if sys["role"] != "system" || !isCanaried(sys["content"]) {
		t.Errorf("system message = %#v, want ProposalWriter's text and a canary", sys)
	}
	if user["role"] != "user" || user["content"] != wantUser {
		t.Errorf("user message = %#v, want only the fenced data %q", user, wantUser)
	}
	opts, _ := body["stream_options"].(map[string]any)
	if body["stream"] != true || opts["include_usage"] != true {
		t.Errorf("stream %v, stream_options %v", body["stream"], body["stream_options"])
	}
	if body[tokenField] != float64(DefaultMaxTokens) {
		t.Errorf("%s = %v, want %d (body %v)", tokenField, body[tokenField], DefaultMaxTokens, body)
	}
}

func TestOpenAILocalServer(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, script{deltas: conformanceDeltas}, writeOpenAI)
	p, err := New(Config{Provider: "openai", BaseURL: f.srv.URL + "/v1", Model: "llama-3.1-8b-instruct", HTTPClient: plainClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	brief := fenced(t, "brief", "A wedding for 120 guests.")
	resp, err := stream(t, p, context.Background(), Request{Prompt: ProposalWriter, Data: []guard.Text{brief}}, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	checkOpenAIRequest(t, f, brief.Fenced(), "max_tokens")
	if got := f.requests()[0].Header.Get("Authorization"); got != "Bearer "+openAINoKey {
		t.Errorf("Authorization = %q, want the placeholder", got)
	}
	if body := f.lastBody(t); body["model"] != "llama-3.1-8b-instruct" {
		t.Errorf("model = %v", body["model"])
	}
	if resp.Usage != (Usage{InputTokens: 42, OutputTokens: 7}) || resp.Model != "gpt-test-model" || resp.StopReason != "stop" {
		t.Errorf("response = %+v", resp)
	}
}

// TestOpenAIDefaultBaseURL: without a base URL the provider talks to
// api.openai.com with the key and the newer token-limit field.
func TestOpenAIDefaultBaseURL(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, script{deltas: conformanceDeltas}, writeOpenAI)
	rt := newRedirectTransport(t, "api.openai.com", f.srv.URL)
	p, err := New(Config{Provider: "openai", APIKey: "sk-openai-test", HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	req := briefRequest(t)
	if _, err := stream(t, p, context.Background(), req, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if urls := rt.seen(); len(urls) != 1 || urls[0] != "https://api.openai.com/v1/chat/completions" {
		t.Errorf("requests went to %q", urls)
	}
	checkOpenAIRequest(t, f, req.Data[0].Fenced(), "max_completion_tokens")
	if got := f.requests()[0].Header.Get("Authorization"); got != "Bearer sk-openai-test" {
		t.Errorf("Authorization = %q", got)
	}
	if body := f.lastBody(t); body["model"] != DefaultOpenAIModel {
		t.Errorf("model = %v, want %s", body["model"], DefaultOpenAIModel)
	}
}

// TestOpenAIEstimatesMissingUsage: a server that ignores stream_options
// still yields a usage for budgets, marked as estimated.
func TestOpenAIEstimatesMissingUsage(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t, script{deltas: conformanceDeltas, noUsage: true}, writeOpenAI)
	p, err := New(Config{Provider: "openai", BaseURL: f.srv.URL + "/v1/", HTTPClient: plainClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := stream(t, p, context.Background(), briefRequest(t), func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Usage.Estimated || resp.Usage.InputTokens <= 0 || resp.Usage.OutputTokens != estimateTokens(resp.Text) {
		t.Errorf("usage = %+v, want an estimate", resp.Usage)
	}
}

// TestOpenAIIgnoresEnvironment: the SDK's environment variables cannot
// move the destination, replace the key or add headers. Not parallel:
// t.Setenv.
func TestOpenAIIgnoresEnvironment(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "https://attacker.example/v1")
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_ORG_ID", "org-from-env")
	t.Setenv("OPENAI_PROJECT_ID", "proj-from-env")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "X-Exfil: 1\nAuthorization: Bearer from-custom-headers")

	for _, tc := range []struct {
		name, key, wantAuth string
		local               bool
	}{
		{"local with key", "sk-configured", "Bearer sk-configured", true},
		{"local without key", "", "Bearer " + openAINoKey, true},
		{"api.openai.com", "sk-configured", "Bearer sk-configured", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, script{deltas: conformanceDeltas}, writeOpenAI)
			// The transport refuses every host but the expected one, so a
			// request for OPENAI_BASE_URL fails without leaving the machine.
			host, tokenField := "api.openai.com", "max_completion_tokens"
			if tc.local {
				host, tokenField = f.srv.Listener.Addr().String(), "max_tokens"
			}
			rt := newRedirectTransport(t, host, f.srv.URL)
			cfg := Config{Provider: "openai", APIKey: tc.key, HTTPClient: &http.Client{Transport: rt}}
			if tc.local {
				cfg.BaseURL = f.srv.URL + "/v1"
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := briefRequest(t)
			if _, err := stream(t, p, context.Background(), req, func(string) error { return nil }); err != nil {
				t.Fatalf("Stream: %v (did the request leave for OPENAI_BASE_URL?)", err)
			}
			checkOpenAIRequest(t, f, req.Data[0].Fenced(), tokenField)
			h := f.requests()[0].Header
			if got := h.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tc.wantAuth)
			}
			for _, name := range []string{"OpenAI-Organization", "OpenAI-Project", "X-Exfil"} {
				if v := h.Get(name); v != "" {
					t.Errorf("%s: %q came from the environment", name, v)
				}
			}
		})
	}
}
