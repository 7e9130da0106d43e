-- Per-organization branding (issue #17): a JSON override of the console's
-- look (display name, colours, logo) on the tenant root. The row already
-- has forced row-level security and its policies (001): members read and
-- update their own organization only. The use case (internal/branding)
-- validates the fields; the CHECK bounds what any writer can store.
ALTER TABLE organizations
  ADD COLUMN branding jsonb NOT NULL DEFAULT '{}'::jsonb
  CONSTRAINT organizations_branding_shape CHECK (jsonb_typeof(branding) = 'object' AND pg_column_size(branding) <= 98304);


-- The public sign-in view (GET /o/{slug}): an organization's public name
-- (its branding's display name, else its name) and logo by its slug, and
-- nothing else, for a visitor who is not signed in. Narrow SECURITY
-- DEFINER function in the pattern of auth_link_account (003): owned by
-- rampart_service, fixed search_path, executable by rampart_app only.
CREATE FUNCTION public_org_branding(p_slug text)
RETURNS TABLE (name text, logo_type text, logo text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT coalesce(nullif(o.branding->>'display_name', ''), o.name), o.branding->>'logo_type', o.branding->>'logo'
    FROM public.organizations o
   WHERE o.slug = p_slug
$$;

GRANT CREATE ON SCHEMA public TO rampart_service;
ALTER FUNCTION public_org_branding(text) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION public_org_branding(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public_org_branding(text) TO rampart_app;
