// Package observe is Rampart's observability: structured logs that cannot
// leak secrets, Prometheus metrics on a private registry, and optional error
// reporting to Sentry.
//
// Guarantees:
//
//   - A logger built on [NewScrubbingHandler] never writes email addresses,
//     bearer tokens, JWTs, session cookies, magic-link tokens, long random
//     secrets, sensitive URL query values, or the value of any attribute
//     whose key names a secret, personal data, prompt/completion text or a
//     cost; level, time and other attributes pass through unchanged.
//   - [RequestLog] logs the route pattern, never the raw path, query string,
//     cookies, authorization header or body.
//   - [Metrics] registers nothing in the global Prometheus registry; route
//     labels are ServeMux patterns (bounded cardinality), never raw paths.
//   - [ScrubEvent], installed as Sentry's before-send hook by [InitSentry],
//     applies the same redaction as the log scrubber to every part of an
//     event, and drops cookies, request bodies, the user's email and IP.
package observe
