-- A generation requested with an API token runs (issue 12: found by the
-- worker drill). The job records its requester as the token (a token is
-- its own principal), and ai_job_claims() knew only memberships, so the
-- worker failed every such job as "requester gone". A token requester now
-- resolves to the token's live claims, under the same conditions as
-- auth_resolve_token (not revoked, not expired, every token above it live,
-- its person still an admin in the stint that made it), without the
-- last-use update (this function is STABLE). person_id is the person
-- behind the claims: the member, or the token's creator. Revoking the
-- token, or demoting its person, stops its queued jobs like removing a
-- member stops theirs.
DROP FUNCTION ai_job_claims(uuid, uuid);
CREATE FUNCTION ai_job_claims(p_organization_id uuid, p_job_id uuid)
RETURNS TABLE (status text, user_id uuid, role text, venue_codes text[], person_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT j.status,
         coalesce(m.user_id, t.id),
         coalesce(m.role, t.role),
         CASE WHEN m.user_id IS NOT NULL THEN m.venue_codes ELSE t.venue_codes END,
         coalesce(m.user_id, t.created_by)
    FROM public.ai_jobs j
    LEFT JOIN public.memberships m ON m.organization_id = j.organization_id AND m.user_id = j.requested_by
                                  AND j.status IN ('queued', 'running', 'retrying')
    LEFT JOIN public.api_tokens t ON m.user_id IS NULL AND t.organization_id = j.organization_id AND t.id = j.requested_by
                                 AND j.status IN ('queued', 'running', 'retrying')
                                 AND t.revoked_at IS NULL AND t.expires_at > now()
                                 AND EXISTS (SELECT 1 FROM public.memberships a
                                              WHERE a.organization_id = t.organization_id AND a.user_id = t.created_by
                                                AND a.role = 'admin' AND a.admin_since <= t.created_at)
                                 AND public.api_token_chain_live(t.id)
   WHERE j.organization_id = p_organization_id AND j.id = p_job_id
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION ai_job_claims(uuid, uuid) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION ai_job_claims(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ai_job_claims(uuid, uuid) TO rampart_app;
