// Package ratelimit decides whether a request may proceed under a tiered
// rate limit (auth, agent, chat, upload, api).
//
// A limit of N per period means what it says: at most N requests of one
// key are allowed in any window of one period (a sliding-window log). The
// first N requests pass at once; the next passes when the oldest of them
// is a whole period old — not a burst of N followed by one more every
// period/N, which would let up to 2N−1 through in the first period. Only
// allowed requests count; a refused request spends nothing.
//
// Local keeps the log in process; Redis keeps it in a sorted set on a
// Redis server, so that several instances share one budget. Both pass one
// conformance suite.
package ratelimit
