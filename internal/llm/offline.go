package llm

import (
	"context"
	"strings"
	"time"
)

// DefaultOfflineModel names the built-in generator.
const DefaultOfflineModel = "rampart-offline-1"

// offlineChunkWords is how many words the offline provider sends per delta.
const offlineChunkWords = 4

// offlineProvider writes a proposal from the brief with templates and
// pattern matching: no network, no model, the same text for the same
// request. It reads the brief only as data: it extracts numbers, dates,
// names and keywords with fixed patterns and echoes nothing else, so an
// instruction inside the brief has no effect on the output.
type offlineProvider struct {
	model   string
	timeout time.Duration
	delay   time.Duration
}

func newOffline(model string, timeout, delay time.Duration) *offlineProvider {
	return &offlineProvider{model: model, timeout: timeout, delay: delay}
}

// Name returns "offline".
func (p *offlineProvider) Name() string { return ProviderOffline }

// Model returns the generator's name.
func (p *offlineProvider) Model() string { return p.model }

// Stream implements Provider. It sends the proposal a few words at a time,
// pausing Config.OfflineDelay between chunks; output beyond the request's
// MaxTokens (at 4 bytes a token) is cut, with StopReason "max_tokens".
func (p *offlineProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (Response, error) {
	const op = "llm.offline.Stream"
	in, err := prepare(op, req)
	if err != nil {
		return Response{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return Response{}, ctxError(op, err)
	}

	var data []string
	for _, d := range req.Data {
		data = append(data, unfence(d.Fenced()))
	}
	full := offlineAnswer(req.Prompt, strings.Join(data, "\n\n"))
	if req.Prompt.name == ProposalChat.name {
		// The proposal's data only: the offline writer does not read the question.
		var facts []string
		for _, d := range req.Data {
			if d.Label() != "question" {
				facts = append(facts, unfence(d.Fenced()))
			}
		}
		full = writeChatAnswer(parseBrief(strings.Join(facts, "\n\n")))
	}

	var (
		text  strings.Builder
		stop  = "end_turn"
		timer *time.Timer
	)
	for i, chunk := range chunks(full, offlineChunkWords) {
		if ceilDiv(text.Len()+len(chunk), 4) > in.maxTokens {
			stop = "max_tokens"
			break
		}
		if i > 0 && p.delay > 0 {
			if timer == nil {
				timer = time.NewTimer(p.delay)
				defer timer.Stop()
			} else {
				timer.Reset(p.delay)
			}
			select {
			case <-ctx.Done():
				return Response{}, ctxError(op, ctx.Err())
			case <-timer.C:
			}
		}
		if err := deliver(ctx, op, onDelta, chunk); err != nil {
			return Response{}, err
		}
		text.WriteString(chunk)
	}
	out := text.String()
	return Response{
		Text: out,
		Usage: Usage{
			InputTokens:  estimateTokens(in.system) + estimateTokens(in.user),
			OutputTokens: estimateTokens(out),
			Estimated:    true,
		},
		Model:      p.model,
		StopReason: stop,
	}, nil
}

// chunks splits s into pieces of n words each (the last may be shorter);
// their concatenation is s.
func chunks(s string, n int) []string {
	words := strings.SplitAfter(s, " ")
	var out []string
	for i := 0; i < len(words); i += n {
		out = append(out, strings.Join(words[i:min(i+n, len(words))], ""))
	}
	return out
}
