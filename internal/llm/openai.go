package llm

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
)

// DefaultOpenAIModel is the model of the openai provider when Config.Model
// is empty. llama.cpp ignores the name; Ollama and vLLM need the name of a
// model they serve.
//
//lint:ignore SA1019 deprecated with a shutdown announced for 2027-01-14; the default model is a product decision (docs/guardrails.md, lint notes)
const DefaultOpenAIModel = shared.ChatModelGPT4oMini

// openAIDefaultBaseURL is the SDK's production URL, passed explicitly so
// OPENAI_BASE_URL in the environment cannot move the destination.
const openAIDefaultBaseURL = "https://api.openai.com/v1/"

// openAINoKey is sent as the bearer token to servers that need none; the
// SDK would otherwise send OPENAI_API_KEY from the environment.
const openAINoKey = "unused"

// openaiProvider calls an OpenAI-compatible Chat Completions endpoint.
type openaiProvider struct {
	client  openai.Client
	model   string
	baseURL string
	// local is true for a configured base URL: such servers (llama.cpp,
	// Ollama, older vLLM) know max_tokens, while api.openai.com's newer
	// models accept only max_completion_tokens.
	local   bool
	timeout time.Duration
}

// newOpenAI builds the client. The openai SDK has no public switch for its
// environment defaults (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_ORG_ID,
// OPENAI_PROJECT_ID, OPENAI_CUSTOM_HEADERS), so each is overridden: the base
// URL and the key are always set, and a middleware removes the headers the
// environment may add and sets the Authorization header last.
func newOpenAI(cfg Config, base, model string, timeout time.Duration) *openaiProvider {
	key := cfg.APIKey
	if key == "" {
		key = openAINoKey
	}
	local := base != ""
	if base == "" {
		base = openAIDefaultBaseURL
	}
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIKey(key),
		option.WithHTTPClient(httpClient(cfg.HTTPClient)),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithMiddleware(pinOpenAIHeaders(key, environmentHeaderNames())),
	}
	return &openaiProvider{
		client:  openai.NewClient(opts...),
		model:   model,
		baseURL: base,
		local:   local,
		timeout: timeout,
	}
}

// environmentHeaderNames lists the headers the SDK may take from the
// environment, so the middleware can remove them.
func environmentHeaderNames() []string {
	names := []string{"OpenAI-Organization", "OpenAI-Project"}
	for _, line := range strings.Split(os.Getenv("OPENAI_CUSTOM_HEADERS"), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) != "" {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

func pinOpenAIHeaders(key string, drop []string) option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		for _, h := range drop {
			req.Header.Del(h)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		return next(req)
	}
}

// Name returns "openai".
func (p *openaiProvider) Name() string { return ProviderOpenAI }

// Model returns the model the provider asks for.
func (p *openaiProvider) Model() string { return p.model }

// Stream implements Provider with Chat.Completions.NewStreaming.
func (p *openaiProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (Response, error) {
	const op = "llm.openai.Stream"
	in, err := prepare(op, req)
	if err != nil {
		return Response{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	params := openai.ChatCompletionNewParams{
		Model: p.model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(in.system),
			openai.UserMessage(in.user),
		},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	if p.local {
		params.MaxTokens = openai.Int(int64(in.maxTokens))
	} else {
		params.MaxCompletionTokens = openai.Int(int64(in.maxTokens))
	}
	stream := p.client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()

	var (
		acc    openai.ChatCompletionAccumulator
		text   strings.Builder
		finish string
		usage  *openai.CompletionUsage
		model  string
	)
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		if chunk.Model != "" {
			model = chunk.Model
		}
		if chunk.JSON.Usage.Valid() && chunk.Usage.TotalTokens+chunk.Usage.PromptTokens+chunk.Usage.CompletionTokens > 0 {
			u := chunk.Usage
			usage = &u
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue
			}
			if err := deliver(ctx, op, onDelta, c.Delta.Content); err != nil {
				return Response{}, err
			}
			text.WriteString(c.Delta.Content)
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return Response{}, ctxError(op, err)
	}
	if err := stream.Err(); err != nil {
		return Response{}, openaiFailure(op, err)
	}
	if finish == "" && len(acc.Choices) > 0 {
		finish = acc.Choices[0].FinishReason
	}
	if finish == "" {
		return Response{}, providerFailure(op, nil, errStreamTruncated)
	}
	if model == "" {
		model = p.model
	}
	resp := Response{Text: text.String(), Model: model, StopReason: finish}
	if usage != nil {
		resp.Usage = Usage{InputTokens: int(usage.PromptTokens), OutputTokens: int(usage.CompletionTokens)}
	} else {
		// A server that ignores stream_options sends no usage; budgets still
		// need a number.
		resp.Usage = Usage{
			InputTokens:  estimateTokens(in.system) + estimateTokens(in.user),
			OutputTokens: estimateTokens(resp.Text),
			Estimated:    true,
		}
	}
	return resp, nil
}

// openaiFailure maps an SDK error to a provider failure without the request
// or the response body, which a local server may fill with the prompt.
func openaiFailure(op string, err error) error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		pe := &ProviderError{
			Provider:   ProviderOpenAI,
			StatusCode: statusOf(apiErr.StatusCode),
			Type:       safe(apiErr.Type),
		}
		if apiErr.Response != nil {
			pe.RequestID = safe(apiErr.Response.Header.Get("x-request-id"))
		}
		return providerFailure(op, pe, nil)
	}
	var streamErr *ssestream.StreamError
	if errors.As(err, &streamErr) {
		// An error object inside the stream; its message is not kept.
		return providerFailure(op, &ProviderError{Provider: ProviderOpenAI}, nil)
	}
	return providerFailure(op, nil, scrub(err))
}
