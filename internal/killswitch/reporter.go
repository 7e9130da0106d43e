package killswitch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/store"
)

// The defaults of a Reporter.
const (
	// DefaultHeartbeat is the period of a process's heartbeat: coarse, one
	// UPDATE per process every 15 s.
	DefaultHeartbeat = 15 * time.Second
	// DefaultRetention is how long a stopped (or vanished) process and
	// old acknowledgements are kept.
	DefaultRetention = 7 * 24 * time.Hour
)

// StaleAfter is how old a heartbeat may be before readers flag the
// process as stale (three missed beats).
func StaleAfter(heartbeat time.Duration) time.Duration { return 3 * heartbeat }

// ReporterOptions configure a Reporter.
type ReporterOptions struct {
	Role      string // serve or worker
	Version   string
	Heartbeat time.Duration // 0: DefaultHeartbeat
	Retention time.Duration // 0: DefaultRetention
	Logger    *slog.Logger
}

// Reporter registers this process and records, on the service path and
// off the watcher's hot path, the acknowledgements its watcher notes: a
// goroutine woken by the watcher (AckReady) or the heartbeat. A failed
// write is retried at the next beat; the watcher bounds what waits.
type Reporter struct {
	st   *store.Store
	w    *Watcher
	opts ReporterOptions
	id   uuid.UUID
	// loadedSent: the first-state time has reached the process's row.
	loadedSent bool
	retry      []store.SwitchAck
}

// NewReporter returns a Reporter with a fresh process id.
func NewReporter(st *store.Store, w *Watcher, opts ReporterOptions) (*Reporter, error) {
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Heartbeat < 10*time.Millisecond || opts.Heartbeat > 10*time.Minute {
		return nil, fmt.Errorf("process heartbeat must be between 10ms and 10m, got %s", opts.Heartbeat)
	}
	if opts.Retention < time.Hour {
		return nil, fmt.Errorf("process retention must be at least 1h, got %s", opts.Retention)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reporter{st: st, w: w, opts: opts, id: uuid.New()}, nil
}

// ID is this process's id in the registry.
func (r *Reporter) ID() uuid.UUID { return r.id }

// Register records the process (audited). Run calls it when needed; a
// caller may call it first to fail start-up early.
func (r *Reporter) Register(ctx context.Context) error {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown"
	}
	_, pruned, err := r.st.Processes().Register(ctx, store.Process{ID: r.id, Role: r.opts.Role, Hostname: host, PID: os.Getpid(),
		Version: r.opts.Version}, r.opts.Retention)
	if err == nil {
		r.loadedSent = false
		r.opts.Logger.Info("process registered", "process_id", r.id, "pruned_processes", pruned)
	}
	return err
}

// Run beats and records acknowledgements until ctx ends, then marks the
// process stopped (a short grace for the last acknowledgements).
func (r *Reporter) Run(ctx context.Context, registered bool) {
	t := time.NewTicker(r.opts.Heartbeat)
	defer t.Stop()
	for {
		if !registered {
			if err := r.Register(ctx); err != nil {
				if ctx.Err() == nil {
					r.opts.Logger.Warn("process registration failed; retrying at the next heartbeat", "err", err)
				}
			} else {
				registered = true
			}
		}
		if registered {
			registered = r.beat(ctx)
		}
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if registered {
				r.flush(sctx)
				if err := r.st.Processes().Stop(sctx, r.id); err != nil {
					r.opts.Logger.Warn("could not mark the process stopped", "err", err)
				}
			}
			return
		case <-t.C:
		case <-r.w.AckReady():
		}
	}
}

// beat sends the heartbeat and the acknowledgements; false when the
// process must register again.
func (r *Reporter) beat(ctx context.Context) bool {
	var loaded *time.Time
	if at, ok := r.w.LoadedAt(); ok && !r.loadedSent {
		loaded = &at
	}
	ok, err := r.st.Processes().Heartbeat(ctx, r.id, loaded)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			r.opts.Logger.Warn("process heartbeat failed", "err", err)
		}
		return true
	case !ok:
		r.opts.Logger.Warn("process no longer registered (pruned?); registering again", "process_id", r.id)
		return false
	}
	if loaded != nil {
		r.loadedSent = true
	}
	r.flush(ctx)
	return true
}

// flush records what waits; on failure it keeps it for the next beat
// (bounded like the watcher's queue).
func (r *Reporter) flush(ctx context.Context) {
	acks, dropped := r.w.TakeAcks()
	if dropped > 0 {
		r.opts.Logger.Warn("kill-switch acknowledgements dropped: too many waiting", "dropped", dropped)
	}
	acks = append(r.retry, acks...)
	r.retry = nil
	if len(acks) == 0 {
		return
	}
	if n, err := r.st.Processes().RecordAcks(ctx, r.id, acks); err != nil {
		acks = acks[n:]
		if ctx.Err() == nil {
			r.opts.Logger.Warn("recording kill-switch acknowledgements failed; retrying", "err", err, "waiting", len(acks))
		}
		if len(acks) > maxPendingAcks {
			acks = acks[len(acks)-maxPendingAcks:]
		}
		r.retry = acks
	}
}
