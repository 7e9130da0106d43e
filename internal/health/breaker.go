package health

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Breaker defaults.
const (
	DefaultBreakerFailures    = 3
	DefaultBreakerOpenTimeout = 2 * time.Second
)

// BreakerSettings tune WithBreaker.
type BreakerSettings struct {
	// Failures is the number of consecutive failures that open the breaker
	// (default DefaultBreakerFailures).
	Failures uint32
	// OpenTimeout is how long the breaker stays open before letting one
	// probe through (half-open); default DefaultBreakerOpenTimeout.
	OpenTimeout time.Duration
	// OnStateChange, if set, is told of every transition ("closed",
	// "open", "half-open"), e.g. for a log line or a metric. It runs with
	// the breaker's lock held: it must not call back into the check.
	OnStateChange func(name, from, to string)
}

type breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}]
}

func (b *breaker) state() string { return b.cb.State().String() }

// WithBreaker returns a critical check named name that calls run through a
// circuit breaker. After Failures consecutive failures the breaker opens
// and the check fails at once with ErrCircuitOpen ("circuit open") without
// calling run; after OpenTimeout it lets one probe through (half-open): a
// success closes it, a failure opens it again. A check cancelled by its
// caller (context.Canceled: the client went away) counts neither way; a
// timeout counts as a failure. The breaker's state appears in the report.
// Set Critical to false on the result for an optional dependency.
func WithBreaker(name string, run func(ctx context.Context) error, s BreakerSettings) Check {
	failures := s.Failures
	if failures == 0 {
		failures = DefaultBreakerFailures
	}
	timeout := s.OpenTimeout
	if timeout <= 0 {
		timeout = DefaultBreakerOpenTimeout
	}
	st := gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
	}
	if s.OnStateChange != nil {
		st.OnStateChange = func(name string, from, to gobreaker.State) {
			s.OnStateChange(name, from.String(), to.String())
		}
	}
	b := &breaker{cb: gobreaker.NewCircuitBreaker[struct{}](st)}
	return Check{
		Name:     name,
		Critical: true,
		breaker:  b,
		Run: func(ctx context.Context) error {
			_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, run(ctx) })
			switch {
			case errors.Is(err, gobreaker.ErrOpenState):
				return ErrCircuitOpen
			case errors.Is(err, gobreaker.ErrTooManyRequests):
				return Fail("circuit half-open, probe in progress", ErrCircuitOpen)
			}
			return err
		},
	}
}

// BreakerState is the state of the check's breaker ("closed", "open",
// "half-open"), or "" for a check without one: for metrics.
func (c Check) BreakerState() string {
	if c.breaker == nil {
		return ""
	}
	return c.breaker.state()
}
