-- Tenancy foundation (DESIGN.md §3): the claim-reading functions that every
-- row-level security policy uses, and the first tenant tables.
--
-- Rules every migration that adds tenant data follows, checked by
-- `rampart rls-audit` and the catalog-driven isolation test:
--   * organization_id NOT NULL, leading the primary key and an index;
--   * RLS ENABLED and FORCED, with a policy per granted verb, in this file;
--   * policies call the claim functions wrapped as (select f()) so they are
--     evaluated once per statement, not once per row.

GRANT SELECT ON rampart_schema_version TO rampart_app, rampart_service;

-- request.jwt.claims is set only with set_config(..., true) inside a
-- transaction by store.InTenant. Unset or empty means NULL: no row matches.
CREATE FUNCTION current_user_claims() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb $$;

CREATE FUNCTION current_user_org_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (public.current_user_claims() ->> 'organization_id')::uuid $$;

CREATE FUNCTION current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (public.current_user_claims() ->> 'sub')::uuid $$;

CREATE FUNCTION current_user_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT public.current_user_claims() ->> 'role' $$;

CREATE FUNCTION current_user_venue_codes() RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT coalesce(
    (SELECT pg_catalog.array_agg(v) FROM pg_catalog.jsonb_array_elements_text(
       coalesce(public.current_user_claims() -> 'venue_codes', '[]'::jsonb)) AS v),
    '{}'::text[])
$$;

-- Organizations: the tenant root; its id is every other table's organization_id.
-- Creating one is a platform action (store.AsService); members read and rename theirs.
CREATE TABLE organizations (
  id         uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  name       text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organizations_tenant_select ON organizations FOR SELECT TO rampart_app
  USING (id = (SELECT current_user_org_id()));
CREATE POLICY organizations_tenant_update ON organizations FOR UPDATE TO rampart_app
  USING (id = (SELECT current_user_org_id()))
  WITH CHECK (id = (SELECT current_user_org_id()));
GRANT SELECT, UPDATE ON organizations TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations TO rampart_service;

-- Users: one identity across organizations. A user row is visible to the
-- user and to members of an organization the user belongs to.
CREATE TABLE users (
  id           uuid        NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  email        text        NOT NULL CHECK (email = lower(email) AND length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  display_name text        NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Memberships: who belongs to which organization with which role.
CREATE TABLE memberships (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role            text        NOT NULL CHECK (role IN ('admin', 'executive_producer', 'producer',
                                'technical_director', 'venue_manager', 'stakeholder', 'viewer')),
  venue_codes     text[]      NOT NULL DEFAULT '{}'
                              CHECK (role = 'venue_manager' OR venue_codes = '{}'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant_select ON memberships FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
CREATE POLICY memberships_tenant_update ON memberships FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()))
  WITH CHECK (organization_id = (SELECT current_user_org_id()));
CREATE POLICY memberships_tenant_delete ON memberships FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()));
-- No INSERT for the runtime: a membership comes only from an invite
-- redeemed on the service path (otherwise a tenant could add any user id
-- to its organization and read that user's row), and user_id never changes.
GRANT SELECT, DELETE, UPDATE (role, venue_codes, updated_at) ON memberships TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO rampart_service;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_member_select ON users FOR SELECT TO rampart_app
  USING (id = (SELECT current_user_id())
         OR EXISTS (SELECT 1 FROM memberships m
                    WHERE m.user_id = users.id
                      AND m.organization_id = (SELECT current_user_org_id())));
CREATE POLICY users_self_update ON users FOR UPDATE TO rampart_app
  USING (id = (SELECT current_user_id()))
  WITH CHECK (id = (SELECT current_user_id()));
GRANT SELECT, UPDATE (display_name, updated_at) ON users TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO rampart_service;

-- Venues: venue managers see and change only the venues whose codes their
-- membership lists; every other known role sees all venues of its
-- organization; a missing or unknown role sees none (fail closed).
CREATE TABLE venues (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  code            text        NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  name            text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  city            text        NOT NULL DEFAULT '' CHECK (length(city) <= 200),
  capacity        integer     CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 1000000),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, code)
);
ALTER TABLE venues ENABLE ROW LEVEL SECURITY;
ALTER TABLE venues FORCE ROW LEVEL SECURITY;
CREATE POLICY venues_tenant_select ON venues FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY venues_tenant_insert ON venues FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY venues_tenant_update ON venues FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
                   OR ((SELECT current_user_role()) = 'venue_manager' AND code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY venues_tenant_delete ON venues FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer', 'technical_director', 'stakeholder', 'viewer')
              OR ((SELECT current_user_role()) = 'venue_manager' AND code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE, DELETE ON venues TO rampart_app, rampart_service;
