-- Fair scheduling between organizations (issue 12, decision 0011): a
-- generation request is queued at a River priority chosen from how many
-- of its organization's jobs are already unfinished, so one organization's
-- backlog does not queue ahead of another organization's first job. The
-- count must see every job of the organization, whatever the requester's
-- venue scope (row-level security would hide a venue manager's colleagues'
-- jobs), so it is a narrow SECURITY DEFINER function answering one number
-- for the caller's own organization, like ai_org_running_jobs (008). It
-- counts at most p_cap jobs: a flood costs the same as a small backlog.
CREATE INDEX ai_jobs_unfinished_idx ON ai_jobs (organization_id) WHERE status IN ('queued', 'running', 'retrying');

CREATE FUNCTION ai_org_unfinished_jobs(p_cap integer)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT count(*)::integer FROM (
    SELECT 1 FROM public.ai_jobs j
     WHERE j.organization_id = public.current_user_org_id() AND j.status IN ('queued', 'running', 'retrying')
     LIMIT greatest(p_cap, 0)) c
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION ai_org_unfinished_jobs(integer) OWNER TO rampart_service;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
REVOKE ALL ON FUNCTION ai_org_unfinished_jobs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ai_org_unfinished_jobs(integer) TO rampart_app;
