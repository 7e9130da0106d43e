package ratelimit

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisKeyPrefix prefixes every key the Redis limiter writes.
const RedisKeyPrefix = "rampart:rl:"

// Redis is the shared sliding-window limiter: every instance connected to
// the same Redis server draws on one budget per key. The window of a key
// is a sorted set of the times of its allowed requests; one Lua script
// trims, counts and adds atomically on the server, with the server's
// clock, so instances with skewed clocks still agree.
type Redis struct {
	client *redis.Client
	// now, when set (tests only), replaces the server's clock.
	now func() time.Time
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
	return &Redis{client: client}, nil
}

// Close closes the connections to Redis.
func (r *Redis) Close() error { return r.client.Close() }

// slidingWindow decides for one key, as Local does. KEYS[1] is the key's
// sorted set (score: time of an allowed request in µs). ARGV: N, the
// period in µs, now in µs ("" = the server's clock), 1 to spend or 0 to
// peek. It answers {allowed, count, retry-after µs, reset-after µs}.
// Times are formatted with %d: Lua would print 1.8e+15.
var slidingWindow = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local n = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now
if ARGV[3] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[3])
end
redis.call("ZREMRANGEBYSCORE", key, "-inf", string.format("%d", now - period))
local count = redis.call("ZCARD", key)
local allowed = 0
if count < n then
  allowed = 1
  if ARGV[4] == "1" then
    local at = string.format("%d", now)
    local seq = 0
    while redis.call("ZADD", key, "NX", at, at .. ":" .. seq) == 0 do seq = seq + 1 end
    count = count + 1
    redis.call("PEXPIRE", key, math.ceil(period / 1000))
  end
end
local retry, reset = 0, 0
if count > 0 then
  local newest = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
  reset = tonumber(newest[2]) + period - now
  if allowed == 0 then
    local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    retry = tonumber(oldest[2]) + period - now
  end
end
return {allowed, count, retry, reset}
`)

// Allow admits the request when fewer than N requests of the key were
// allowed in the period up to now (on the Redis server), and records it.
// Like Local, the key is scoped to the limit, so changing a tier's limit
// starts a fresh budget.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return r.decide(ctx, key, l, true)
}

// Peek reports whether the next request would pass, spending nothing.
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return r.decide(ctx, key, l, false)
}

func (r *Redis) decide(ctx context.Context, key string, l Limit, spend bool) (Result, error) {
	if l.N < 1 || l.Period < time.Microsecond {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %v", l)
	}
	now, op := "", "0"
	if r.now != nil {
		now = strconv.FormatInt(r.now().UnixMicro(), 10)
	}
	if spend {
		op = "1"
	}
	v, err := slidingWindow.Run(ctx, r.client, []string{RedisKeyPrefix + l.String() + "|" + key},
		l.N, l.Period.Microseconds(), now, op).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("ratelimit: redis: unexpected answer %v", v)
	}
	return Result{Allowed: v[0] == 1, Limit: l.N, Remaining: max(l.N-int(v[1]), 0),
		RetryAfter: max(time.Duration(v[2])*time.Microsecond, 0), ResetAfter: max(time.Duration(v[3])*time.Microsecond, 0)}, nil
}
