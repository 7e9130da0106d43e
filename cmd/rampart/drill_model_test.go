package main

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedModel is an OpenAI-compatible server for the drills and the
// cross-process benchmark. The first `hold` completions stream a token
// every tick and then hold until the client goes away (a worker killed, a
// job cancelled); later completions answer at once with Text and Usage.
// It records when each held stream was closed by its client.
type scriptedModel struct {
	srv *httptest.Server

	// Text is the answer of a completion that is not held; its usage is
	// PromptTokens and CompletionTokens.
	Text                           string
	PromptTokens, CompletionTokens int
	// TickEvery is how often a held stream sends a token (default 50 ms).
	TickEvery time.Duration

	hold      atomic.Int64 // completions still to hold
	calls     atomic.Int64
	completed atomic.Int64
	inFlight  atomic.Int64
	tokens    atomic.Int64 // content chunks sent by held streams
	// holding receives one value per held call once its first token is flushed.
	holding chan struct{}

	mu     sync.Mutex
	closed []time.Time // when held streams saw their client go away
}

// newScriptedModel starts the server after configure has set its fields.
func newScriptedModel(t testing.TB, hold int, configure ...func(*scriptedModel)) *scriptedModel {
	m := &scriptedModel{Text: "## Drill proposal\n\nThe drill's answer.", PromptTokens: 700, CompletionTokens: 42,
		holding: make(chan struct{}, 4096)}
	for _, c := range configure {
		c(m)
	}
	m.hold.Store(int64(hold))
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() { m.srv.CloseClientConnections(); m.srv.Close() })
	return m
}

// URL is the base URL for RAMPART_OPENAI_BASE_URL.
func (m *scriptedModel) URL() string { return m.srv.URL + "/v1" }

// takeClosed returns and forgets the times held streams were closed.
func (m *scriptedModel) takeClosed() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.closed
	m.closed = nil
	return out
}

func (m *scriptedModel) closedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.closed)
}

const chunkPrefix = `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"drill",`

func (m *scriptedModel) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.URL.Path == "/v1/models" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"drill","object":"model","created":0,"owned_by":"test"}]}`))
		return
	}
	m.calls.Add(1)
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	delta := func(s string) string {
		return chunkPrefix + `"choices":[{"index":0,"delta":{"content":` + fmt.Sprintf("%q", s) + `},"finish_reason":null}]}` + "\n\n"
	}
	if m.hold.Add(-1) >= 0 {
		m.inFlight.Add(1)
		defer m.inFlight.Add(-1)
		_, _ = w.Write([]byte(delta("Working")))
		fl.Flush()
		m.tokens.Add(1)
		m.holding <- struct{}{}
		tick := time.NewTicker(cmp.Or(m.TickEvery, 50*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				now := time.Now()
				m.mu.Lock()
				m.closed = append(m.closed, now)
				m.mu.Unlock()
				return
			case <-tick.C:
				// A token now and then, as a model thinking aloud does.
				if _, err := w.Write([]byte(delta("."))); err == nil {
					fl.Flush()
					m.tokens.Add(1)
				}
			}
		}
	}
	var b strings.Builder
	for _, part := range strings.SplitAfter(m.Text, " ") {
		b.WriteString(delta(part))
	}
	b.WriteString(chunkPrefix + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	fmt.Fprintf(&b, chunkPrefix+`"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n",
		m.PromptTokens, m.CompletionTokens, m.PromptTokens+m.CompletionTokens)
	b.WriteString("data: [DONE]\n\n")
	_, _ = w.Write([]byte(b.String()))
	m.completed.Add(1)
}
