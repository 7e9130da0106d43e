// Package refusal records, per organization, UTC day and tier, the
// requests the rate limiter refused (429) after their organization was
// known, and reads them back for the organization's admins (the console's
// usage page and GET /api/admin/usage/refusals).
//
// A flood of refused requests must not become database load. The edge
// therefore only bumps a counter in memory (Counter.Refused): concurrency
// safe, exact, with no allocation for a refusal whose (organization, day,
// tier) is already counted, and bounded — at most a fixed number of keys
// are held, and refusals that would need one more are counted as dropped
// instead. The serve process flushes the counts every FlushEvery and at
// shutdown, each flush one upsert on the service path (store
// RateLimitRefusals.Add) without an audit event; a flush that fails puts
// its counts back for the next one. Refusals of unauthenticated requests
// (budgets per address) have no organization and are never recorded here;
// the process metric ratelimit_rejections_total counts every refusal.
// Decision 0029 gives the reasons.
package refusal
