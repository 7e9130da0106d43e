-- Organization administration in the tenant context: invites, members and
-- API tokens (admin.go). Row-level security restricts every statement here
-- to admins of the tenant's organization; handlers check the role first.
-- Every statement also filters by organization_id (index use, defence in
-- depth).

-- fragment: invite_columns
organization_id, id, email, role, venue_codes, created_by, created_by_token, created_at, expires_at, redeemed_at, revoked_at, revoked_reason

-- fragment: token_columns
organization_id, id, name, role, venue_codes, created_by, parent_token_id, created_at, expires_at, revoked_at, revoked_reason, last_used_at

-- name: CreateInvite
INSERT INTO invites (organization_id, email, role, venue_codes, token_hash, created_by, created_by_token, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::interval) RETURNING ${invite_columns}

-- name: ListInvites
SELECT ${invite_columns} FROM invites WHERE organization_id = $1 ORDER BY created_at DESC

-- name: PendingInviteGrant
SELECT role, venue_codes FROM invites
WHERE organization_id = $1 AND id = $2 AND redeemed_at IS NULL AND revoked_at IS NULL FOR UPDATE

-- name: ResendInvite
-- A resend is a new grant by whoever resends: the invite now lives on
-- their rights (created_by, created_by_token, granted_at).
UPDATE invites SET token_hash = $3, expires_at = greatest(now() + $4::interval, created_at + interval '1 second'),
  created_by = $5, created_by_token = $6, granted_at = now()
WHERE organization_id = $1 AND id = $2 AND redeemed_at IS NULL AND revoked_at IS NULL RETURNING ${invite_columns}

-- name: RevokeInvite
UPDATE invites SET revoked_at = now(), revoked_reason = 'revoked by an admin'
WHERE organization_id = $1 AND id = $2 AND redeemed_at IS NULL AND revoked_at IS NULL RETURNING ${invite_columns}

-- name: GetMembership
SELECT ${membership_columns} FROM memberships WHERE organization_id = $1 AND user_id = $2

-- name: UpdateMembership
UPDATE memberships SET role = $3, venue_codes = $4, updated_at = now()
WHERE organization_id = $1 AND user_id = $2

-- name: RemoveMembership
DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2

-- name: LockAdmins
-- Locks the organization's admin memberships, in a fixed order (no
-- deadlock between two callers). A concurrent demotion or removal waits
-- here for the first to commit and then sees its result: under READ
-- COMMITTED a row locked after waiting is re-checked, so an admin demoted
-- meanwhile no longer counts.
SELECT user_id FROM memberships WHERE organization_id = $1 AND role = 'admin' ORDER BY user_id FOR UPDATE

-- name: RevokeMemberSessions
-- Ends a member's sessions that are active in this organization (sessions
-- active in another organization of the same user are that
-- organization's business).
UPDATE sessions SET revoked_at = now(), revoked_reason = $3
WHERE user_id = $2 AND active_organization_id = $1 AND revoked_at IS NULL

-- name: RevokeCreatedTokens
-- Revokes the live API tokens a person is behind in the organization: the
-- ones they issued and, since a minted token records the same person,
-- every token minted from those.
UPDATE api_tokens SET revoked_at = now(), revoked_reason = $3
WHERE organization_id = $1 AND created_by = $2 AND revoked_at IS NULL RETURNING ${token_columns}

-- name: RevokeCreatedInvites
-- Revokes the pending invites a person made (from a session or through a
-- token).
UPDATE invites SET revoked_at = now(), revoked_reason = $3
WHERE organization_id = $1 AND created_by = $2 AND redeemed_at IS NULL AND revoked_at IS NULL RETURNING ${invite_columns}

-- name: CreateToken
INSERT INTO api_tokens (organization_id, name, role, venue_codes, created_by, parent_token_id, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${token_columns}

-- name: ParentToken
-- Reads (and share-locks, so a concurrent revocation waits for this insert
-- and then reaches the child too) the live token that mints another.
SELECT expires_at FROM api_tokens
WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > now() FOR SHARE

-- name: TokenDepth
-- How many tokens the chain above a token holds, itself included
-- (counting stops past MaxTokenChain).
WITH RECURSIVE up(id, parent, depth) AS (
  SELECT id, parent_token_id, 1 FROM api_tokens WHERE organization_id = $1 AND id = $2
  UNION ALL
  SELECT t.id, t.parent_token_id, up.depth + 1 FROM api_tokens t JOIN up ON t.id = up.parent
  WHERE t.organization_id = $1 AND up.depth <= 8
)
SELECT coalesce(max(depth), 0) FROM up

-- name: LockTokenRoot
-- Waits for the mints in flight through the token (they hold it FOR
-- SHARE), so the chain revocation that follows, a new statement, sees what
-- they committed.
SELECT 1 FROM api_tokens WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: ListTokens
SELECT ${token_columns} FROM api_tokens WHERE organization_id = $1 ORDER BY created_at DESC

-- name: RevokeTokenChain
-- Revokes a token and every live token minted from it, at any depth: a
-- token's rights end with those of its minter. The chain's column is
-- token_id, not id, so that RETURNING names the token's columns
-- unqualified (${token_columns}).
WITH RECURSIVE chain(token_id) AS (
  SELECT id FROM api_tokens WHERE organization_id = $1 AND id = $2
  UNION
  SELECT t.id FROM api_tokens t JOIN chain c ON t.parent_token_id = c.token_id WHERE t.organization_id = $1
)
UPDATE api_tokens t SET revoked_at = now(), revoked_reason = CASE WHEN t.id = $2 THEN $3 ELSE $4 END
FROM chain WHERE t.id = chain.token_id AND t.organization_id = $1 AND t.revoked_at IS NULL
RETURNING ${token_columns}

-- name: RevokeTokenInvites
-- Revokes the pending invites made through the given (just revoked)
-- tokens.
UPDATE invites SET revoked_at = now(), revoked_reason = $3
WHERE organization_id = $1 AND created_by_token = ANY($2) AND redeemed_at IS NULL AND revoked_at IS NULL RETURNING ${invite_columns}

-- name: LockGrantor
-- Share-locks the grantor's admin membership for the rest of the
-- transaction: a concurrent demotion or removal waits for the grant to
-- commit (and then revokes it with the rest), and one that committed first
-- leaves nothing to lock, so the grant is refused.
SELECT 1 FROM memberships WHERE organization_id = $1 AND user_id = $2 AND role = 'admin' FOR SHARE
