package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Provider names accepted by [Config.Provider].
const (
	ProviderOffline   = "offline"
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
)

// Limits and defaults of a call.
const (
	// DefaultMaxTokens is the output limit of a Request whose MaxTokens is 0.
	DefaultMaxTokens = 2048
	// MaxMaxTokens caps Request.MaxTokens; larger values are lowered to it.
	MaxMaxTokens = 8192
	// DefaultTimeout bounds a call when Config.Timeout is 0.
	DefaultTimeout = 120 * time.Second
	// MaxRetriesLimit is the largest accepted Config.MaxRetries.
	MaxRetriesLimit = 5
)

// dataSeparator joins the fenced texts of a request into the user message.
const dataSeparator = "\n\n"

// Request is one call to a model: a system prompt declared by this package
// and untrusted inputs that the guard has fenced. There is no field for free
// text: whatever reaches the model from outside went through the guard.
type Request struct {
	// Prompt is the system prompt; the zero Prompt is refused.
	Prompt Prompt
	// Data are the untrusted inputs, each made by guard.Inspect; a zero
	// guard.Text is refused. They form the user message, joined by blank lines.
	Data []guard.Text
	// MaxTokens limits the output: 0 means DefaultMaxTokens, values above
	// MaxMaxTokens are lowered to it, negative values are refused.
	MaxTokens int
}

// Usage counts the tokens of one call.
type Usage struct {
	InputTokens  int
	OutputTokens int
	// Estimated is true when the provider reported no usage and the counts
	// were estimated from the text (bytes/4, rounded up): the offline
	// provider, or an OpenAI-compatible server that omits the usage chunk.
	Estimated bool
}

// Total returns input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Response is the result of a completed call.
type Response struct {
	// Text is the whole completion: the concatenation of the streamed deltas.
	Text string
	// Usage is what the provider reported, or an estimate (Usage.Estimated).
	Usage Usage
	// Model is the model that answered, as reported by the provider.
	Model string
	// StopReason is the provider's own reason: "end_turn" or "max_tokens"
	// for Anthropic and offline, "stop" or "length" for OpenAI.
	StopReason string
}

// Provider is one model backend. Implementations are safe for concurrent use.
type Provider interface {
	// Name is "offline", "anthropic" or "openai".
	Name() string
	// Model is the model the provider asks for.
	Model() string
	// Stream sends req and calls onDelta with each chunk of completion text
	// as it arrives, in order; it returns the whole response once the
	// provider has finished. onDelta is called from Stream's goroutine; a
	// nil onDelta is allowed and receives nothing.
	//
	// Errors: an invalid request (zero Prompt, no Data, an invalid
	// guard.Text, negative MaxTokens) is refused with KindInvalid before
	// anything is sent. If
	// onDelta returns an error, the call is aborted and that error is
	// returned, wrapped. Cancelling ctx, or the provider's timeout, aborts
	// the HTTP request at once and returns a KindUnavailable error that wraps
	// ctx.Err() (context.Canceled or context.DeadlineExceeded); no delta is
	// delivered after that. A failure of the provider is KindUnavailable and
	// wraps a *ProviderError when the provider answered with an error; a
	// stream that ends before the provider's end-of-message marker is a
	// failure too, never a short Response.
	Stream(ctx context.Context, req Request, onDelta func(string) error) (Response, error)
}

// Config selects and configures a provider. The command reads it from the
// environment (docs/llm.md): RAMPART_LLM, RAMPART_LLM_MODEL,
// RAMPART_ANTHROPIC_API_KEY, RAMPART_OPENAI_API_KEY, RAMPART_OPENAI_BASE_URL.
type Config struct {
	// Provider is "offline", "anthropic" or "openai"; "" means "offline".
	Provider string
	// Model overrides the provider's default model (DefaultAnthropicModel,
	// DefaultOpenAIModel, DefaultOfflineModel).
	Model string
	// APIKey is required for anthropic, optional for openai (local servers
	// need none, api.openai.com does) and ignored by offline.
	APIKey string
	// BaseURL is the OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1;
	// "" means https://api.openai.com/v1/. It is refused for every other
	// provider: the Anthropic base URL is always the SDK's production URL.
	BaseURL string
	// HTTPClient carries the requests of the anthropic and openai providers
	// (tests inject a transport here); nil means a client of Rampart's own
	// built on a clone of http.DefaultTransport. Unused by offline.
	HTTPClient *http.Client
	// Timeout bounds one call, streaming included; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times the SDK retries a failed attempt (429,
	// 5xx, connection error) inside one call; 0, the default, means none,
	// because the job queue retries, audits each retry and checks the kill
	// switches first. At most MaxRetriesLimit.
	MaxRetries int
	// OfflineDelay is the pause between the offline provider's chunks, to
	// simulate a slow provider in benchmarks; 0 means none. Offline only.
	OfflineDelay time.Duration
}

// New validates cfg and returns the provider it selects. Every error is a
// KindInvalid *rampart.Error whose message names the setting and the fix.
func New(cfg Config) (Provider, error) {
	const op = "llm.New"
	name := cfg.Provider
	if name == "" {
		name = ProviderOffline
	}
	switch name {
	case ProviderOffline, ProviderAnthropic, ProviderOpenAI:
	default:
		return nil, rampart.Errorf(op, rampart.KindInvalid,
			"unknown provider %q (RAMPART_LLM): use offline, anthropic or openai", cfg.Provider)
	}
	if cfg.Timeout < 0 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "timeout %s is negative", cfg.Timeout)
	}
	if cfg.OfflineDelay < 0 {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "offline delay %s is negative", cfg.OfflineDelay)
	}
	if cfg.MaxRetries < 0 || cfg.MaxRetries > MaxRetriesLimit {
		return nil, rampart.Errorf(op, rampart.KindInvalid,
			"max retries %d is out of range: use 0 to %d", cfg.MaxRetries, MaxRetriesLimit)
	}
	if err := checkModel(cfg.Model); err != nil {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "model %q (RAMPART_LLM_MODEL): %s", cfg.Model, err)
	}
	if cfg.APIKey != "" && !printableASCII(cfg.APIKey) {
		// Never echo the key.
		return nil, rampart.Errorf(op, rampart.KindInvalid,
			"the %s API key contains spaces or non-printable characters: check for a stray newline", name)
	}
	if cfg.OfflineDelay != 0 && name != ProviderOffline {
		return nil, rampart.Errorf(op, rampart.KindInvalid,
			"an offline delay applies only to the offline provider, not %s", name)
	}
	if cfg.BaseURL != "" && name != ProviderOpenAI {
		return nil, rampart.Errorf(op, rampart.KindInvalid,
			"a base URL (RAMPART_OPENAI_BASE_URL) applies only to the openai provider; the %s provider does not accept one: unset it", name)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	model := cfg.Model

	switch name {
	case ProviderAnthropic:
		if cfg.APIKey == "" {
			return nil, rampart.Errorf(op, rampart.KindInvalid,
				"the anthropic provider needs an API key: set RAMPART_ANTHROPIC_API_KEY")
		}
		if model == "" {
			model = DefaultAnthropicModel
		}
		return canaryProvider{newAnthropic(cfg, model, timeout)}, nil
	case ProviderOpenAI:
		base, err := checkBaseURL(cfg.BaseURL)
		if err != nil {
			return nil, rampart.Errorf(op, rampart.KindInvalid,
				"base URL (RAMPART_OPENAI_BASE_URL) %s: use an absolute http or https URL such as http://127.0.0.1:8080/v1", err)
		}
		if base == "" && cfg.APIKey == "" {
			return nil, rampart.Errorf(op, rampart.KindInvalid,
				"the openai provider needs an API key for api.openai.com: set RAMPART_OPENAI_API_KEY, or set RAMPART_OPENAI_BASE_URL to a local server")
		}
		if model == "" {
			model = DefaultOpenAIModel
		}
		return canaryProvider{newOpenAI(cfg, base, model, timeout)}, nil
	default:
		// A key is ignored: keys are per provider and an environment may hold
		// several while RAMPART_LLM selects one.
		if model == "" {
			model = DefaultOfflineModel
		}
		return canaryProvider{newOffline(model, timeout, cfg.OfflineDelay)}, nil
	}
}

// checkModel accepts the empty name (the default) or a short name without
// spaces or control characters.
func checkModel(m string) error {
	switch {
	case m == "":
		return nil
	case len(m) > 200:
		return fmt.Errorf("longer than 200 bytes")
	case !printableASCII(m):
		return fmt.Errorf("contains spaces or non-printable characters")
	}
	return nil
}

func printableASCII(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}
	return true
}

// checkBaseURL returns the normalised base URL ("" for the SDK default) or
// why it is refused. Credentials, queries and fragments are refused: a key
// belongs in RAMPART_OPENAI_API_KEY, where it is never printed.
func checkBaseURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("is malformed")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q must start with http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return "", fmt.Errorf("must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q must not have a query or a fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// EstimateTokens returns a conservative estimate of the tokens req can use,
// input and output, for reserving budget before dispatch: the bytes of the
// system prompt and the user message divided by 3, rounded up, plus the
// effective output limit. Real tokenizers average about 4 bytes a token on
// English text, so the estimate errs high.
func EstimateTokens(req Request) int {
	n := len(req.Prompt.text) + len(userMessage(req.Data))
	return ceilDiv(n, 3) + effectiveMaxTokens(req.MaxTokens)
}

// estimateTokens is the bytes/4 estimate of the tokens of a text, used when
// a provider reports no usage.
func estimateTokens(s string) int { return ceilDiv(len(s), 4) }

func ceilDiv(n, d int) int { return (n + d - 1) / d }

// effectiveMaxTokens applies the default and the cap; a negative value is
// refused by validate before it gets here.
func effectiveMaxTokens(n int) int {
	switch {
	case n <= 0:
		return DefaultMaxTokens
	case n > MaxMaxTokens:
		return MaxMaxTokens
	}
	return n
}

// prepared is a validated request, ready to send.
type prepared struct {
	system    string
	user      string
	maxTokens int
}

// prepare validates req; every provider calls it before anything is sent.
func prepare(op string, req Request) (prepared, error) {
	if !req.Prompt.valid() {
		return prepared{}, rampart.Errorf(op, rampart.KindInvalid, "the request has no system prompt: use one of the prompts declared by package llm")
	}
	if len(req.Data) == 0 {
		return prepared{}, rampart.Errorf(op, rampart.KindInvalid, "the request has no data")
	}
	for i, d := range req.Data {
		if !d.Valid() {
			return prepared{}, rampart.Errorf(op, rampart.KindInvalid,
				"data item %d was not made by the guard: pass untrusted text through guard.Inspect", i)
		}
	}
	if req.MaxTokens < 0 {
		return prepared{}, rampart.Errorf(op, rampart.KindInvalid, "max tokens %d is negative", req.MaxTokens)
	}
	return prepared{
		system:    req.Prompt.text,
		user:      userMessage(req.Data),
		maxTokens: effectiveMaxTokens(req.MaxTokens),
	}, nil
}

// userMessage is the only way a user message is built: the guard's fenced
// texts, joined by blank lines.
func userMessage(data []guard.Text) string {
	parts := make([]string, len(data))
	for i, d := range data {
		parts[i] = d.Fenced()
	}
	return strings.Join(parts, dataSeparator)
}

// deliver passes one delta to the caller unless the call has been
// cancelled: a delta read after the cancellation is dropped.
func deliver(ctx context.Context, op string, onDelta func(string) error, text string) error {
	if text == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	if onDelta == nil {
		return nil
	}
	if err := onDelta(text); err != nil {
		return fmt.Errorf("%s: delta callback: %w", op, err)
	}
	return nil
}

// ctxError is the error of a cancelled or timed-out call; it wraps err, the
// context's error, so errors.Is(err, context.Canceled) holds.
func ctxError(op string, err error) error {
	msg := "the model call was cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the model call timed out"
	}
	return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: msg, Err: err}
}
