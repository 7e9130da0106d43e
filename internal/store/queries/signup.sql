-- New organizations and sign-up links (signup.go): an operator's
-- `rampart org create`, or a confirmed sign-up link (open or
-- operator-invited sign-up). All of it runs on the service path: a tenant
-- has no INSERT privilege on organizations.

-- name: SlugsLike
SELECT slug FROM organizations WHERE slug = $1 OR slug LIKE $1 || '-%'

-- name: ListOrganizations
SELECT ${organization_columns},
  (SELECT count(*) FROM memberships m WHERE m.organization_id = o.id)
FROM organizations o ORDER BY o.created_at, o.slug

-- name: LockSignupAddress
-- Serialises the requests of one address (a transaction-scoped advisory
-- lock), so concurrent requests cannot all pass the limit. It is its own
-- statement: under READ COMMITTED the count that follows then sees what
-- the previous holder committed.
SELECT pg_advisory_xact_lock(hashtextextended('rampart.signup:' || $1, 0))

-- name: CountLiveSignups
SELECT count(*) FROM signups WHERE email = $1 AND used_at IS NULL AND expires_at > now()

-- name: InsertSignup
INSERT INTO signups (email, organization_name, token_hash, invited_by, expires_at)
VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING id

-- name: SignupByHash
SELECT id, email, organization_name, invited_by, used_at IS NOT NULL, expires_at <= now()
FROM signups WHERE token_hash = $1 FOR UPDATE

-- name: ConsumeSignup
UPDATE signups SET used_at = now(), created_org = $2
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
