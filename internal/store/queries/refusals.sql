-- Rate-limit refusals per organization, UTC day and tier (refusals.go,
-- migration 026). The process counts them in memory (internal/refusal)
-- and adds them here in one statement per flush, on the service path.

-- name: AddRateLimitRefusals
-- Adds a flush's counts ($1..$4 are parallel arrays: organization, day,
-- tier, count). An organization deleted since its refusals were counted
-- is skipped (the join), so its counts never fail the whole flush.
INSERT INTO rate_limit_refusals (organization_id, day, tier, refusals)
SELECT u.*
  FROM unnest($1::uuid[], $2::date[], $3::text[], $4::bigint[]) AS u (org, d, t, n)
  JOIN organizations o ON o.id = u.org
 WHERE u.n > 0
ON CONFLICT (organization_id, day, tier) DO UPDATE SET refusals = rate_limit_refusals.refusals + EXCLUDED.refusals

-- name: PruneRateLimitRefusals
-- Every organization's counters of days before $1, reached through the
-- tenant root on organization_id (the primary key's prefix), so the
-- delete stays on the organization-led key (and, distributed by tenant,
-- on each tenant's shard) rather than being a cross-tenant exception.
DELETE FROM rate_limit_refusals r USING organizations o
 WHERE r.organization_id = o.id AND r.day < $1::date

-- name: RateLimitRefusalsSince
-- The organization's refusals per day and tier since $2 (admins only:
-- the policy returns nothing to anyone else).
SELECT day, tier, refusals FROM rate_limit_refusals
 WHERE organization_id = $1 AND day >= $2::date
 ORDER BY day, tier
