package llm

import (
	"context"

	"github.com/anthropics/anthropic-sdk-go"
)

// Prober is a Provider that can check, cheaply and without spending
// tokens, that its model service answers and accepts its credentials.
type Prober interface {
	Probe(ctx context.Context) error
}

// Probe checks p: a Prober is asked (a model list, one item); a provider
// without a network, like offline, is healthy. Errors are those of Stream:
// KindUnavailable wrapping a *ProviderError when the provider answered
// with an error (401 and 403: the key was refused), or the cause.
func Probe(ctx context.Context, p Provider) error {
	if pr, ok := p.(Prober); ok {
		return pr.Probe(ctx)
	}
	return nil
}

// Probe lists one model: a GET that costs no tokens.
func (p *anthropicProvider) Probe(ctx context.Context) error {
	if _, err := p.client.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(1)}); err != nil {
		return anthropicFailure("llm.Probe", err)
	}
	return nil
}

// Probe lists the server's models (llama.cpp, vLLM and Ollama serve
// /v1/models too): a GET that costs no tokens.
func (p *openaiProvider) Probe(ctx context.Context) error {
	if _, err := p.client.Models.List(ctx); err != nil {
		return openaiFailure("llm.Probe", err)
	}
	return nil
}
