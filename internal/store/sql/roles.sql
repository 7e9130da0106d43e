-- Roles of DESIGN.md §3. Roles are cluster-wide, so this runs idempotently
-- before the numbered migrations of every database (a second database on a
-- cluster that already has the roles must migrate too).
--
--   rampart_owner   owns the schema and runs migrations; never a runtime role.
--   rampart_app     DML grants only; the runtime login SETs this role in every
--                   transaction. NOSUPERUSER, NOBYPASSRLS, owns nothing.
--   rampart_service system tasks (retention, platform kill switch, seeding);
--                   BYPASSRLS, reachable only by an explicit SET ROLE inside
--                   store.AsService, which writes an audit event each time.
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_owner') THEN
    CREATE ROLE rampart_owner NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_app') THEN
    CREATE ROLE rampart_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_service') THEN
    CREATE ROLE rampart_service NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- Runs only audit_purge() (SECURITY DEFINER): the one role the audit
  -- log's append-only triggers let delete events.
  -- The job queue's machinery (River): fetching, completing and rescuing
  -- jobs of every tenant. It can touch only the tables of schema river,
  -- holds no BYPASSRLS, and is reached only from the service login (SET
  -- ROLE in the queue pool), never from the runtime login.
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_queue') THEN
    CREATE ROLE rampart_queue NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_audit_purger') THEN
    CREATE ROLE rampart_audit_purger NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  -- Runs only audit_erase() (SECURITY DEFINER, migration 021): the one
  -- role the append-only triggers let blank an event's personal fields.
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rampart_audit_eraser') THEN
    CREATE ROLE rampart_audit_eraser NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$roles$;

-- The schema: only the owner creates objects; the runtime roles only use them.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO rampart_owner WITH GRANT OPTION;
GRANT USAGE ON SCHEMA public TO rampart_app, rampart_service;

-- The owner hands SECURITY DEFINER functions to rampart_service (migration
-- 003) and rampart_audit_purger (migration 004), which needs membership.
GRANT rampart_service TO rampart_owner;
GRANT rampart_queue TO rampart_service;

-- River's tables live in their own schema, created by the owner's River
-- migration (store.Migrate); the grants and policies on them are in
-- migration 005.
CREATE SCHEMA IF NOT EXISTS river AUTHORIZATION rampart_owner;
REVOKE ALL ON SCHEMA river FROM PUBLIC;
GRANT rampart_audit_purger TO rampart_owner;
GRANT rampart_audit_eraser TO rampart_owner;

-- No temporary objects for anyone by default: a temporary table or function
-- could shadow a name in a search path.
DO $temp$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$temp$;
