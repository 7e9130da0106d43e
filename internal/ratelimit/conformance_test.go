package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/redistest"
)

// testLimiter is the behaviour every Limiter must show. newLimiter returns
// a limiter on the clock now, or on the real clock when now is nil; it may
// return a limiter shared with other subtests: each subtest uses its own
// keys. The subtests on the real clock use per-minute limits and assert
// nothing that depends on how fast the machine is; everything about time
// is asserted on a fake clock.
func testLimiter(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) Limiter) {
	ctx := context.Background()
	key := func(t *testing.T, k string) string { return t.Name() + "|" + k }

	t.Run("BurstThenRefusal", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		l := newLimiter(t, c.now)
		lim := Limit{N: 5, Period: time.Minute}
		k := key(t, "client")
		for i := range lim.N {
			r := allow(t, l, k, lim)
			if !r.Allowed || r.Limit != lim.N || r.Remaining != lim.N-1-i {
				t.Fatalf("request %d of the burst: %+v", i+1, r)
			}
			if r.ResetAfter != lim.Period {
				t.Fatalf("request %d: ResetAfter %s, want %s", i+1, r.ResetAfter, lim.Period)
			}
		}
		r := allow(t, l, k, lim)
		if r.Allowed || r.Remaining != 0 || r.Limit != lim.N {
			t.Fatalf("request after the burst: %+v", r)
		}
		// The first request leaves the window a whole period after it.
		if r.RetryAfter != lim.Period || r.ResetAfter != lim.Period {
			t.Fatalf("refused: RetryAfter %s ResetAfter %s, want %s and %s", r.RetryAfter, r.ResetAfter, lim.Period, lim.Period)
		}
		// Refusals do not consume budget: still refused, the wait shrinks
		// with the clock and is over when it says.
		c.add(lim.Period / 3)
		if r := allow(t, l, k, lim); r.Allowed || r.RetryAfter != lim.Period-lim.Period/3 {
			t.Fatalf("a third of a period later: %+v", r)
		}
		c.add(lim.Period - lim.Period/3)
		if r := allow(t, l, k, lim); !r.Allowed {
			t.Fatalf("after the Retry-After: %+v", r)
		}
	})

	// A limit of N per period admits at most N requests in the first
	// period, however the requests are spread over it: not a burst of N
	// followed by one more every period/N.
	t.Run("AtMostNAllowedInTheFirstWindow", func(t *testing.T) {
		t.Parallel()
		for _, lim := range []Limit{{1, time.Minute}, {5, time.Minute}, {60, time.Minute}, {3, 10 * time.Second}} {
			c := newClock()
			l := newLimiter(t, c.now)
			k := key(t, lim.String())
			allowed := 0
			// One request every second through the first period, plus a
			// burst at the start.
			for range lim.N + 3 {
				if allow(t, l, k, lim).Allowed {
					allowed++
				}
			}
			for elapsed := time.Second; elapsed < lim.Period; elapsed += time.Second {
				c.add(time.Second)
				if r := allow(t, l, k, lim); r.Allowed {
					allowed++
				}
			}
			if allowed != lim.N {
				t.Errorf("%v: %d requests allowed in the first window, want %d", lim, allowed, lim.N)
			}
			// The window slides: a period after the first request, its slot is free.
			c.add(time.Second)
			if r := allow(t, l, k, lim); !r.Allowed {
				t.Errorf("%v: refused a period after the first request: %+v", lim, r)
			}
		}
	})

	// In any window of one period at most N requests are allowed, and a
	// request is refused only when N were allowed in the period before it.
	t.Run("AtMostNInAnyWindow", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		l := newLimiter(t, c.now)
		lim := Limit{N: 4, Period: time.Minute}
		k := key(t, "client")
		start := c.now()
		var admitted []time.Duration
		inWindow := func(at time.Duration) int { // admitted in (at-period, at]
			n := 0
			for _, a := range admitted {
				if a > at-lim.Period && a <= at {
					n++
				}
			}
			return n
		}
		// An irregular pattern: bursts, pauses, steady trickles.
		steps := []time.Duration{0, 0, 7, 1, 1, 30, 0, 22, 1, 1, 1, 2, 40, 0, 0, 0, 0, 19, 1, 13, 13, 13, 13, 13, 61, 0, 5}
		for _, step := range steps {
			c.add(step * time.Second)
			at := c.now().Sub(start)
			before := inWindow(at)
			r := allow(t, l, k, lim)
			if r.Allowed {
				admitted = append(admitted, at)
			}
			if r.Allowed != (before < lim.N) {
				t.Fatalf("at %s with %d allowed in the period before: allowed=%v (%+v)", at, before, r.Allowed, r)
			}
			if !r.Allowed && r.RetryAfter <= 0 {
				t.Fatalf("at %s: refused with RetryAfter %s", at, r.RetryAfter)
			}
		}
		for _, a := range admitted {
			if n := inWindow(a + lim.Period - time.Nanosecond); n > lim.N {
				t.Fatalf("%d allowed in the period from %s", n, a)
			}
		}
	})

	t.Run("PeekSpendsNothing", func(t *testing.T) {
		t.Parallel()
		c := newClock()
		l := newLimiter(t, c.now)
		lim := Limit{N: 3, Period: time.Minute}
		k := key(t, "client")
		for i := range lim.N {
			p, err := l.Peek(ctx, k, lim)
			if err != nil || !p.Allowed || p.Remaining != lim.N-i {
				t.Fatalf("peek before request %d: %+v %v", i+1, p, err)
			}
			allow(t, l, k, lim)
			c.add(time.Second)
		}
		p, err := l.Peek(ctx, k, lim)
		if err != nil || p.Allowed || p.Remaining != 0 || p.RetryAfter != lim.Period-time.Duration(lim.N)*time.Second {
			t.Fatalf("peek after the budget: %+v %v", p, err)
		}
		for range 10 {
			_, _ = l.Peek(ctx, key(t, "fresh"), lim)
		}
		if r := allow(t, l, key(t, "fresh"), lim); !r.Allowed || r.Remaining != lim.N-1 {
			t.Fatalf("peeks spent budget: %+v", r)
		}
	})

	t.Run("RemainingDecreases", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t, nil)
		lim := Limit{N: 8, Period: time.Minute}
		k := key(t, "client")
		for i := range lim.N {
			r, err := l.Allow(ctx, k, lim)
			if err != nil {
				t.Fatal(err)
			}
			if want := lim.N - 1 - i; !r.Allowed || r.Remaining != want {
				t.Fatalf("request %d: Remaining %d (allowed %v), want %d", i+1, r.Remaining, r.Allowed, want)
			}
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t, nil)
		lim := Limit{N: 3, Period: time.Minute}
		a, b := key(t, "a"), key(t, "b")
		for range lim.N {
			if r, err := l.Allow(ctx, a, lim); err != nil || !r.Allowed {
				t.Fatalf("a: %+v %v", r, err)
			}
		}
		if r, err := l.Allow(ctx, a, lim); err != nil || r.Allowed {
			t.Fatalf("a after its burst: %+v %v", r, err)
		}
		for i := range lim.N {
			r, err := l.Allow(ctx, b, lim)
			if err != nil || !r.Allowed || r.Remaining != lim.N-1-i {
				t.Fatalf("b request %d after a was exhausted: %+v %v", i+1, r, err)
			}
		}
	})

	t.Run("ConcurrentCallersGetExactlyN", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t, nil)
		lim := Limit{N: 10, Period: time.Minute}
		if got := concurrentAllowed(t, []Limiter{l}, key(t, "client"), lim, 50); got != lim.N {
			t.Fatalf("50 concurrent callers: %d allowed, want %d", got, lim.N)
		}
	})

	t.Run("InvalidLimit", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t, nil)
		for _, lim := range []Limit{{0, time.Minute}, {5, 0}, {-1, time.Second}} {
			if _, err := l.Allow(ctx, key(t, "client"), lim); err == nil {
				t.Errorf("limit %v: no error", lim)
			}
		}
	})
}

// allow is Allow that fails the test on error.
func allow(t *testing.T, l Limiter, key string, lim Limit) Result {
	t.Helper()
	r, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newClock is a fake clock at a fixed instant, moved only by add.
func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

// concurrentAllowed makes calls concurrent requests on key, spread round
// robin over limiters, and counts the admitted ones.
func concurrentAllowed(t *testing.T, limiters []Limiter, key string, lim Limit, calls int) int {
	t.Helper()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func(l Limiter) {
			defer wg.Done()
			<-start
			r, err := l.Allow(context.Background(), key, lim)
			if err != nil {
				errs <- err
				return
			}
			if r.Allowed {
				allowed.Add(1)
			}
		}(limiters[i%len(limiters)])
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(allowed.Load())
}

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	testLimiter(t, func(_ *testing.T, now func() time.Time) Limiter { return NewLocal(now) })
}

// newRedis connects a limiter to the server at url, closed with t.
func newRedis(t *testing.T, url string) *Redis {
	t.Helper()
	r, err := NewRedis(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t) // one server; the subtests use their own keys
	testLimiter(t, func(t *testing.T, now func() time.Time) Limiter {
		r := newRedis(t, url)
		r.now = now
		return r
	})
}

// TestRedisInstancesShareOneBudget: two limiters with their own clients
// (two API instances) on one server admit N between them, not N each.
func TestRedisInstancesShareOneBudget(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t)
	a, b := newRedis(t, url), newRedis(t, url)
	lim := Limit{N: 10, Period: time.Minute}
	if got := concurrentAllowed(t, []Limiter{a, b}, "shared", lim, 50); got != lim.N {
		t.Fatalf("50 concurrent calls over two instances: %d allowed, want %d", got, lim.N)
	}
	// Either instance now sees the exhausted budget.
	for name, l := range map[string]*Redis{"a": a, "b": b} {
		if r, err := l.Allow(context.Background(), "shared", lim); err != nil || r.Allowed {
			t.Fatalf("instance %s after the shared burst: %+v %v", name, r, err)
		}
	}
}

// TestRedisKeys: keys live under RedisKeyPrefix.
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t)
	r := newRedis(t, url)
	if _, err := r.Allow(context.Background(), "auth|ip:192.0.2.1", Limit{5, time.Minute}); err != nil {
		t.Fatal(err)
	}
	keys, err := r.client.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.Contains(keys[0], RedisKeyPrefix) || !strings.HasSuffix(keys[0], "auth|ip:192.0.2.1") {
		t.Fatalf("keys %q: want one key under %q", keys, RedisKeyPrefix)
	}
}

func TestNewRedisErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, url := range []string{
		"http://localhost:6379",                  // not a Redis URL
		"unix://" + t.TempDir() + "/absent.sock", // nothing listening
		"redis://127.0.0.1:1/0",                  // connection refused
	} {
		r, err := NewRedis(ctx, url)
		if err == nil {
			r.Close()
			t.Errorf("%s: no error", url)
			continue
		}
		if !strings.Contains(err.Error(), "RAMPART_REDIS_URL") {
			t.Errorf("%s: error %q does not name RAMPART_REDIS_URL", url, err)
		}
	}
}
