-- The per-organization limit on AI jobs running at once holds across
-- processes (issue 11): a worker starts an attempt only while fewer than
-- the limit of the organization's other jobs are running. The count must
-- see every job of the organization, whatever the requester's venue scope
-- (row-level security would hide a venue manager's colleagues' jobs), so
-- it is a narrow SECURITY DEFINER function answering one number for the
-- caller's own organization.
CREATE FUNCTION ai_org_running_jobs(p_except uuid)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT count(*)::integer FROM public.ai_jobs j
   WHERE j.organization_id = public.current_user_org_id() AND j.status = 'running' AND j.id <> p_except
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION ai_org_running_jobs(uuid) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION ai_org_running_jobs(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ai_org_running_jobs(uuid) TO rampart_app;
