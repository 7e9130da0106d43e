// Package health runs readiness checks and reports them as JSON.
//
// A Checker runs its checks concurrently on every call, each under its own
// timeout, and caches nothing: a report describes the dependencies as they
// are now. A check whose dependency can hang (the database) is wrapped in a
// circuit breaker (WithBreaker) so that, once it has failed a few times in a
// row, readiness answers at once ("circuit open") instead of waiting for a
// timeout on every request, and probes again by itself after a pause
// (half-open), closing the breaker when the dependency is back.
//
// Details in a report are safe to show to anyone who can reach the
// endpoint: they come from Fail, from the caller-safe message of a
// rampart.Error, or from a fixed text; a raw error (which may name hosts,
// users or paths) is only logged.
package health
