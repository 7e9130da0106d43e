-- Identity (identity.go): resolving a credential to live claims, invite
-- redemption, sign-in links, sessions and accounts. These run on the
-- service path (rampart_service) or through SECURITY DEFINER functions of
-- migration 003; the caller is not yet in a tenant context.

-- fragment: user_columns
id, email, display_name, created_at

-- name: ResolveSession
-- The lateral set_config makes the resolved organization the batch's
-- tenant context, so ResolvedOrgFeatures, next in the same batch, reads
-- that organization's feature flags through row-level security without
-- another round trip (no row resolved: no context, and it reads nothing).
SELECT s.user_id, s.organization_id, s.role, s.venue_codes, s.expires_at, s.renewed
  FROM auth_resolve_session($1) s
 CROSS JOIN LATERAL pg_catalog.set_config('request.jwt.claims', json_build_object('organization_id', s.organization_id)::text, true) c

-- name: ResolveToken
SELECT t.organization_id, t.role, t.venue_codes, t.expires_at, t.created_by
  FROM auth_resolve_token($1, $2) t
 CROSS JOIN LATERAL pg_catalog.set_config('request.jwt.claims', json_build_object('organization_id', t.organization_id)::text, true) c

-- name: ResolvedOrgFeatures
-- The feature flags of the organization ResolveSession or ResolveToken
-- just resolved (migration 024; no row: the defaults), always one row,
-- led by the tenant context the read ran under: the caller trusts the
-- flags only when that context is the resolved organization (a context
-- not set, or another, fails closed instead of reading as the defaults).
SELECT c.org, f.ai, f.chat, f.reason, f.updated_at
  FROM (SELECT current_user_org_id() AS org) c
  LEFT JOIN organization_features f ON f.organization_id = c.org

-- name: InviteByHash
SELECT organization_id, id, email, role, venue_codes, expires_at, redeemed_at, revoked_at, created_by, created_by_token
FROM invites WHERE token_hash = $1 FOR UPDATE

-- name: InviterHoldsRights
-- Share-locks the inviter's admin membership (a concurrent demotion or
-- removal waits for this redemption, and one committed first makes it
-- find nothing), requires that the inviter's current stint as admin began
-- before the invite was granted (made or resent; a demoted and re-promoted
-- inviter does not revive it), and that the token that made the invite, if
-- any, and every token above it are live.
SELECT 1 FROM invites i
JOIN memberships m ON m.organization_id = i.organization_id AND m.user_id = i.created_by
                  AND m.role = 'admin' AND m.admin_since <= i.granted_at
WHERE i.organization_id = $1 AND i.id = $2
  AND (i.created_by_token IS NULL
       OR (api_token_chain_live(i.created_by_token)
           AND EXISTS (SELECT 1 FROM api_tokens t WHERE t.id = i.created_by_token AND t.created_by = i.created_by)))
FOR SHARE OF m

-- name: ConsumeInvite
UPDATE invites SET redeemed_at = now(), redeemed_by = $2
WHERE token_hash = $1 AND redeemed_at IS NULL AND revoked_at IS NULL AND expires_at > now()

-- name: UserByID
SELECT ${user_columns} FROM users WHERE id = $1

-- name: UserByEmail
SELECT ${user_columns} FROM users WHERE email = $1

-- name: InsertUser
INSERT INTO users (email) VALUES ($1) RETURNING ${user_columns}

-- name: InsertInviteMember
-- An invite never changes an existing membership: a role change is
-- UpdateMembership's job (with its last-admin guard and audit).
INSERT INTO memberships (${membership_columns}) VALUES ($1, $2, $3, $4)
ON CONFLICT (organization_id, user_id) DO NOTHING

-- name: InsertSession
INSERT INTO sessions (user_id, active_organization_id, expires_at, ip, user_agent)
VALUES ($1, $2, now() + $3::interval, $4, $5)
RETURNING id, user_id, active_organization_id, created_at, expires_at

-- name: LoginCandidate
SELECT u.id FROM users u
WHERE u.email = $1 AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id)

-- name: InsertLoginLink
INSERT INTO login_links (user_id, token_hash, expires_at) VALUES ($1, $2, now() + $3::interval)

-- name: LoginLinkByHash
SELECT user_id, used_at IS NOT NULL, expires_at <= now() FROM login_links WHERE token_hash = $1 FOR UPDATE

-- name: ConsumeLogin
UPDATE login_links SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()

-- name: PickActiveOrg
SELECT m.organization_id FROM memberships m
LEFT JOIN LATERAL (SELECT max(s.created_at) AS last FROM sessions s
                   WHERE s.user_id = m.user_id AND s.active_organization_id = m.organization_id) s ON true
WHERE m.user_id = $1 ORDER BY s.last DESC NULLS LAST, m.created_at LIMIT 1

-- name: LinkAccount
SELECT auth_link_account($1)

-- name: SwitchOrg
UPDATE sessions SET active_organization_id = $3
WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
  AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = $2 AND m.organization_id = $3)

-- name: RevokeSession
UPDATE sessions SET revoked_at = now(), revoked_reason = $2
WHERE id = $1 AND revoked_at IS NULL

-- name: RevokeUserSessions
UPDATE sessions SET revoked_at = now(), revoked_reason = $2
WHERE user_id = $1 AND revoked_at IS NULL

-- name: ListSessions
SELECT id, user_id, active_organization_id, created_at, expires_at, revoked_at, coalesce(host(ip), ''), user_agent
FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC

-- name: UserOrganizations
SELECT ${organization_columns} FROM auth_user_organizations()

-- name: PublicBranding
SELECT name, logo_type, logo FROM public_org_branding($1)
