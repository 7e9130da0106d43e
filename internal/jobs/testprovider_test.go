package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// stubProvider is an llm.Provider for tests. It finds the proposal it is
// asked about by a key in the proposal's title (see newKey), counts the
// calls running at once per group (the key's first part, e.g. an
// organization), can hold every call until released, and then streams
// Chunks chunks, Delay apart. It honours ctx throughout.
type stubProvider struct {
	Chunks int
	Delay  time.Duration
	Block  bool // hold each call until Release(key) or ReleaseAll

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change
	calls     []string      // keys, in call order
	running   map[string]int
	maxGroup  map[string]int // most calls of a group running at once
	ended     map[string]error
	gates     map[string]chan struct{}
	all       chan struct{}
	allClosed bool
}

func newStub(block bool) *stubProvider {
	return &stubProvider{Chunks: 3, Block: block, changed: make(chan struct{}),
		running: map[string]int{}, maxGroup: map[string]int{}, ended: map[string]error{},
		gates: map[string]chan struct{}{}, all: make(chan struct{})}
}

func (p *stubProvider) Name() string  { return "stub" }
func (p *stubProvider) Model() string { return "stub-1" }

var keyRE = regexp.MustCompile(`stubkey-([a-z0-9]+)-([0-9a-f]{12})`)

// newKey returns a unique key of group, to put in a proposal's title.
func newKey(group string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "stubkey-" + group + "-" + hex.EncodeToString(b)
}

func groupOf(key string) string {
	if m := keyRE.FindStringSubmatch(key); m != nil {
		return m[1]
	}
	return ""
}

func (p *stubProvider) Stream(ctx context.Context, req llm.Request, onDelta func(string) error) (llm.Response, error) {
	const op = "stub.Stream"
	var key string
	for _, d := range req.Data {
		if !d.Valid() {
			return llm.Response{}, rampart.Errorf(op, rampart.KindInvalid, "data not made by the guard")
		}
		if k := keyRE.FindString(d.Fenced()); k != "" && key == "" {
			key = k
		}
	}
	group := groupOf(key)

	p.mu.Lock()
	p.calls = append(p.calls, key)
	p.running[group]++
	p.maxGroup[group] = max(p.maxGroup[group], p.running[group])
	gate := p.gateLocked(key)
	p.notifyLocked()
	p.mu.Unlock()

	resp, err := p.run(ctx, gate, key, onDelta)

	p.mu.Lock()
	p.running[group]--
	p.ended[key] = err
	p.notifyLocked()
	p.mu.Unlock()
	return resp, err
}

func (p *stubProvider) run(ctx context.Context, gate chan struct{}, key string, onDelta func(string) error) (llm.Response, error) {
	const op = "stub.Stream"
	cancelled := func() error {
		return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the model call was cancelled", Err: ctx.Err()}
	}
	if p.Block {
		select {
		case <-ctx.Done():
			return llm.Response{}, cancelled()
		case <-gate:
		case <-p.all:
		}
	}
	var text strings.Builder
	text.WriteString("## Overview\n\nA stub proposal <script>alert(1)</script> for " + key + ".\n\n")
	for i := range p.Chunks {
		if i > 0 && p.Delay > 0 {
			select {
			case <-ctx.Done():
				return llm.Response{}, cancelled()
			case <-time.After(p.Delay):
			}
		}
		if ctx.Err() != nil {
			return llm.Response{}, cancelled()
		}
		chunk := fmt.Sprintf("Section %d of the plan.\n\n", i+1)
		if err := onDelta(chunk); err != nil {
			return llm.Response{}, err
		}
		text.WriteString(chunk)
	}
	return llm.Response{Text: text.String(), Model: "stub-1", StopReason: "end_turn",
		Usage: llm.Usage{InputTokens: 40, OutputTokens: (text.Len() + 3) / 4}}, nil
}

func (p *stubProvider) gateLocked(key string) chan struct{} {
	g, ok := p.gates[key]
	if !ok {
		g = make(chan struct{})
		p.gates[key] = g
	}
	return g
}

func (p *stubProvider) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Release lets the held call (present or future) of key finish.
func (p *stubProvider) Release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.gateLocked(key)
	select {
	case <-g:
	default:
		close(g)
	}
}

// ReleaseAll lets every call, present and future, finish.
func (p *stubProvider) ReleaseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.allClosed {
		close(p.all)
		p.allClosed = true
	}
}

// Calls returns the keys of the calls so far.
func (p *stubProvider) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Ended reports whether a call of key has returned.
func (p *stubProvider) Ended(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.ended[key]
	return ok
}

// MaxRunning is the most calls of group that ran at once.
func (p *stubProvider) MaxRunning(group string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxGroup[group]
}

// waitFor waits until cond (called under the lock) holds.
func (p *stubProvider) waitFor(t testing.TB, what string, cond func(p *stubProvider) bool) {
	t.Helper()
	deadline := time.NewTimer(hangAfter)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok, changed := cond(p), p.changed
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("hang: waited %s for the stub provider: %s (calls: %v)", hangAfter, what, p.Calls())
		}
	}
}

// waitRunning waits until a call of key is in the provider.
func (p *stubProvider) waitRunning(t testing.TB, key string) {
	t.Helper()
	p.waitFor(t, key+" running", func(p *stubProvider) bool {
		_, ended := p.ended[key]
		return !ended && p.running[groupOf(key)] > 0 && containsKey(p.calls, key)
	})
}

// waitEnded waits until a call of key has returned, and returns its error.
func (p *stubProvider) waitEnded(t testing.TB, key string) error {
	t.Helper()
	var err error
	p.waitFor(t, key+" ended", func(p *stubProvider) bool {
		e, ok := p.ended[key]
		err = e
		return ok
	})
	return err
}

func containsKey(keys []string, key string) bool {
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

// flakySource is a killswitch.Source whose reads fail while err is set.
type flakySource struct {
	mu    sync.Mutex
	err   error
	state store.KillState
}

func (s *flakySource) set(state store.KillState, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.err = state, err
}

func (s *flakySource) KillSwitchState(context.Context) (store.KillState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return store.KillState{}, s.err
	}
	return s.state, nil
}

// ListenKillSwitch never connects: the listener is down.
func (s *flakySource) ListenKillSwitch(ctx context.Context, _ func(), _ func(string)) error {
	<-ctx.Done()
	return ctx.Err()
}
