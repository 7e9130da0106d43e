package killswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Source is what a Watcher reads: the store satisfies it.
type Source interface {
	KillSwitchState(ctx context.Context) (store.KillState, error)
	ListenKillSwitch(ctx context.Context, connected func(), notify func(payload string)) error
}

// Options tune a Watcher.
type Options struct {
	// Refresh is the period of the fallback re-read (default 1 s).
	Refresh time.Duration
	// StaleAfter is how long the state may go unconfirmed before Check
	// fails closed (default 5 s; at least 2 × Refresh).
	StaleAfter time.Duration
	Logger     *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Stopped is the cause given to a job's context when a kill switch stops it.
type Stopped struct {
	Scope  string // "global", "organization" or "job"
	Reason string // global reason, when known; tenants read their own
}

func (s *Stopped) Error() string {
	if s.Reason != "" {
		return fmt.Sprintf("stopped by the %s AI kill switch: %s", s.Scope, s.Reason)
	}
	return fmt.Sprintf("stopped by the %s AI kill switch", s.Scope)
}

// ErrStateUnknown is Check's answer when the state has not been confirmed
// within StaleAfter: fail closed.
var ErrStateUnknown = errors.New("the AI kill-switch state is unknown (database unreachable): no new AI work until it is known")

type snapshot struct {
	global       bool
	globalReason string
	orgs         map[uuid.UUID]struct{}
}

type running struct {
	org     uuid.UUID
	cancel  context.CancelCauseFunc
	stream  bool // a chat turn's model stream, not an AI job
	stopped bool // a switch already cancelled it (counted once)
}

// Watcher holds the kill-switch state of one process and the cancel
// functions of the AI jobs running in it.
type Watcher struct {
	src       Source
	opts      Options
	state     atomic.Pointer[snapshot]
	verified  atomic.Int64 // unix nanos of the last confirmation
	listening atomic.Bool

	// seq orders re-reads and notifications: a re-read installs its state
	// only if nothing newer (a notification received after the read began)
	// was installed meanwhile, so a slow read cannot undo an activation.
	seq       atomic.Int64
	installMu sync.Mutex
	installed int64 // seq of the installed state

	mu   sync.Mutex
	jobs map[uuid.UUID]*running

	acks acks // what this process acknowledged (ack.go)
}

// New returns a Watcher; Run starts it. Until the first read succeeds the
// state is unknown and Check fails closed.
func New(src Source, opts Options) (*Watcher, error) {
	if opts.Refresh == 0 {
		opts.Refresh = time.Second
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 5 * time.Second
	}
	if opts.Refresh < 10*time.Millisecond || opts.Refresh > time.Minute {
		return nil, fmt.Errorf("kill-switch refresh must be between 10ms and 1m, got %s", opts.Refresh)
	}
	if opts.StaleAfter < 2*opts.Refresh {
		return nil, fmt.Errorf("kill-switch stale bound (%s) must be at least twice the refresh period (%s)", opts.StaleAfter, opts.Refresh)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Watcher{src: src, opts: opts, jobs: map[uuid.UUID]*running{}, acks: newAcks()}
	w.state.Store(&snapshot{orgs: map[uuid.UUID]struct{}{}})
	return w, nil
}

// Check answers, from memory, whether new AI work of org may start:
// global first, then the organization. It returns a *Stopped or
// ErrStateUnknown when not.
func (w *Watcher) Check(org uuid.UUID) error {
	if w.opts.Now().UnixNano()-w.verified.Load() > int64(w.opts.StaleAfter) {
		return ErrStateUnknown
	}
	s := w.state.Load()
	if s.global {
		return &Stopped{Scope: "global", Reason: s.globalReason}
	}
	if _, ok := s.orgs[org]; ok {
		return &Stopped{Scope: "organization"}
	}
	return nil
}

// Healthy reports whether the state is confirmed and the listener is up.
func (w *Watcher) Healthy() (listening bool, age time.Duration) {
	return w.listening.Load(), time.Duration(w.opts.Now().UnixNano() - w.verified.Load())
}

// Register records a running job so a kill switch can cancel it; the
// returned function unregisters it. Register before Check: a switch that
// flips in between is then seen by one of the two.
func (w *Watcher) Register(org, job uuid.UUID, cancel context.CancelCauseFunc) (unregister func()) {
	return w.register(org, job, cancel, false)
}

// RegisterStream is Register for a model stream that is not an AI job (a
// chat turn's answer): a switch that closes it counts it as a stream
// closed, not a job stopped, in this process's acknowledgement.
func (w *Watcher) RegisterStream(org, turn uuid.UUID, cancel context.CancelCauseFunc) (unregister func()) {
	return w.register(org, turn, cancel, true)
}

func (w *Watcher) register(org, job uuid.UUID, cancel context.CancelCauseFunc, stream bool) (unregister func()) {
	w.mu.Lock()
	w.jobs[job] = &running{org: org, cancel: cancel, stream: stream}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.jobs, job)
		w.mu.Unlock()
	}
}

// Running is the number of registered jobs.
func (w *Watcher) Running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.jobs)
}

// Run keeps the state current until ctx ends: a listener that reconnects
// with backoff, and the periodic re-read.
func (w *Watcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.listen(ctx)
	}()
	t := time.NewTicker(w.opts.Refresh)
	defer t.Stop()
	_ = w.Refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			if err := w.Refresh(ctx); err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("kill-switch re-read failed", "err", err)
			}
		}
	}
}

func (w *Watcher) listen(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := w.src.ListenKillSwitch(ctx, func() {
			w.listening.Store(true)
			backoff = 50 * time.Millisecond
			_ = w.Refresh(ctx)
		}, func(payload string) { w.apply(ctx, payload) })
		w.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		w.opts.Logger.Warn("kill-switch listener disconnected; re-reading every refresh period", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Refresh re-reads the whole state, installs it and cancels what it stops.
func (w *Watcher) Refresh(ctx context.Context) error {
	seq := w.seq.Add(1)
	st, err := w.src.KillSwitchState(ctx)
	if err != nil {
		return err
	}
	s := &snapshot{global: st.Global.Active, globalReason: st.Global.Reason, orgs: make(map[uuid.UUID]struct{}, len(st.Orgs))}
	for org := range st.Orgs {
		s.orgs[org] = struct{}{}
	}
	w.installMu.Lock()
	fresh := seq > w.installed
	if fresh {
		w.installed = seq
		w.state.Store(s)
	}
	w.installMu.Unlock()
	w.verified.Store(w.opts.Now().UnixNano())
	if fresh {
		w.enforce(s)
		w.acks.installed(seq, st, w.opts.Now())
	}
	return nil
}

type notice struct {
	Scope          string     `json:"scope"`
	OrganizationID *uuid.UUID `json:"organization_id"`
	JobID          *uuid.UUID `json:"job_id"`
	Active         bool       `json:"active"`
}

// apply acts on one notification. NOTIFY needs no privilege, so a payload
// is never trusted to lower a switch: an activation is applied at once
// (the fast path; a forged one can only stop work, which fails closed),
// and every notification is followed by a full re-read, the only thing
// that turns a switch off. A job-level notice cancels the job's context;
// the worker then confirms the cancellation in the database before it
// ends the job (a forged notice makes the attempt retry, nothing more).
func (w *Watcher) apply(ctx context.Context, payload string) {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		w.opts.Logger.Warn("malformed kill-switch notification; re-reading", "err", err)
		_ = w.Refresh(ctx)
		return
	}
	switch n.Scope {
	case "job":
		if n.JobID != nil {
			w.cancelJobs(func(id uuid.UUID, _ *running) bool { return id == *n.JobID }, &Stopped{Scope: "job"}, nil)
		}
		return
	case "global", "organization":
		if !n.Active || (n.Scope == "organization" && n.OrganizationID == nil) {
			break // only a re-read may lower a switch
		}
		w.installMu.Lock()
		old := w.state.Load()
		if _, known := old.orgs[orgOf(n)]; (n.Scope == "global" && old.global) || (n.Scope == "organization" && known) {
			// Already switched off in memory, and with its reason when a
			// re-read installed it: the notice adds nothing to enforce,
			// and installing it would blank a reason the re-read knew.
			// Enforcing again is harmless (a job that raced its check).
			w.installMu.Unlock()
			w.enforce(old)
			break
		}
		s := &snapshot{global: old.global, globalReason: old.globalReason, orgs: make(map[uuid.UUID]struct{}, len(old.orgs)+1)}
		for o := range old.orgs {
			s.orgs[o] = struct{}{}
		}
		if n.Scope == "global" {
			// The notification carries no reason, and the one in memory
			// belongs to an earlier change: unknown until the re-read below.
			s.global, s.globalReason = true, ""
		} else {
			s.orgs[*n.OrganizationID] = struct{}{}
		}
		// Installed now; the re-read below learns which change it was.
		w.acks.heard(orgOf(n), w.opts.Now())
		w.installed = w.seq.Add(1)
		w.state.Store(s)
		w.installMu.Unlock()
		w.enforce(s)
	}
	go func() { _ = w.Refresh(ctx) }()
}

// orgOf is the organization a notice names (the zero id when none).
func orgOf(n notice) uuid.UUID {
	if n.OrganizationID == nil {
		return uuid.UUID{}
	}
	return *n.OrganizationID
}

// enforce cancels every registered job that state s stops, and counts
// the ones it stops first against the switch that stopped them (the
// global switch's key is the zero id).
func (w *Watcher) enforce(s *snapshot) {
	if s.global {
		w.cancelJobs(func(uuid.UUID, *running) bool { return true }, &Stopped{Scope: "global", Reason: s.globalReason},
			func(*running) uuid.UUID { return uuid.Nil })
		return
	}
	if len(s.orgs) == 0 {
		return
	}
	w.cancelJobs(func(_ uuid.UUID, r *running) bool { _, ok := s.orgs[r.org]; return ok }, &Stopped{Scope: "organization"},
		func(r *running) uuid.UUID { return r.org })
}

// cancelJobs cancels the matching jobs; with key, each job stopped for
// the first time is counted against key(job)'s switch.
func (w *Watcher) cancelJobs(match func(uuid.UUID, *running) bool, cause *Stopped, key func(*running) uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, r := range w.jobs {
		if !match(id, r) {
			continue
		}
		r.cancel(cause)
		if key != nil && !r.stopped {
			r.stopped = true
			w.acks.stopped(key(r), r.stream)
		}
	}
}

// Refuse maps Check's answer to the API's error: 423 Locked with the
// reason for a killed scope, 503 when the state is unknown.
func Refuse(op string, err error, orgReason string) error {
	var st *Stopped
	switch {
	case err == nil:
		return nil
	case errors.As(err, &st):
		reason := st.Reason
		if st.Scope == "organization" {
			reason = orgReason
		}
		if reason == "" {
			return rampart.Errorf(op, rampart.KindLocked, "AI is switched off for this %s", scopeNoun(st.Scope))
		}
		return rampart.Errorf(op, rampart.KindLocked, "AI is switched off for this %s: %s", scopeNoun(st.Scope), reason)
	default:
		return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the AI kill-switch state cannot be confirmed; AI requests are refused until it can", Err: err}
	}
}

func scopeNoun(scope string) string {
	if scope == "global" {
		return "platform"
	}
	return scope
}
