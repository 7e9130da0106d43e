-- Identity (DESIGN.md §4): sessions, magic-link invites and sign-in links,
-- API tokens, and the two narrow functions that turn a session or token id
-- into live claims on every request.
--
-- Claims are never stored in a cookie or token: they are derived per
-- request from the session (or token) row joined to the live membership,
-- so a removed member, a changed role or a revoked session or token takes
-- effect on the very next request.

-- Only admins change memberships (the handler checks too; this is the
-- database's word).
ALTER POLICY memberships_tenant_update ON memberships
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
ALTER POLICY memberships_tenant_delete ON memberships
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');

-- Sessions belong to a user, not to a tenant: one session has one active
-- organization and may switch to another organization of the same user.
CREATE TABLE sessions (
  id                     uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id                uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  active_organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  created_at             timestamptz NOT NULL DEFAULT now(),
  expires_at             timestamptz NOT NULL,
  revoked_at             timestamptz,
  revoked_reason         text        NOT NULL DEFAULT '' CHECK (length(revoked_reason) <= 200),
  ip                     inet,
  user_agent             text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 1000),
  CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
-- A user sees and revokes their own sessions; an admin also those of the
-- members of the admin's organization, but only the sessions active in that
-- organization: a user who belongs to several organizations keeps the
-- sessions of the others out of this admin's sight and reach.
CREATE POLICY sessions_owner_or_admin_select ON sessions FOR SELECT TO rampart_app
  USING (user_id = (SELECT current_user_id())
         OR ((SELECT current_user_role()) = 'admin'
             AND sessions.active_organization_id = (SELECT current_user_org_id())
             AND EXISTS (SELECT 1 FROM memberships m
                         WHERE m.user_id = sessions.user_id
                           AND m.organization_id = (SELECT current_user_org_id()))));
CREATE POLICY sessions_owner_or_admin_update ON sessions FOR UPDATE TO rampart_app
  USING (user_id = (SELECT current_user_id())
         OR ((SELECT current_user_role()) = 'admin'
             AND sessions.active_organization_id = (SELECT current_user_org_id())
             AND EXISTS (SELECT 1 FROM memberships m
                         WHERE m.user_id = sessions.user_id
                           AND m.organization_id = (SELECT current_user_org_id()))))
  WITH CHECK (user_id = (SELECT current_user_id())
         OR ((SELECT current_user_role()) = 'admin'
             AND sessions.active_organization_id = (SELECT current_user_org_id())
             AND EXISTS (SELECT 1 FROM memberships m
                         WHERE m.user_id = sessions.user_id
                           AND m.organization_id = (SELECT current_user_org_id()))));
GRANT SELECT, UPDATE (revoked_at, revoked_reason) ON sessions TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO rampart_service;

-- Invites: magic links that bind an email, a role and venue codes to an
-- organization. Only the SHA-256 of the token is stored.
CREATE TABLE invites (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  email           text        NOT NULL CHECK (email = lower(email) AND length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  role            text        NOT NULL CHECK (role IN ('admin', 'executive_producer', 'producer',
                                'technical_director', 'venue_manager', 'stakeholder', 'viewer')),
  venue_codes     text[]      NOT NULL DEFAULT '{}' CHECK (role = 'venue_manager' OR venue_codes = '{}'),
  token_hash      bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  redeemed_at     timestamptz,
  redeemed_by     uuid        REFERENCES users (id) ON DELETE SET NULL,
  revoked_at      timestamptz,
  PRIMARY KEY (organization_id, id),
  CHECK (expires_at > created_at)
);
CREATE INDEX invites_org_email_idx ON invites (organization_id, email);
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE invites FORCE ROW LEVEL SECURITY;
CREATE POLICY invites_admin_select ON invites FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY invites_admin_insert ON invites FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY invites_admin_update ON invites FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, UPDATE ON invites TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON invites TO rampart_service;

-- Sign-in links for returning users (10 minutes, single use). Reached only
-- on the service path: the runtime role has no privilege on this table.
CREATE TABLE login_links (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  CHECK (expires_at > created_at)
);
CREATE INDEX login_links_user_idx ON login_links (user_id);
ALTER TABLE login_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_links FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_links TO rampart_service;

-- API tokens: JWTs issued by admins; the row is the source of truth for
-- role, venue codes, expiry and revocation.
CREATE TABLE api_tokens (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  name            text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  role            text        NOT NULL CHECK (role IN ('admin', 'executive_producer', 'producer',
                                'technical_director', 'venue_manager', 'stakeholder', 'viewer')),
  venue_codes     text[]      NOT NULL DEFAULT '{}' CHECK (role = 'venue_manager' OR venue_codes = '{}'),
  created_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  last_used_at    timestamptz,
  PRIMARY KEY (organization_id, id),
  UNIQUE (id),
  CHECK (expires_at > created_at)
);
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_admin_select ON api_tokens FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY api_tokens_admin_insert ON api_tokens FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY api_tokens_admin_update ON api_tokens FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, UPDATE ON api_tokens TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_tokens TO rampart_service;

-- The two narrow doors from a credential to claims. They run as
-- rampart_service (which bypasses RLS) but can only answer "which live
-- claims does this session/token carry, if any" and renew a session.
-- SECURITY DEFINER with a fixed search_path; executable by rampart_app only.
CREATE FUNCTION auth_resolve_session(p_session_id uuid)
RETURNS TABLE (user_id uuid, organization_id uuid, role text, venue_codes text[], expires_at timestamptz, renewed boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  lifetime constant interval := interval '12 hours';
  v_user    uuid;
  v_org     uuid;
  v_role    text;
  v_codes   text[];
  v_expires timestamptz;
BEGIN
  -- Resolve first, with the membership: a session whose user is no longer
  -- a member of its active organization resolves to nothing and is never
  -- renewed, so it cannot be kept alive until the membership comes back.
  SELECT s.user_id, s.active_organization_id, m.role, m.venue_codes, s.expires_at
    INTO v_user, v_org, v_role, v_codes, v_expires
    FROM sessions s
    JOIN memberships m ON m.user_id = s.user_id AND m.organization_id = s.active_organization_id
   WHERE s.id = p_session_id AND s.revoked_at IS NULL AND s.expires_at > now();
  IF NOT FOUND THEN
    RETURN;
  END IF;
  -- Then renew, when more than half of the lifetime has passed. The
  -- conditions are checked again: a revocation committed in between wins.
  IF v_expires - now() < lifetime / 2 THEN
    UPDATE sessions s SET expires_at = now() + lifetime
     WHERE s.id = p_session_id AND s.revoked_at IS NULL AND s.expires_at > now()
    RETURNING s.expires_at INTO v_expires;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    RETURN QUERY SELECT v_user, v_org, v_role, v_codes, v_expires, true;
    RETURN;
  END IF;
  RETURN QUERY SELECT v_user, v_org, v_role, v_codes, v_expires, false;
END
$$;

CREATE FUNCTION auth_resolve_token(p_token_id uuid, p_organization_id uuid)
RETURNS TABLE (organization_id uuid, role text, venue_codes text[], expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  UPDATE api_tokens t SET last_used_at = now()
   WHERE t.id = p_token_id AND t.organization_id = p_organization_id
     AND t.revoked_at IS NULL AND t.expires_at > now()
     AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
  RETURN QUERY
    SELECT t.organization_id, t.role, t.venue_codes, t.expires_at
      FROM api_tokens t
     WHERE t.id = p_token_id AND t.organization_id = p_organization_id
       AND t.revoked_at IS NULL AND t.expires_at > now();
END
$$;

-- The account a live magic link (an invite or a sign-in link, by the
-- SHA-256 of its token) would sign into, for the confirmation page. It
-- only reads: the link is not consumed, and the answer is the address
-- (the page masks it) or nothing for an unknown, used, revoked or expired
-- link.
CREATE FUNCTION auth_link_account(p_token_hash bytea)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT coalesce(
    (SELECT i.email FROM public.invites i
      WHERE i.token_hash = p_token_hash AND i.redeemed_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()),
    (SELECT u.email FROM public.login_links l JOIN public.users u ON u.id = l.user_id
      WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > now()))
$$;

-- The organizations the signed-in user (current_user_id() of the claims
-- set by store.InTenant) belongs to, for the organization switcher.
CREATE FUNCTION auth_user_organizations()
RETURNS TABLE (id uuid, name text, slug text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT o.id, o.name, o.slug, o.created_at
    FROM memberships m JOIN organizations o ON o.id = m.organization_id
   WHERE m.user_id = public.current_user_id()
   ORDER BY o.name
$$;

-- A new owner needs CREATE on the schema at the moment of the transfer only.
GRANT CREATE ON SCHEMA public TO rampart_service;
ALTER FUNCTION auth_resolve_session(uuid) OWNER TO rampart_service;
ALTER FUNCTION auth_user_organizations() OWNER TO rampart_service;
ALTER FUNCTION auth_link_account(bytea) OWNER TO rampart_service;
ALTER FUNCTION auth_resolve_token(uuid, uuid) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION auth_resolve_session(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_resolve_token(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_user_organizations() FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_link_account(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_organizations() TO rampart_app;
GRANT EXECUTE ON FUNCTION auth_resolve_session(uuid) TO rampart_app;
GRANT EXECUTE ON FUNCTION auth_resolve_token(uuid, uuid) TO rampart_app;
GRANT EXECUTE ON FUNCTION auth_link_account(bytea) TO rampart_app;
