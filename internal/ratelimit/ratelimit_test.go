package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestAuthTierFirstMinute is the review's case: auth 5/min used to let a
// sixth request through 12 s after a burst of five (GCRA's refill), nine
// or ten in the first minute. Now the sixth waits for the first to be a
// minute old.
func TestAuthTierFirstMinute(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := NewLocal(c.now)
	lim := DefaultTiers()["auth"]
	ctx := context.Background()
	for i := range 5 {
		r, _ := l.Allow(ctx, "k", lim)
		if !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	r, _ := l.Allow(ctx, "k", lim)
	if r.Allowed || r.RetryAfter != time.Minute {
		t.Fatalf("6th: %+v", r)
	}
	if r, _ := l.Allow(ctx, "other", lim); !r.Allowed {
		t.Fatal("keys are not independent")
	}
	for range 4 {
		c.add(12 * time.Second)
		if r, _ := l.Allow(ctx, "k", lim); r.Allowed {
			t.Fatalf("allowed %s after a burst of five", c.now().Sub(time.Unix(1_800_000_000, 0)))
		}
	}
	c.add(12 * time.Second) // the burst is a minute old
	for i := range 5 {
		if r, _ := l.Allow(ctx, "k", lim); !r.Allowed {
			t.Fatalf("a minute after the burst, request %d refused: %+v", i, r)
		}
	}
}

// TestLocalSweep: keys whose requests have left their window are dropped.
func TestLocalSweep(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := NewLocal(c.now)
	ctx := context.Background()
	for i := range 100 {
		_, _ = l.Allow(ctx, "client"+strconv.Itoa(i), Limit{5, time.Minute})
	}
	_, _ = l.Allow(ctx, "slow", Limit{5, time.Hour})
	c.add(2 * time.Minute)
	_, _ = l.Allow(ctx, "new", Limit{5, time.Minute})
	l.mu.Lock()
	n := len(l.logs)
	l.mu.Unlock()
	if n != 2 { // "slow" (its hour is not over) and "new"
		t.Fatalf("%d keys after the sweep, want 2", n)
	}
}

func TestConcurrentCallersGetExactlyTheBurst(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	l := NewLocal(c.now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := l.Allow(context.Background(), "ip", Limit{5, time.Minute})
			if r.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d of 50 allowed, want 5", allowed)
	}
}

func TestParseTiers(t *testing.T) {
	t.Parallel()
	tiers, err := ParseTiers("auth=3/30s, api=100/1m")
	if err != nil || tiers["auth"] != (Limit{3, 30 * time.Second}) || tiers["api"].N != 100 || tiers["agent"].N != 10 {
		t.Fatalf("%v %v", tiers, err)
	}
	for _, bad := range []string{"auth", "auth=5", "auth=x/1m", "auth=0/1m", "auth=5/1ms", "bogus=5/1m"} {
		if _, err := ParseTiers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
