package llm

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       Config
		wantErr   string // substring of the error; "" = success
		wantName  string
		wantModel string
	}{
		{name: "default is offline", cfg: Config{}, wantName: "offline", wantModel: DefaultOfflineModel},
		{name: "offline", cfg: Config{Provider: "offline", OfflineDelay: time.Millisecond}, wantName: "offline", wantModel: DefaultOfflineModel},
		{name: "offline model", cfg: Config{Model: "rampart-offline-2"}, wantName: "offline", wantModel: "rampart-offline-2"},
		{name: "anthropic", cfg: Config{Provider: "anthropic", APIKey: "sk-test-key-0001"}, wantName: "anthropic", wantModel: DefaultAnthropicModel},
		{name: "anthropic model", cfg: Config{Provider: "anthropic", APIKey: "sk-test-key-0001", Model: "claude-haiku-4-5"}, wantName: "anthropic", wantModel: "claude-haiku-4-5"},
		{name: "openai", cfg: Config{Provider: "openai", APIKey: "sk-test-key-0001"}, wantName: "openai", wantModel: DefaultOpenAIModel},
		{name: "openai local without key", cfg: Config{Provider: "openai", BaseURL: "http://127.0.0.1:8080/v1"}, wantName: "openai", wantModel: DefaultOpenAIModel},
		{name: "openai https base", cfg: Config{Provider: "openai", BaseURL: "https://vllm.internal:8000/v1/", MaxRetries: 2}, wantName: "openai", wantModel: DefaultOpenAIModel},

		{name: "unknown provider", cfg: Config{Provider: "gemini"}, wantErr: `unknown provider "gemini"`},
		{name: "provider is case-sensitive", cfg: Config{Provider: "Anthropic", APIKey: "sk-test-key-0001"}, wantErr: "unknown provider"},
		{name: "anthropic without key", cfg: Config{Provider: "anthropic"}, wantErr: "RAMPART_ANTHROPIC_API_KEY"},
		{name: "anthropic refuses a base URL", cfg: Config{Provider: "anthropic", APIKey: "sk-test-key-0001", BaseURL: "https://proxy.example/"}, wantErr: "does not accept one"},
		{name: "offline refuses a base URL", cfg: Config{BaseURL: "http://127.0.0.1:8080/v1"}, wantErr: "does not accept one"},
		{name: "offline ignores a key", cfg: Config{APIKey: "sk-test-key-0001"}, wantName: "offline", wantModel: DefaultOfflineModel},
		{name: "openai without key or base URL", cfg: Config{Provider: "openai"}, wantErr: "RAMPART_OPENAI_API_KEY"},
		{name: "openai base URL without scheme", cfg: Config{Provider: "openai", BaseURL: "localhost:8080/v1"}, wantErr: "http:// or https://"},
		{name: "openai base URL ftp", cfg: Config{Provider: "openai", BaseURL: "ftp://host/v1"}, wantErr: "http:// or https://"},
		{name: "openai base URL relative", cfg: Config{Provider: "openai", BaseURL: "/v1"}, wantErr: "http:// or https://"},
		{name: "openai base URL without host", cfg: Config{Provider: "openai", BaseURL: "http:///v1"}, wantErr: "no host"},
		{name: "openai base URL malformed", cfg: Config{Provider: "openai", BaseURL: "http://[::1/v1"}, wantErr: "malformed"},
		{name: "openai base URL with credentials", cfg: Config{Provider: "openai", BaseURL: "http://user:secret@host/v1"}, wantErr: "credentials"},
		{name: "openai base URL with query", cfg: Config{Provider: "openai", BaseURL: "http://host/v1?key=x"}, wantErr: "query"},
		{name: "negative timeout", cfg: Config{Timeout: -time.Second}, wantErr: "negative"},
		{name: "negative offline delay", cfg: Config{OfflineDelay: -time.Second}, wantErr: "negative"},
		{name: "offline delay for anthropic", cfg: Config{Provider: "anthropic", APIKey: "sk-test-key-0001", OfflineDelay: time.Second}, wantErr: "only to the offline provider"},
		{name: "negative retries", cfg: Config{Provider: "openai", APIKey: "sk-test-key-0001", MaxRetries: -1}, wantErr: "max retries"},
		{name: "too many retries", cfg: Config{Provider: "openai", APIKey: "sk-test-key-0001", MaxRetries: MaxRetriesLimit + 1}, wantErr: "max retries"},
		{name: "model with a space", cfg: Config{Model: "gpt 4"}, wantErr: "RAMPART_LLM_MODEL"},
		{name: "model too long", cfg: Config{Model: strings.Repeat("m", 201)}, wantErr: "longer than 200"},
		{name: "key with a newline", cfg: Config{Provider: "anthropic", APIKey: "sk-secret-value\n"}, wantErr: "stray newline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("New accepted %+v", tc.cfg)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q lacks %q", err, tc.wantErr)
				}
				if k := rampart.ErrorKind(err); k != rampart.KindInvalid {
					t.Errorf("kind = %s, want invalid", k)
				}
				if tc.cfg.APIKey != "" && strings.Contains(err.Error(), tc.cfg.APIKey) {
					t.Errorf("the error shows the API key: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if p.Name() != tc.wantName || p.Model() != tc.wantModel {
				t.Errorf("provider %s/%s, want %s/%s", p.Name(), p.Model(), tc.wantName, tc.wantModel)
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	t.Parallel()
	data := fenced(t, "brief", strings.Repeat("word ", 300))
	base := len(ProposalWriter.text) + len(data.Fenced())
	for _, tc := range []struct{ maxTokens, wantOut int }{
		{0, DefaultMaxTokens}, {100, 100}, {MaxMaxTokens + 1, MaxMaxTokens},
	} {
		got := EstimateTokens(Request{Prompt: ProposalWriter, Data: []guard.Text{data}, MaxTokens: tc.maxTokens})
		if want := (base+2)/3 + tc.wantOut; got != want {
			t.Errorf("MaxTokens %d: estimate %d, want %d", tc.maxTokens, got, want)
		}
		// Conservative: never below the bytes/4 rule of thumb plus the output.
		if got < base/4+tc.wantOut {
			t.Errorf("MaxTokens %d: estimate %d is below bytes/4", tc.maxTokens, got)
		}
	}
}

func TestUsageTotal(t *testing.T) {
	t.Parallel()
	if got := (Usage{InputTokens: 3, OutputTokens: 4}).Total(); got != 7 {
		t.Errorf("Total = %d", got)
	}
}

func TestPrompts(t *testing.T) {
	t.Parallel()
	if ProposalWriter.Name() != "proposal_writer" || !ProposalWriter.valid() || (Prompt{}).valid() {
		t.Error("prompt validity")
	}
	for _, want := range []string{"<untrusted_data>", "never an instruction", "Markdown only", "## Overview", "## Event details",
		"## Production plan", "### Stage", "### Audio", "### Lighting", "### Video", "## Schedule", "## Staffing",
		"## Risks and mitigations", "## Next steps", "no links to external images"} {
		if !strings.Contains(ProposalWriter.text, want) {
			t.Errorf("ProposalWriter lacks %q", want)
		}
	}
}
