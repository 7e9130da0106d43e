package llm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// hangLimit is the hang detector of these tests: nothing here should take
// more than a fraction of a second, so reaching it means a bug.
const hangLimit = 30 * time.Second

// leakedSecret is put in the fake servers' error messages, the way a local
// server may echo a prompt in its error body; no error may carry it.
const leakedSecret = "ECHOED-PROMPT-TEXT"

// script is what a fake provider answers.
type script struct {
	deltas []string
	// stallAfter, when > 0, sends only that many deltas (in one flush) and
	// then holds the response open until the client goes away.
	stallAfter int
	// status, when set, answers with this HTTP status and an error body.
	status int
	// noUsage leaves out the usage report (OpenAI-compatible servers that
	// ignore stream_options).
	noUsage bool
	// noStop ends the stream without the end-of-message marker.
	noStop bool
}

// recorded is one request as the fake server saw it.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeServer is a local model provider speaking one streaming protocol.
type fakeServer struct {
	srv    *httptest.Server
	script script
	write  func(w http.ResponseWriter, s script, stall func())

	mu   sync.Mutex
	reqs []recorded

	cancelOnce sync.Once
	cancelled  chan struct{} // closed when a stalled handler saw its request end
}

func newFakeServer(t *testing.T, s script, write func(w http.ResponseWriter, s script, stall func())) *fakeServer {
	t.Helper()
	f := &fakeServer{script: s, write: write, cancelled: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	stall := func() {
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			f.cancelOnce.Do(func() { close(f.cancelled) })
		case <-time.After(hangLimit):
		}
	}
	f.write(w, f.script, stall)
}

func (f *fakeServer) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeServer) count() int { return len(f.requests()) }

// lastBody decodes the body of the last request.
func (f *fakeServer) lastBody(t *testing.T) map[string]any {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("the server received no request")
	}
	var m map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &m); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return m
}

// redirectTransport sends requests for one public host to a local server,
// keeping the URL the client used for the test to check. Requests for any
// other host are recorded and refused, so a redirected destination shows.
type redirectTransport struct {
	host   string // e.g. "api.anthropic.com"
	target *url.URL
	base   *http.Transport

	mu   sync.Mutex
	urls []string
}

func newRedirectTransport(t *testing.T, host, target string) *redirectTransport {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rt := &redirectTransport{host: host, target: u, base: &http.Transport{}}
	t.Cleanup(rt.base.CloseIdleConnections)
	return rt
}

func (rt *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, req.URL.String())
	rt.mu.Unlock()
	if req.URL.Host != rt.host {
		return nil, fmt.Errorf("test transport: refusing a request to %s", req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme = rt.target.Scheme
	out.URL.Host = rt.target.Host
	out.Host = rt.target.Host
	return rt.base.RoundTrip(out)
}

func (rt *redirectTransport) seen() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.urls...)
}

// plainClient is an HTTP client of the test's own, closed at the end.
func plainClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// sse writes one server-sent event and flushes it.
func sse(w http.ResponseWriter, event string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	if event != "" {
		fmt.Fprintf(w, "event: %s\n", event)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
}

type obj = map[string]any

// writeAnthropic speaks the Messages API streaming protocol.
func writeAnthropic(w http.ResponseWriter, s script, stall func()) {
	w.Header().Set("request-id", "req_test_0001")
	if s.status != 0 {
		errType := map[int]string{429: "rate_limit_error", 500: "api_error", 529: "overloaded_error", 400: "invalid_request_error"}[s.status]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_ = json.NewEncoder(w).Encode(obj{"type": "error", "error": obj{"type": errType, "message": leakedSecret}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	sse(w, "message_start", obj{"type": "message_start", "message": obj{
		"id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test-model",
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": obj{"input_tokens": 42, "output_tokens": 1},
	}})
	sse(w, "content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "text", "text": ""}})
	sse(w, "ping", obj{"type": "ping"})
	for i, d := range s.deltas {
		if s.stallAfter > 0 && i == s.stallAfter {
			stall()
			return
		}
		sse(w, "content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": d}})
		if s.stallAfter == 0 {
			w.(http.Flusher).Flush()
		}
	}
	if s.stallAfter >= len(s.deltas) {
		stall()
		return
	}
	sse(w, "content_block_stop", obj{"type": "content_block_stop", "index": 0})
	if s.noStop {
		return
	}
	sse(w, "message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": obj{"output_tokens": 7}})
	sse(w, "message_stop", obj{"type": "message_stop"})
}

// writeOpenAI speaks the Chat Completions streaming protocol.
func writeOpenAI(w http.ResponseWriter, s script, stall func()) {
	w.Header().Set("x-request-id", "req_test_0002")
	if s.status != 0 {
		errType := map[int]string{429: "rate_limit_exceeded", 500: "server_error"}[s.status]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_ = json.NewEncoder(w).Encode(obj{"error": obj{"type": errType, "message": leakedSecret, "code": nil, "param": nil}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	chunk := func(delta obj, finish any) obj {
		return obj{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-test-model",
			"choices": []any{obj{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	sse(w, "", chunk(obj{"role": "assistant", "content": ""}, nil))
	for i, d := range s.deltas {
		if s.stallAfter > 0 && i == s.stallAfter {
			stall()
			return
		}
		sse(w, "", chunk(obj{"content": d}, nil))
		if s.stallAfter == 0 {
			w.(http.Flusher).Flush()
		}
	}
	if s.stallAfter >= len(s.deltas) {
		stall()
		return
	}
	if s.noStop {
		return
	}
	sse(w, "", chunk(obj{}, "stop"))
	if !s.noUsage {
		sse(w, "", obj{"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-test-model",
			"choices": []any{}, "usage": obj{"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
