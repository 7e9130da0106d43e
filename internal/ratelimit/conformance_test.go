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

// testLimiter is the behaviour every Limiter must show, on the real clock.
// The limits are per minute, so a request interval (period/N) is seconds
// long and a slow machine does not refill a budget in the middle of a
// subtest. newLimiter may return a limiter shared with other subtests:
// each subtest uses its own keys.
func testLimiter(t *testing.T, newLimiter func(t *testing.T) Limiter) {
	ctx := context.Background()
	key := func(t *testing.T, k string) string { return t.Name() + "|" + k }

	t.Run("BurstThenRefusal", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		lim := Limit{N: 5, Period: time.Minute}
		k := key(t, "client")
		for i := range lim.N {
			r, err := l.Allow(ctx, k, lim)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Allowed || r.Limit != lim.N {
				t.Fatalf("request %d of the burst: %+v", i+1, r)
			}
			if r.ResetAfter <= 0 || r.ResetAfter > lim.Period {
				t.Fatalf("request %d: ResetAfter %s not in (0, %s]", i+1, r.ResetAfter, lim.Period)
			}
		}
		r, err := l.Allow(ctx, k, lim)
		if err != nil {
			t.Fatal(err)
		}
		interval := lim.Period / time.Duration(lim.N)
		if r.Allowed || r.Remaining != 0 || r.Limit != lim.N {
			t.Fatalf("request after the burst: %+v", r)
		}
		if r.RetryAfter <= 0 || r.RetryAfter > interval+time.Second {
			t.Fatalf("refused: RetryAfter %s, want in (0, %s]", r.RetryAfter, interval+time.Second)
		}
		if r.ResetAfter <= 0 || r.ResetAfter > lim.Period+time.Second {
			t.Fatalf("refused: ResetAfter %s, want in (0, %s]", r.ResetAfter, lim.Period)
		}
		// Refusals do not consume budget: still refused, no longer wait.
		r2, err := l.Allow(ctx, k, lim)
		if err != nil {
			t.Fatal(err)
		}
		if r2.Allowed || r2.RetryAfter > r.RetryAfter {
			t.Fatalf("second refusal: %+v after %+v", r2, r)
		}
	})

	t.Run("RemainingDecreases", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
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
		l := newLimiter(t)
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
		l := newLimiter(t)
		lim := Limit{N: 10, Period: time.Minute}
		if got := concurrentAllowed(t, []Limiter{l}, key(t, "client"), lim, 50); got != lim.N {
			t.Fatalf("50 concurrent callers: %d allowed, want %d", got, lim.N)
		}
	})

	t.Run("InvalidLimit", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		for _, lim := range []Limit{{0, time.Minute}, {5, 0}, {-1, time.Second}} {
			if _, err := l.Allow(ctx, key(t, "client"), lim); err == nil {
				t.Errorf("limit %v: no error", lim)
			}
		}
	})
}

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
	testLimiter(t, func(*testing.T) Limiter { return NewLocal(nil) })
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
	testLimiter(t, func(t *testing.T) Limiter { return newRedis(t, url) })
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

func testPeek(t *testing.T, l Limiter) {
	ctx := context.Background()
	lim := Limit{3, time.Minute}
	for i := range 3 {
		p, err := l.Peek(ctx, "peek", lim)
		if err != nil || !p.Allowed {
			t.Fatalf("peek before request %d: %+v %v", i, p, err)
		}
		if r, _ := l.Allow(ctx, "peek", lim); !r.Allowed {
			t.Fatalf("request %d refused", i)
		}
	}
	p, err := l.Peek(ctx, "peek", lim)
	if err != nil || p.Allowed || p.RetryAfter <= 0 {
		t.Fatalf("peek after the burst: %+v %v", p, err)
	}
	// Peeking spends nothing.
	for range 10 {
		_, _ = l.Peek(ctx, "fresh", lim)
	}
	if r, _ := l.Allow(ctx, "fresh", lim); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("peeks spent budget: %+v", r)
	}
}

func TestLocalPeek(t *testing.T) { t.Parallel(); testPeek(t, NewLocal(nil)) }

func TestRedisPeek(t *testing.T) {
	t.Parallel()
	r, err := NewRedis(context.Background(), redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	testPeek(t, r)
}
