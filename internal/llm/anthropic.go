package llm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

// DefaultAnthropicModel is the model of the anthropic provider when
// Config.Model is empty: the SDK's current Sonnet.
const DefaultAnthropicModel = anthropic.ModelClaudeSonnet5_5

// anthropicProvider calls the Anthropic Messages API with the official SDK.
type anthropicProvider struct {
	client  anthropic.Client
	model   string
	timeout time.Duration
	// opts are the client options, kept for tests to inspect.
	opts []option.RequestOption
}

// newAnthropic builds the client. The destination is the SDK's production
// URL and nothing can change it:
//
//   - no option.WithBaseURL, and Config.BaseURL is refused by New;
//   - option.WithoutEnvironmentDefaults, because the SDK's default options
//     read ANTHROPIC_BASE_URL (and ANTHROPIC_CUSTOM_HEADERS, ANTHROPIC_PROFILE,
//     profile files with their own base_url, federation settings) from the
//     environment; with the marker, NewClient keeps only the hard-coded
//     production URL, https://api.anthropic.com/;
//   - no beta header and no client.Beta service; tracing is off and, should
//     anything turn it on, carries no content.
func newAnthropic(cfg Config, model string, timeout time.Duration) *anthropicProvider {
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(cfg.APIKey),
		option.WithHTTPClient(httpClient(cfg.HTTPClient)),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithoutOpenTelemetry(),
		option.WithOpenTelemetryTracesContentMode(option.OpenTelemetryContentModeMetadataOnly),
	}
	return &anthropicProvider{
		client:  anthropic.NewClient(opts...),
		model:   model,
		timeout: timeout,
		opts:    opts,
	}
}

// httpClient returns c, or a client of Rampart's own when c is nil, so the
// providers never share http.DefaultClient with the rest of the process.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = 60 * time.Second
		return &http.Client{Transport: t}
	}
	return &http.Client{Transport: http.DefaultTransport}
}

// Name returns "anthropic".
func (p *anthropicProvider) Name() string { return ProviderAnthropic }

// Model returns the model the provider asks for.
func (p *anthropicProvider) Model() string { return p.model }

// Stream implements Provider with Messages.NewStreaming.
func (p *anthropicProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (Response, error) {
	const op = "llm.anthropic.Stream"
	in, err := prepare(op, req)
	if err != nil {
		return Response{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	stream := p.client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model:     p.model,
		MaxTokens: int64(in.maxTokens),
		System:    []anthropic.TextBlockParam{{Text: in.system}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(in.user))},
	})
	defer stream.Close()

	var (
		msg     anthropic.Message
		text    strings.Builder
		stopped bool
	)
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			return Response{}, providerFailure(op, nil, errors.New("the stream's events are out of order"))
		}
		switch ev.Type {
		case "content_block_delta":
			if ev.Delta.Type != "text_delta" {
				continue
			}
			if err := deliver(ctx, op, onDelta, ev.Delta.Text); err != nil {
				return Response{}, err
			}
			text.WriteString(ev.Delta.Text)
		case "message_stop":
			stopped = true
		}
	}
	if err := ctx.Err(); err != nil {
		return Response{}, ctxError(op, err)
	}
	if err := stream.Err(); err != nil {
		return Response{}, anthropicFailure(op, err)
	}
	if !stopped {
		return Response{}, providerFailure(op, nil, errStreamTruncated)
	}
	u := msg.Usage
	model := msg.Model
	if model == "" {
		model = p.model
	}
	return Response{
		Text: text.String(),
		Usage: Usage{
			InputTokens:  int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens),
			OutputTokens: int(u.OutputTokens),
		},
		Model:      model,
		StopReason: string(msg.StopReason),
	}, nil
}

// anthropicFailure maps an SDK error to a provider failure without the
// request or the response body.
func anthropicFailure(op string, err error) error {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		return providerFailure(op, &ProviderError{
			Provider:   ProviderAnthropic,
			StatusCode: statusOf(apiErr.StatusCode),
			Type:       safe(string(apiErr.Type())),
			RequestID:  safe(apiErr.RequestID),
		}, nil)
	}
	return providerFailure(op, nil, scrub(err))
}
