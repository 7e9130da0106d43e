package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is at most N requests in any window of one Period.
type Limit struct {
	N      int
	Period time.Duration
}

func (l Limit) String() string { return fmt.Sprintf("%d/%s", l.N, l.Period) }

// Result is the decision for one request.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int           // requests still allowed in the window now
	RetryAfter time.Duration // when refused: until the oldest counted request leaves the window
	ResetAfter time.Duration // until every counted request has left the window (the full budget is back)
}

// Limiter decides for one key under one limit.
type Limiter interface {
	// Allow spends one request of the key's budget if there is one. It
	// returns an error (and no decision) for an invalid limit or when the
	// backend does not answer; callers fail closed.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek reports the key's budget without spending any: Allowed is
	// false (with RetryAfter) when the next request would be refused.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
}

// Tiers maps tier names to limits.
type Tiers map[string]Limit

// DefaultTiers are the limits of issue #4: auth 5/min, agent 10/min, chat
// 15/min, upload 20/min, api 60/min; and webhook 120/min per client
// address (the billing webhook, issue #16).
// The org-* tiers are an organization's budget for the authenticated
// tier of the same name, shared by all its members and API tokens, so it
// does not grow with their number.
func DefaultTiers() Tiers {
	return Tiers{"auth": {5, time.Minute}, "agent": {10, time.Minute}, "chat": {15, time.Minute},
		"upload": {20, time.Minute}, "api": {60, time.Minute}, "webhook": {120, time.Minute},
		"org-api": {600, time.Minute}, "org-agent": {50, time.Minute}}
}

// OrgTier is the organization-wide tier of an authenticated tier ("" when
// it has none).
func (t Tiers) OrgTier(tier string) string {
	if _, ok := t["org-"+tier]; ok {
		return "org-" + tier
	}
	return ""
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
			return nil, fmt.Errorf("unknown tier %q (auth, agent, chat, upload, api, webhook, org-api, org-agent)", name)
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

// Local is the in-process sliding-window limiter.
type Local struct {
	mu    sync.Mutex
	logs  map[string]*window
	now   func() time.Time
	sweep int64 // when the last sweep ran (Unix ns)
}

// window is one key's log: the times (Unix ns) of the requests allowed in
// the last period, oldest first; never more than the limit's N.
type window struct {
	period int64
	times  []int64
}

// NewLocal returns an in-process limiter; now is the clock (nil = time.Now).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{logs: map[string]*window{}, now: now}
}

// Allow admits the request when fewer than N requests of the key were
// allowed in the period up to now, and records it.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	return l.decide(key, lim, true)
}

// Peek reports whether the next request would pass, spending nothing.
func (l *Local) Peek(_ context.Context, key string, lim Limit) (Result, error) {
	return l.decide(key, lim, false)
}

func (l *Local) decide(key string, lim Limit, spend bool) (Result, error) {
	if lim.N < 1 || lim.Period <= 0 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", lim)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now().UnixNano()
	l.maybeSweep(now)
	// The key is scoped to the limit: changing a tier's limit starts a
	// fresh budget.
	k := lim.String() + "|" + key
	w := l.logs[k]
	if w == nil {
		w = &window{period: int64(lim.Period)}
	}
	w.times = trim(w.times, now-w.period)
	allowed := len(w.times) < lim.N
	if allowed && spend {
		w.times = append(w.times, now)
	}
	if len(w.times) == 0 {
		delete(l.logs, k)
	} else {
		l.logs[k] = w
	}
	return result(lim, allowed, w.times, now), nil
}

// trim drops the times at or before cutoff: they have left the window.
func trim(times []int64, cutoff int64) []int64 {
	i := 0
	for i < len(times) && times[i] <= cutoff {
		i++
	}
	if i == len(times) {
		return nil
	}
	return times[i:]
}

// result describes a key's window at now, given the times (oldest first)
// of the requests it counts.
func result(lim Limit, allowed bool, times []int64, now int64) Result {
	r := Result{Allowed: allowed, Limit: lim.N, Remaining: max(lim.N-len(times), 0)}
	if len(times) > 0 {
		r.ResetAfter = time.Duration(times[len(times)-1] + int64(lim.Period) - now)
		if !allowed {
			r.RetryAfter = time.Duration(times[0] + int64(lim.Period) - now)
		}
	}
	return r
}

// maybeSweep drops, once a minute, the keys whose requests have all left
// their window, so the map does not grow with every client ever seen.
func (l *Local) maybeSweep(now int64) {
	if now-l.sweep < int64(time.Minute) {
		return
	}
	l.sweep = now
	for k, w := range l.logs {
		if len(w.times) == 0 || w.times[len(w.times)-1] <= now-w.period {
			delete(l.logs, k)
		}
	}
}
