package ratelimit

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RedisKeyPrefix prefixes every key the Redis limiter writes (redis_rate
// adds its own "rate:" in front).
const RedisKeyPrefix = "rampart:rl:"

// Redis is the shared GCRA limiter: every instance connected to the same
// Redis server draws on one budget per key. It uses redis_rate, whose Lua
// script runs GCRA atomically on the server with the server's clock.
type Redis struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
}

var _ Limiter = (*Redis)(nil)

// NewRedis connects to the Redis server at url (redis://, rediss:// or
// unix://, as go-redis ParseURL reads them) and checks that it answers.
// The URL normally comes from RAMPART_REDIS_URL, which errors name.
func NewRedis(ctx context.Context, url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: drop it.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("RAMPART_REDIS_URL is not a Redis URL (redis://host:port/db or unix:///path/redis.sock): %w", err)
	}
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("RAMPART_REDIS_URL: Redis at %s (%s) does not answer: %w", opts.Addr, opts.Network, err)
	}
	return &Redis{client: client, limiter: redis_rate.NewLimiter(client)}, nil
}

// Close closes the connections to Redis.
func (r *Redis) Close() error { return r.client.Close() }

// Allow applies GCRA to key under l on the Redis server. A limit of N per
// period admits a burst of N and then one request every period/N, as
// Local does. Like Local, the key is scoped to the limit, so changing a
// tier's limit starts a fresh budget.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.N < 1 || l.Period <= 0 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", l)
	}
	lim := redis_rate.Limit{Rate: l.N, Burst: l.N, Period: l.Period}
	res, err := r.limiter.Allow(ctx, RedisKeyPrefix+l.String()+"|"+key, lim)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if res == nil {
		return Result{}, errors.New("ratelimit: redis: no result")
	}
	out := Result{
		Allowed:    res.Allowed > 0,
		Limit:      l.N,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !out.Allowed {
		out.RetryAfter = max(res.RetryAfter, 0) // redis_rate reports -1 when allowed
	}
	return out, nil
}

// Peek reports whether the next request would pass, spending nothing
// (redis_rate with a cost of 0 evaluates the GCRA state without moving it).
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	if l.N < 1 || l.Period <= 0 {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", l)
	}
	lim := redis_rate.Limit{Rate: l.N, Burst: l.N, Period: l.Period}
	res, err := r.limiter.AllowN(ctx, RedisKeyPrefix+l.String()+"|"+key, lim, 0)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if res == nil {
		return Result{}, errors.New("ratelimit: redis: no result")
	}
	out := Result{Allowed: res.Remaining >= 1, Limit: l.N, Remaining: max(res.Remaining, 0), ResetAfter: max(res.ResetAfter, 0)}
	if !out.Allowed {
		// One slot frees when the arrival time is an interval under the burst window.
		out.RetryAfter = max(out.ResetAfter-(l.Period-l.Period/time.Duration(l.N)), time.Second)
	}
	return out, nil
}
