package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The conformance suite: every Provider must pass the same cases. Each
// implementation supplies a target factory; remote ones run against a fake
// server that speaks their protocol.

// targetOptions shape the backend of one case.
type targetOptions struct {
	// stall makes the backend send its first deltas and then stall: the
	// fake server holds the response open, the offline provider sleeps.
	stall bool
	// status makes a remote backend answer with an HTTP error.
	status int
	// timeout is the provider's Config.Timeout (0 = default).
	timeout time.Duration
}

// target is one provider under test with its backend's observations.
type target struct {
	provider Provider
	// requests reports how many requests reached the backend; nil for a
	// provider without one (offline).
	requests func() int
	// cancelled is closed when the backend saw the request's context end;
	// nil for offline.
	cancelled <-chan struct{}
}

type implementation struct {
	name   string
	remote bool
	new    func(t *testing.T, o targetOptions) target
}

// conformanceDeltas is what the fake servers stream.
var conformanceDeltas = []string{"## Overview\n", "A gala ", "for 300 ", "guests."}

func implementations() []implementation {
	return []implementation{
		{name: "offline", new: func(t *testing.T, o targetOptions) target {
			cfg := Config{Timeout: o.timeout}
			if o.stall {
				cfg.OfflineDelay = time.Hour
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return target{provider: p}
		}},
		{name: "anthropic", remote: true, new: func(t *testing.T, o targetOptions) target {
			f := newFakeServer(t, scriptFor(o), writeAnthropic)
			rt := newRedirectTransport(t, "api.anthropic.com", f.srv.URL)
			p, err := New(Config{Provider: "anthropic", APIKey: "test-anthropic-key", HTTPClient: &http.Client{Transport: rt}, Timeout: o.timeout})
			if err != nil {
				t.Fatal(err)
			}
			return target{provider: p, requests: f.count, cancelled: f.cancelled}
		}},
		{name: "openai", remote: true, new: func(t *testing.T, o targetOptions) target {
			f := newFakeServer(t, scriptFor(o), writeOpenAI)
			p, err := New(Config{Provider: "openai", BaseURL: f.srv.URL + "/v1", HTTPClient: plainClient(t), Timeout: o.timeout})
			if err != nil {
				t.Fatal(err)
			}
			return target{provider: p, requests: f.count, cancelled: f.cancelled}
		}},
	}
}

func scriptFor(o targetOptions) script {
	s := script{deltas: conformanceDeltas, status: o.status}
	if o.stall {
		s.stallAfter = 3 // three deltas arrive together, then nothing
	}
	return s
}

// testGuard is the real guard with default options.
func testGuard(t *testing.T) *guard.Guard {
	t.Helper()
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// fenced makes a guard.Text from raw the way a job does.
func fenced(t *testing.T, label, raw string) guard.Text {
	t.Helper()
	text, _ := testGuard(t).Inspect(label, raw)
	if !text.Valid() {
		t.Fatalf("guard returned an invalid text for %q", raw)
	}
	return text
}

func briefRequest(t *testing.T) Request {
	return Request{
		Prompt: ProposalWriter,
		Data:   []guard.Text{fenced(t, "brief", "A gala dinner for 300 guests at the Grand Hall in Lisbon on 12 June 2027, with an LED wall.")},
	}
}

// recorder collects deltas; it is safe to read while Stream runs.
type recorder struct {
	mu     sync.Mutex
	deltas []string
	after  int // deltas delivered after the test cancelled
	done   bool
}

func (r *recorder) add(d string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		r.after++
	}
	r.deltas = append(r.deltas, d)
}

func (r *recorder) markDone() {
	r.mu.Lock()
	r.done = true
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.deltas...), r.after
}

// stream runs Stream with a hang detector.
func stream(t *testing.T, p Provider, ctx context.Context, req Request, onDelta func(string) error) (Response, error) {
	t.Helper()
	type result struct {
		resp Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := p.Stream(ctx, req, onDelta)
		ch <- result{resp, err}
	}()
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-time.After(hangLimit):
		t.Fatalf("%s: Stream did not return within %s", p.Name(), hangLimit)
		return Response{}, nil
	}
}

// waitClosed fails the test if ch is not closed within the hang limit.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangLimit):
		t.Fatalf("%s did not happen", what)
	}
}

func TestConformance(t *testing.T) {
	for _, impl := range implementations() {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			runConformance(t, impl)
		})
	}
}

func runConformance(t *testing.T, impl implementation) {
	t.Run("StreamsDeltasThatMakeTheText", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{})
		var rec recorder
		resp, err := stream(t, tg.provider, context.Background(), briefRequest(t), func(d string) error { rec.add(d); return nil })
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		deltas, _ := rec.snapshot()
		if len(deltas) < 2 {
			t.Errorf("got %d deltas, want more than one", len(deltas))
		}
		if got := strings.Join(deltas, ""); got != resp.Text {
			t.Errorf("deltas joined differ from Response.Text:\n%q\n%q", got, resp.Text)
		}
		if resp.Text == "" {
			t.Error("empty completion")
		}
		if resp.Usage.InputTokens <= 0 || resp.Usage.OutputTokens <= 0 || resp.Usage.Total() != resp.Usage.InputTokens+resp.Usage.OutputTokens {
			t.Errorf("usage = %+v, want input and output > 0", resp.Usage)
		}
		if resp.Model == "" || resp.StopReason == "" {
			t.Errorf("model %q, stop reason %q: want both", resp.Model, resp.StopReason)
		}
		if tg.provider.Name() != impl.name || tg.provider.Model() == "" {
			t.Errorf("Name() = %q, Model() = %q", tg.provider.Name(), tg.provider.Model())
		}
		if tg.requests != nil && tg.requests() != 1 {
			t.Errorf("backend saw %d requests, want 1", tg.requests())
		}
	})

	t.Run("NilCallback", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{})
		resp, err := stream(t, tg.provider, context.Background(), briefRequest(t), nil)
		if err != nil || resp.Text == "" {
			t.Fatalf("Stream with a nil callback: %q, %v", resp.Text, err)
		}
	})

	t.Run("CancelMidStream", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{stall: true})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		var rec recorder
		_, err := stream(t, tg.provider, ctx, briefRequest(t), func(d string) error {
			rec.add(d)
			cancel()
			rec.markDone()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want one wrapping context.Canceled", err)
		}
		if k := rampart.ErrorKind(err); k != rampart.KindUnavailable {
			t.Errorf("kind = %s, want unavailable", k)
		}
		deltas, after := rec.snapshot()
		if len(deltas) != 1 || after != 0 {
			t.Errorf("got %d deltas (%d after the cancel), want exactly the first one", len(deltas), after)
		}
		if tg.cancelled != nil {
			waitClosed(t, tg.cancelled, "the server seeing the request cancelled")
		}
	})

	t.Run("CancelledBeforeTheCall", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var rec recorder
		_, err := stream(t, tg.provider, ctx, briefRequest(t), func(d string) error { rec.add(d); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want one wrapping context.Canceled", err)
		}
		if deltas, _ := rec.snapshot(); len(deltas) != 0 {
			t.Errorf("got %d deltas after a cancelled context", len(deltas))
		}
	})

	t.Run("TimeoutAbortsTheCall", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{stall: true, timeout: 200 * time.Millisecond})
		var rec recorder
		_, err := stream(t, tg.provider, context.Background(), briefRequest(t), func(d string) error { rec.add(d); return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
		}
		if k := rampart.ErrorKind(err); k != rampart.KindUnavailable {
			t.Errorf("kind = %s, want unavailable", k)
		}
		if tg.cancelled != nil {
			waitClosed(t, tg.cancelled, "the server seeing the request cancelled")
		}
	})

	t.Run("CallbackErrorAborts", func(t *testing.T) {
		t.Parallel()
		tg := impl.new(t, targetOptions{stall: true})
		stop := errors.New("kill switch engaged")
		var rec recorder
		_, err := stream(t, tg.provider, context.Background(), briefRequest(t), func(d string) error {
			rec.add(d)
			rec.markDone()
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("err = %v, want one wrapping the callback's error", err)
		}
		deltas, after := rec.snapshot()
		if len(deltas) != 1 || after != 0 {
			t.Errorf("got %d deltas (%d after the error), want exactly the first one", len(deltas), after)
		}
		if tg.cancelled != nil {
			waitClosed(t, tg.cancelled, "the server seeing the request cancelled")
		}
	})

	refused := []struct {
		name string
		req  func(t *testing.T) Request
	}{
		{"ZeroPrompt", func(t *testing.T) Request {
			r := briefRequest(t)
			r.Prompt = Prompt{}
			return r
		}},
		{"ZeroGuardText", func(t *testing.T) Request {
			r := briefRequest(t)
			r.Data = append(r.Data, guard.Text{})
			return r
		}},
		{"OnlyZeroGuardText", func(t *testing.T) Request {
			return Request{Prompt: ProposalWriter, Data: []guard.Text{{}}}
		}},
		{"NoData", func(t *testing.T) Request { return Request{Prompt: ProposalWriter} }},
		{"NegativeMaxTokens", func(t *testing.T) Request {
			r := briefRequest(t)
			r.MaxTokens = -1
			return r
		}},
	}
	for _, tc := range refused {
		t.Run("Refuses"+tc.name, func(t *testing.T) {
			t.Parallel()
			tg := impl.new(t, targetOptions{})
			var rec recorder
			_, err := stream(t, tg.provider, context.Background(), tc.req(t), func(d string) error { rec.add(d); return nil })
			if err == nil {
				t.Fatal("the request was accepted")
			}
			if k := rampart.ErrorKind(err); k != rampart.KindInvalid {
				t.Errorf("kind = %s, want invalid (%v)", k, err)
			}
			if deltas, _ := rec.snapshot(); len(deltas) != 0 {
				t.Errorf("got %d deltas for a refused request", len(deltas))
			}
			if tg.requests != nil && tg.requests() != 0 {
				t.Errorf("backend saw %d requests, want none", tg.requests())
			}
		})
	}

	for _, status := range []int{429, 500} {
		t.Run(fmt.Sprintf("ProviderErrorHTTP%d", status), func(t *testing.T) {
			if !impl.remote {
				t.Skip("the offline provider has no backend to fail")
			}
			t.Parallel()
			tg := impl.new(t, targetOptions{status: status})
			var rec recorder
			_, err := stream(t, tg.provider, context.Background(), briefRequest(t), func(d string) error { rec.add(d); return nil })
			if err == nil {
				t.Fatal("an HTTP error was not reported")
			}
			if k := rampart.ErrorKind(err); k != rampart.KindUnavailable {
				t.Errorf("kind = %s, want unavailable", k)
			}
			var pe *ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ProviderError", err)
			}
			if pe.Provider != impl.name || pe.StatusCode != status || !pe.Temporary() || pe.Type == "" || pe.RequestID == "" {
				t.Errorf("ProviderError = %+v", *pe)
			}
			if strings.Contains(err.Error(), leakedSecret) {
				t.Errorf("the error carries the provider's message: %v", err)
			}
			if n := tg.requests(); n != 1 {
				t.Errorf("backend saw %d requests, want 1 (no retries by default)", n)
			}
		})
	}

	t.Run("TruncatedStreamIsAnError", func(t *testing.T) {
		if !impl.remote {
			t.Skip("the offline provider cannot be cut off")
		}
		t.Parallel()
		f := newFakeServer(t, script{deltas: conformanceDeltas, noStop: true}, map[string]func(http.ResponseWriter, script, func()){
			"anthropic": writeAnthropic, "openai": writeOpenAI}[impl.name])
		p := remoteProvider(t, impl.name, f)
		_, err := stream(t, p, context.Background(), briefRequest(t), func(string) error { return nil })
		if !errors.Is(err, errStreamTruncated) {
			t.Fatalf("err = %v, want errStreamTruncated", err)
		}
	})
}

// remoteProvider builds a provider of the given name against f.
func remoteProvider(t *testing.T, name string, f *fakeServer) Provider {
	t.Helper()
	var cfg Config
	switch name {
	case "anthropic":
		rt := newRedirectTransport(t, "api.anthropic.com", f.srv.URL)
		cfg = Config{Provider: name, APIKey: "test-anthropic-key", HTTPClient: &http.Client{Transport: rt}}
	case "openai":
		cfg = Config{Provider: name, BaseURL: f.srv.URL + "/v1", HTTPClient: plainClient(t)}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
