-- Hardening after the outside review (issue 10) and the first-run gaps.
--
-- 1. Every API token traces to the person behind it. created_by is now
--    always that person: the admin who issued it from a session, or, for a
--    token minted by a token, the minting token's person (it used to be
--    NULL then). parent_token_id records the minting token. A token
--    resolves only while its person is an admin of the token's
--    organization, so losing those rights ends the whole chain on the very
--    next request, whatever the path; the store also revokes the chain's
--    rows (audited).
-- 2. Invites trace to their inviter the same way (created_by is the person,
--    created_by_token the token that made it, if any); redemption re-checks
--    that the inviter is still an admin and the token still live.
-- 3. Self-service sign-up links (service path only, like login_links).

ALTER TABLE api_tokens
  ADD COLUMN parent_token_id uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
  ADD COLUMN revoked_reason  text NOT NULL DEFAULT '' CHECK (length(revoked_reason) <= 200),
  ADD CONSTRAINT api_tokens_not_own_parent CHECK (parent_token_id IS DISTINCT FROM id);
-- Data fixes run as rampart_service: row-level security is forced, so the
-- owner (NOBYPASSRLS) would see no rows and silently change nothing.
-- Tokens minted by tokens before this migration recorded nobody (created_by
-- NULL): nothing ties them to a person, so they stop working.
SET LOCAL ROLE rampart_service;
UPDATE api_tokens SET revoked_at = now(), revoked_reason = 'untraceable: minted by a token before creators were recorded'
 WHERE created_by IS NULL AND revoked_at IS NULL;
SET LOCAL ROLE rampart_owner;
CREATE INDEX api_tokens_org_creator_idx ON api_tokens (organization_id, created_by) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_parent_idx ON api_tokens (parent_token_id) WHERE parent_token_id IS NOT NULL;

ALTER TABLE invites
  ADD COLUMN created_by_token uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
  ADD COLUMN revoked_reason   text NOT NULL DEFAULT '' CHECK (length(revoked_reason) <= 200),
  -- When the invite was last granted (made or resent): it redeems only
  -- while its inviter has been an admin since then.
  ADD COLUMN granted_at       timestamptz NOT NULL DEFAULT now();
SET LOCAL ROLE rampart_service;
UPDATE invites SET granted_at = created_at;
SET LOCAL ROLE rampart_owner;
SET LOCAL ROLE rampart_service;
UPDATE invites SET revoked_at = now(), revoked_reason = 'untraceable: made by a token before inviters were recorded'
 WHERE created_by IS NULL AND redeemed_at IS NULL AND revoked_at IS NULL;
SET LOCAL ROLE rampart_owner;
CREATE INDEX invites_org_creator_idx ON invites (organization_id, created_by) WHERE redeemed_at IS NULL AND revoked_at IS NULL;

-- When the member's current stint as admin began. A grant (token or
-- invite) made before it was made in an earlier stint: demoting and
-- re-promoting an admin, by any path, SQL included, does not revive what
-- they had granted.
ALTER TABLE memberships ADD COLUMN admin_since timestamptz;
SET LOCAL ROLE rampart_service;
UPDATE memberships SET admin_since = '-infinity' WHERE role = 'admin';
SET LOCAL ROLE rampart_owner;
ALTER TABLE memberships ADD CONSTRAINT memberships_admin_since CHECK ((role = 'admin') = (admin_since IS NOT NULL));
CREATE FUNCTION memberships_track_admin_since() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NEW.role <> 'admin' THEN
    NEW.admin_since := NULL;
  ELSIF TG_OP = 'INSERT' OR OLD.role <> 'admin' THEN
    NEW.admin_since := now();
  ELSE
    NEW.admin_since := OLD.admin_since;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER memberships_admin_since BEFORE INSERT OR UPDATE ON memberships
  FOR EACH ROW EXECUTE FUNCTION memberships_track_admin_since();

-- Whether an API token and every token above it (the one that minted it,
-- and so on; at most 16 levels) are live: revoking a token ends all that
-- was minted from it, even a child whose mint committed while the
-- revocation ran.
CREATE FUNCTION api_token_chain_live(p_token_id uuid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH RECURSIVE up(id, parent, live, depth) AS (
    SELECT t.id, t.parent_token_id, t.revoked_at IS NULL AND t.expires_at > now(), 1
      FROM public.api_tokens t WHERE t.id = p_token_id
    UNION ALL
    SELECT t.id, t.parent_token_id, t.revoked_at IS NULL AND t.expires_at > now(), up.depth + 1
      FROM public.api_tokens t JOIN up ON t.id = up.parent
     WHERE up.depth < 17
  )
  SELECT count(*) > 0 AND bool_and(live) AND max(depth) <= 16 FROM up
$$;
REVOKE ALL ON FUNCTION api_token_chain_live(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_token_chain_live(uuid) TO rampart_service;

-- A token's claims: its row, only while it and every token above it are
-- live, and only while its person is an admin of the organization (the
-- only role that may issue tokens) in the stint in which it was made.
DROP FUNCTION auth_resolve_token(uuid, uuid);
CREATE FUNCTION auth_resolve_token(p_token_id uuid, p_organization_id uuid)
RETURNS TABLE (organization_id uuid, role text, venue_codes text[], expires_at timestamptz, created_by uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  UPDATE api_tokens t SET last_used_at = now()
   WHERE t.id = p_token_id AND t.organization_id = p_organization_id
     AND t.revoked_at IS NULL AND t.expires_at > now()
     AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
     AND EXISTS (SELECT 1 FROM memberships m
                  WHERE m.organization_id = t.organization_id AND m.user_id = t.created_by AND m.role = 'admin'
                    AND m.admin_since <= t.created_at)
     AND api_token_chain_live(t.id);
  RETURN QUERY
    SELECT t.organization_id, t.role, t.venue_codes, t.expires_at, t.created_by
      FROM api_tokens t
      JOIN memberships m ON m.organization_id = t.organization_id AND m.user_id = t.created_by AND m.role = 'admin'
                        AND m.admin_since <= t.created_at
     WHERE t.id = p_token_id AND t.organization_id = p_organization_id
       AND t.revoked_at IS NULL AND t.expires_at > now()
       AND api_token_chain_live(t.id);
END
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION auth_resolve_token(uuid, uuid) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION auth_resolve_token(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_resolve_token(uuid, uuid) TO rampart_app;

-- Sign-up links: a person asks for a new organization (open sign-up) or an
-- operator invites them to create one (invite-only sign-up; invited_by
-- names the operator). Confirming the link creates the organization with
-- the person as its admin. Only the SHA-256 of the token is stored; the
-- runtime role has no privilege here (service path only).
CREATE TABLE signups (
  id                uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  email             text        NOT NULL CHECK (email = lower(email) AND length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  organization_name text        NOT NULL CHECK (length(btrim(organization_name)) BETWEEN 1 AND 200),
  token_hash        bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  invited_by        text        NOT NULL DEFAULT '' CHECK (length(invited_by) <= 200),
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  used_at           timestamptz,
  created_org       uuid        REFERENCES organizations (id) ON DELETE SET NULL,
  CHECK (expires_at > created_at)
);
CREATE INDEX signups_email_idx ON signups (email);
ALTER TABLE signups ENABLE ROW LEVEL SECURITY;
ALTER TABLE signups FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON signups TO rampart_service;

-- The confirmation page also shows which address a live sign-up link is for.
CREATE OR REPLACE FUNCTION auth_link_account(p_token_hash bytea)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT coalesce(
    (SELECT i.email FROM public.invites i
      WHERE i.token_hash = p_token_hash AND i.redeemed_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()),
    (SELECT u.email FROM public.login_links l JOIN public.users u ON u.id = l.user_id
      WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > now()),
    (SELECT s.email FROM public.signups s
      WHERE s.token_hash = p_token_hash AND s.used_at IS NULL AND s.expires_at > now()))
$$;
