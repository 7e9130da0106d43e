// Package ratelimit decides whether a request may proceed under a tiered
// rate limit (auth, agent, chat, upload, api). The in-process limiter
// implements GCRA (the generic cell rate algorithm, as Redis-based
// limiters such as redis_rate do): a limit of N per period admits a burst
// of N and then one request every period/N. A Redis-backed limiter for
// several instances implements the same interface.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is N requests per Period (burst N).
type Limit struct {
	N      int
	Period time.Duration
}

func (l Limit) String() string { return fmt.Sprintf("%d/%s", l.N, l.Period) }

// Result is the decision for one request.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when refused: wait this long
	ResetAfter time.Duration // until the full burst is available again
}

// Limiter decides for one key under one limit.
type Limiter interface {
	// Allow spends one request of the key's budget if there is one.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek reports the key's budget without spending any: Allowed is
	// false (with RetryAfter) when the next request would be refused.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
}

// Tiers maps tier names to limits.
type Tiers map[string]Limit

// DefaultTiers are the limits of issue #4: auth 5/min, agent 10/min, chat
// 15/min, upload 20/min, api 60/min.
func DefaultTiers() Tiers {
	return Tiers{"auth": {5, time.Minute}, "agent": {10, time.Minute}, "chat": {15, time.Minute},
		"upload": {20, time.Minute}, "api": {60, time.Minute}}
}

// ParseTiers reads "auth=5/1m,api=60/1m" over the defaults.
func ParseTiers(s string) (Tiers, error) {
	t := DefaultTiers()
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, spec, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, per, ok2 := strings.Cut(spec, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%q is not tier=N/period (e.g. auth=5/1m)", part)
		}
		if _, known := t[name]; !known {
			return nil, fmt.Errorf("unknown tier %q (auth, agent, chat, upload, api)", name)
		}
		count, err := strconv.Atoi(n)
		if err != nil || count < 1 || count > 100000 {
			return nil, fmt.Errorf("tier %s: %q must be a whole number from 1 to 100000", name, n)
		}
		d, err := time.ParseDuration(per)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return nil, fmt.Errorf("tier %s: %q must be a duration from 1s to 24h", name, per)
		}
		t[name] = Limit{count, d}
	}
	return t, nil
}

// Local is the in-process GCRA limiter.
type Local struct {
	mu    sync.Mutex
	tat   map[string]time.Time // theoretical arrival time per key
	now   func() time.Time
	sweep time.Time
}

// NewLocal returns an in-process limiter; now is the clock (nil = time.Now).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{tat: map[string]time.Time{}, now: now}
}

// Allow applies GCRA: each request moves the key's theoretical arrival
// time forward by period/N; a request is admitted while that time is no
// more than the burst window ahead of now.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	if lim.N < 1 || lim.Period <= 0 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", lim)
	}
	interval := lim.Period / time.Duration(lim.N)
	burst := lim.Period // N requests' worth of intervals
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.maybeSweep(now)
	k := lim.String() + "|" + key
	tat := l.tat[k]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if next.Sub(now) > burst {
		return Result{Allowed: false, Limit: lim.N, Remaining: 0,
			RetryAfter: next.Sub(now) - burst, ResetAfter: tat.Sub(now)}, nil
	}
	l.tat[k] = next
	remaining := int((burst - next.Sub(now)) / interval)
	return Result{Allowed: true, Limit: lim.N, Remaining: remaining, ResetAfter: next.Sub(now)}, nil
}

// Peek reports whether the next request would pass, spending nothing.
func (l *Local) Peek(_ context.Context, key string, lim Limit) (Result, error) {
	if lim.N < 1 || lim.Period <= 0 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", lim)
	}
	interval := lim.Period / time.Duration(lim.N)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	tat := l.tat[lim.String()+"|"+key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if next.Sub(now) > lim.Period {
		return Result{Allowed: false, Limit: lim.N, RetryAfter: next.Sub(now) - lim.Period, ResetAfter: tat.Sub(now)}, nil
	}
	return Result{Allowed: true, Limit: lim.N, Remaining: int((lim.Period - tat.Sub(now)) / interval), ResetAfter: tat.Sub(now)}, nil
}

// maybeSweep drops keys whose arrival time has passed, once a minute, so
// the map does not grow with every client ever seen.
func (l *Local) maybeSweep(now time.Time) {
	if now.Sub(l.sweep) < time.Minute {
		return
	}
	l.sweep = now
	for k, t := range l.tat {
		if t.Before(now) {
			delete(l.tat, k)
		}
	}
}
