-- The catalog queries of rls-audit (catalog.go). They run as rampart_app
-- inside readOnly, so the login is session_user (current_user is
-- rampart_app) and the runtime's privileges are asked for both
-- explicitly: $1 is always the app role. None reads a tenant table, so
-- none depends on tenant context; the behavioural probe (probeTables) is
-- what reads tenant tables, inside the savepoint statements at the end.

-- fragment: user_schema
-- Keeps the system schemas (and other sessions' temporary and TOAST
-- schemas) out of the audit; n is the pg_namespace of the object.
n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'

-- name: CatalogSession
SELECT current_database()::text, session_user::text

-- name: CatalogRoles
-- The login and every role it is a member of, directly or transitively
-- (pg_auth_members, not pg_has_role, so a superuser login is not reported
-- as a member of every role), each with the roles granted directly to the
-- login through which it holds it.
WITH RECURSIVE member_of(oid, via) AS (
  SELECT m.roleid, m.roleid FROM pg_catalog.pg_auth_members m
  JOIN pg_catalog.pg_roles l ON l.oid = m.member
  WHERE l.rolname = session_user
  UNION
  SELECT m.roleid, mo.via FROM pg_catalog.pg_auth_members m JOIN member_of mo ON m.member = mo.oid
)
SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolreplication,
  pg_catalog.pg_has_role(session_user, r.oid, 'USAGE'),
  (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
  + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.proowner = r.oid)
  + (SELECT count(*) FROM pg_catalog.pg_namespace s WHERE s.nspowner = r.oid),
  (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
  + (SELECT count(*) FROM pg_catalog.pg_namespace s WHERE s.nspowner = r.oid),
  EXISTS (SELECT FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database() AND d.datdba = r.oid),
  ARRAY(SELECT DISTINCT pg_catalog.pg_get_userbyid(mo.via)::text FROM member_of mo WHERE mo.oid = r.oid ORDER BY 1)
FROM pg_catalog.pg_roles r
WHERE r.rolname = session_user OR r.oid IN (SELECT oid FROM member_of)
ORDER BY r.rolname = session_user DESC, r.rolname

-- name: CatalogRuntimeRoles
-- The roles whose privileges the login or the app role ($1) hold without
-- SET ROLE: the roles a policy may name to apply to the runtime.
SELECT r.rolname::text FROM pg_catalog.pg_roles r
WHERE pg_catalog.pg_has_role(session_user, r.oid, 'USAGE') OR pg_catalog.pg_has_role($1::name, r.oid, 'USAGE')
ORDER BY 1

-- name: CatalogTables
-- One row per ordinary or partitioned table. The privileges are the union
-- of the login's and the app role's ($1); has_any_column_privilege counts
-- table- and column-level grants.
SELECT c.oid, n.nspname::text, c.relname::text,
  a.attnum IS NOT NULL, coalesce(a.attnotnull, false),
  c.relrowsecurity, c.relforcerowsecurity,
  pg_catalog.has_any_column_privilege(session_user, c.oid, 'SELECT') OR pg_catalog.has_any_column_privilege($1::name, c.oid, 'SELECT'),
  pg_catalog.has_any_column_privilege(session_user, c.oid, 'INSERT') OR pg_catalog.has_any_column_privilege($1::name, c.oid, 'INSERT'),
  pg_catalog.has_any_column_privilege(session_user, c.oid, 'UPDATE') OR pg_catalog.has_any_column_privilege($1::name, c.oid, 'UPDATE'),
  pg_catalog.has_table_privilege(session_user, c.oid, 'DELETE') OR pg_catalog.has_table_privilege($1::name, c.oid, 'DELETE'),
  pg_catalog.has_table_privilege(session_user, c.oid, 'TRUNCATE') OR pg_catalog.has_table_privilege($1::name, c.oid, 'TRUNCATE'),
  ARRAY(SELECT e.privilege_type FROM pg_catalog.aclexplode(c.relacl) e WHERE e.grantee = 0
        UNION
        SELECT e.privilege_type FROM pg_catalog.pg_attribute ca, pg_catalog.aclexplode(ca.attacl) e
        WHERE ca.attrelid = c.oid AND e.grantee = 0
        ORDER BY 1),
  ARRAY(SELECT DISTINCT ia.attname::text FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute ia ON ia.attrelid = i.indrelid AND ia.attnum = i.indkey[0]
        WHERE i.indrelid = c.oid AND i.indisvalid
        ORDER BY 1)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id' AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND ${user_schema}
ORDER BY n.nspname, c.relname

-- name: CatalogPolicies
-- Every policy on the tables of CatalogTables.
SELECT pol.polrelid, pol.polname::text, pol.polcmd::text, pol.polpermissive,
  ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r.oid)::text END
        FROM pg_catalog.unnest(pol.polroles) AS r(oid) ORDER BY 1),
  coalesce(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), ''),
  coalesce(pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid), '')
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${user_schema}
ORDER BY pol.polrelid, pol.polname

-- name: CatalogFunctions
-- The SECURITY DEFINER functions, whether they pin search_path (proconfig
-- holds "search_path=…") and its value.
SELECT n.nspname::text, p.proname::text,
  pg_catalog.pg_get_function_identity_arguments(p.oid), pg_catalog.pg_get_userbyid(p.proowner)::text,
  EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) AS s(setting) WHERE s.setting LIKE 'search\_path=%'),
  coalesce((SELECT pg_catalog.substr(s.setting, 13) FROM pg_catalog.unnest(p.proconfig) AS s(setting)
            WHERE s.setting LIKE 'search\_path=%' LIMIT 1), '')
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND ${user_schema}
ORDER BY 1, 2, 3

-- name: CatalogViews
-- Views and materialized views, their security_invoker option, whether the
-- runtime may read them, and the relations their rewrite rule depends on.
SELECT n.nspname::text, v.relname::text, v.relkind = 'm',
  coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(v.reloptions) o
            WHERE o.option_name = 'security_invoker'), false),
  pg_catalog.has_table_privilege(session_user, v.oid, 'SELECT') OR pg_catalog.has_table_privilege($1::name, v.oid, 'SELECT'),
  ARRAY(SELECT DISTINCT ARRAY[tn.nspname::text, t.relname::text]
        FROM pg_catalog.pg_rewrite rw
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
             AND d.refclassid = 'pg_catalog.pg_class'::regclass
        JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
        JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
        WHERE rw.ev_class = v.oid AND t.oid <> v.oid
        ORDER BY 1)
FROM pg_catalog.pg_class v
JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
WHERE v.relkind IN ('v', 'm') AND ${user_schema}
ORDER BY 1, 2

-- name: ProbeSavepoint
-- The behavioural probe counts each table's rows inside a savepoint: a
-- table the runtime cannot read (or whose policy fails) is rolled back to
-- it and recorded as skipped. Its claims are set with SetClaims (tx.sql).
SAVEPOINT rampart_rls_probe

-- name: ProbeRollback
ROLLBACK TO SAVEPOINT rampart_rls_probe

-- name: ProbeRelease
RELEASE SAVEPOINT rampart_rls_probe
