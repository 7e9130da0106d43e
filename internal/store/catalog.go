package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
)

// The catalog queries of Catalog. They run as rampart_app inside readOnly,
// so the login is session_user (current_user is rampart_app) and the
// runtime's privileges are asked for both explicitly: $1 is always the app
// role. None reads a tenant table, so none depends on tenant context; the
// behavioural probe (probeTables) is what reads tenant tables.

// userSchema keeps the system schemas (and other sessions' temporary and
// TOAST schemas) out of the audit; n is the pg_namespace of the object.
const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

const sqlCatalogSession = `SELECT current_database()::text, session_user::text`

// sqlCatalogRoles returns the login and every role it is a member of,
// directly or transitively (pg_auth_members, not pg_has_role, so a
// superuser login is not reported as a member of every role), each with
// the roles granted directly to the login through which it holds it.
const sqlCatalogRoles = `WITH RECURSIVE member_of(oid, via) AS (
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
ORDER BY r.rolname = session_user DESC, r.rolname`

// sqlCatalogRuntimeRoles returns the roles whose privileges the login or
// the app role ($1) hold without SET ROLE: the roles a policy may name to
// apply to the runtime.
const sqlCatalogRuntimeRoles = `SELECT r.rolname::text FROM pg_catalog.pg_roles r
WHERE pg_catalog.pg_has_role(session_user, r.oid, 'USAGE') OR pg_catalog.pg_has_role($1::name, r.oid, 'USAGE')
ORDER BY 1`

// sqlCatalogTables returns one row per ordinary or partitioned table. The
// privileges are the union of the login's and the app role's ($1);
// has_any_column_privilege counts table- and column-level grants.
const sqlCatalogTables = `SELECT c.oid, n.nspname::text, c.relname::text,
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
WHERE c.relkind IN ('r', 'p') AND ` + userSchema + `
ORDER BY n.nspname, c.relname`

// sqlCatalogPolicies returns every policy on the tables of sqlCatalogTables.
const sqlCatalogPolicies = `SELECT pol.polrelid, pol.polname::text, pol.polcmd::text, pol.polpermissive,
  ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r.oid)::text END
        FROM pg_catalog.unnest(pol.polroles) AS r(oid) ORDER BY 1),
  coalesce(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), ''),
  coalesce(pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid), '')
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ` + userSchema + `
ORDER BY pol.polrelid, pol.polname`

// sqlCatalogFunctions returns the SECURITY DEFINER functions, whether they
// pin search_path (proconfig holds "search_path=…") and its value.
const sqlCatalogFunctions = `SELECT n.nspname::text, p.proname::text,
  pg_catalog.pg_get_function_identity_arguments(p.oid), pg_catalog.pg_get_userbyid(p.proowner)::text,
  EXISTS (SELECT FROM pg_catalog.unnest(p.proconfig) AS s(setting) WHERE s.setting LIKE 'search\_path=%'),
  coalesce((SELECT pg_catalog.substr(s.setting, 13) FROM pg_catalog.unnest(p.proconfig) AS s(setting)
            WHERE s.setting LIKE 'search\_path=%' LIMIT 1), '')
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND ` + userSchema + `
ORDER BY 1, 2, 3`

// sqlCatalogViews returns views and materialized views, their
// security_invoker option, whether the runtime may read them, and the
// relations their rewrite rule depends on.
const sqlCatalogViews = `SELECT n.nspname::text, v.relname::text, v.relkind = 'm',
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
WHERE v.relkind IN ('v', 'm') AND ` + userSchema + `
ORDER BY 1, 2`

// Catalog reads the snapshot rls-audit evaluates: the runtime login's role
// facts, every table with its policies and the runtime's privileges,
// SECURITY DEFINER functions and views, and the behavioural probe of every
// rlsaudit.ProbeTarget table (probeTables). It runs in a read-only
// transaction as rampart_app, without tenant context except where a probe
// sets claims. It returns KindUnavailable when the login cannot switch to
// rampart_app (not a member) or the database cannot be read.
func (s *Store) Catalog(ctx context.Context) (rlsaudit.Snapshot, error) {
	const op = "store.Catalog"
	snap := rlsaudit.Snapshot{AppRole: AppRole}
	err := s.readOnly(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.queryRow(ctx, sqlCatalogSession).Scan(&snap.Database, &snap.Login); err != nil {
			return fmt.Errorf("read session: %w", err)
		}
		var err error
		if snap.Roles, err = catalogRoles(ctx, tx); err != nil {
			return err
		}
		if snap.RuntimeRoles, err = catalogRuntimeRoles(ctx, tx); err != nil {
			return err
		}
		if snap.Tables, err = catalogTables(ctx, tx); err != nil {
			return err
		}
		if err = probeTables(ctx, tx, snap.Tables); err != nil {
			return err
		}
		if snap.Functions, err = catalogFunctions(ctx, tx); err != nil {
			return err
		}
		snap.Views, err = catalogViews(ctx, tx)
		return err
	})
	switch {
	case err == nil:
		return snap, nil
	case rampart.ErrorKind(err) == rampart.KindInternal:
		return rlsaudit.Snapshot{}, rampart.Wrap(op, rampart.KindInternal, err)
	default:
		// readOnly's SET ROLE fails with insufficient_privilege, which
		// classify reports as "not found": say what it means here.
		return rlsaudit.Snapshot{}, &rampart.Error{Op: op, Kind: rampart.KindUnavailable,
			Message: "cannot read the catalog as " + AppRole + ": is the login a member of it and the database reachable?", Err: err}
	}
}

func catalogRoles(ctx context.Context, tx *txn) ([]rlsaudit.Role, error) {
	rows, err := tx.query(ctx, sqlCatalogRoles)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rlsaudit.Role, error) {
		var r rlsaudit.Role
		err := row.Scan(&r.Name, &r.Superuser, &r.BypassRLS, &r.CreateRole, &r.Replication, &r.Inherited,
			&r.OwnedObjects, &r.OwnedRelations, &r.OwnsDatabase, &r.GrantedVia)
		if len(r.GrantedVia) == 0 {
			r.GrantedVia = nil // the login itself
		}
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	return out, nil
}

func catalogRuntimeRoles(ctx context.Context, tx *txn) ([]string, error) {
	rows, err := tx.query(ctx, sqlCatalogRuntimeRoles, AppRole)
	if err != nil {
		return nil, fmt.Errorf("read runtime roles: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read runtime roles: %w", err)
	}
	return out, nil
}

func catalogTables(ctx context.Context, tx *txn) ([]rlsaudit.Table, error) {
	rows, err := tx.query(ctx, sqlCatalogTables, AppRole)
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	var oids []uint32
	tables, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rlsaudit.Table, error) {
		var t rlsaudit.Table
		var oid uint32
		p := &t.Runtime
		err := row.Scan(&oid, &t.Schema, &t.Name, &t.HasOrgColumn, &t.OrgNotNull, &t.RLSEnabled, &t.RLSForced,
			&p.Select, &p.Insert, &p.Update, &p.Delete, &p.Truncate, &t.PublicGrants, &t.IndexLeadingColumns)
		oids = append(oids, oid)
		t.Policies = []rlsaudit.Policy{}
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	byOID := make(map[uint32]*rlsaudit.Table, len(tables))
	for i := range tables {
		byOID[oids[i]] = &tables[i]
	}
	rows, err = tx.query(ctx, sqlCatalogPolicies)
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var rel uint32
		var p rlsaudit.Policy
		if err := row.Scan(&rel, &p.Name, &p.Command, &p.Permissive, &p.Roles, &p.Using, &p.WithCheck); err != nil {
			return struct{}{}, err
		}
		if t, ok := byOID[rel]; ok {
			t.Policies = append(t.Policies, p)
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	return tables, nil
}

func catalogFunctions(ctx context.Context, tx *txn) ([]rlsaudit.Function, error) {
	rows, err := tx.query(ctx, sqlCatalogFunctions)
	if err != nil {
		return nil, fmt.Errorf("read functions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rlsaudit.Function, error) {
		var f rlsaudit.Function
		err := row.Scan(&f.Schema, &f.Name, &f.Args, &f.Owner, &f.SearchPathSet, &f.SearchPath)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("read functions: %w", err)
	}
	return out, nil
}

func catalogViews(ctx context.Context, tx *txn) ([]rlsaudit.View, error) {
	rows, err := tx.query(ctx, sqlCatalogViews, AppRole)
	if err != nil {
		return nil, fmt.Errorf("read views: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rlsaudit.View, error) {
		var v rlsaudit.View
		var deps [][]string
		if err := row.Scan(&v.Schema, &v.Name, &v.Materialized, &v.SecurityInvoker, &v.RuntimeSelect, &deps); err != nil {
			return v, err
		}
		v.DependsOn = make([]rlsaudit.Ref, 0, len(deps))
		for _, d := range deps {
			if len(d) == 2 {
				v.DependsOn = append(v.DependsOn, rlsaudit.Ref{Schema: d[0], Name: d[1]})
			}
		}
		return v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read views: %w", err)
	}
	return out, nil
}

// The statements of the behavioural probe. The claims are set with
// set_config(…, true), so they last until the transaction ends at most;
// the probe resets them to the empty string when it is done.
const (
	sqlProbeSetClaims = "SELECT pg_catalog.set_config('request.jwt.claims', $1, true)"
	sqlProbeSavepoint = "SAVEPOINT rampart_rls_probe"
	sqlProbeRollback  = "ROLLBACK TO SAVEPOINT rampart_rls_probe"
	sqlProbeRelease   = "RELEASE SAVEPOINT rampart_rls_probe"
)

// probeTables runs the behavioural probe of rls-audit: for every table
// rlsaudit.ProbeTarget names, it counts the rows rampart_app sees under each
// of rlsaudit.Probes and records them in the table's Probes. A correct
// policy shows no row to any of them; a leaking one (`… OR true`,
// `current_user_org_id() IS NULL OR …`) shows the rows that exist, so the
// probe proves leaks on live data and sees nothing in an empty table.
//
// Each count runs inside a savepoint: a table the runtime cannot read (or
// whose policy fails) is recorded as skipped with the error, and the
// transaction goes on. The first probe runs before this transaction sets
// any claims.
func probeTables(ctx context.Context, tx *txn, tables []rlsaudit.Table) error {
	var targets []*rlsaudit.Table
	for i := range tables {
		if rlsaudit.ProbeTarget(tables[i]) {
			targets = append(targets, &tables[i])
		}
	}
	if len(targets) == 0 {
		return nil
	}
	org, user := uuid.New(), uuid.New()
	for _, probe := range rlsaudit.Probes {
		set, claims, err := probeClaims(probe, org, user)
		if err != nil {
			return err
		}
		if set {
			if _, err := tx.exec(ctx, sqlProbeSetClaims, claims); err != nil {
				return fmt.Errorf("probe %s: set claims: %w", probe, err)
			}
		}
		for _, t := range targets {
			res, err := probeCount(ctx, tx, t, probe)
			if err != nil {
				return err
			}
			t.Probes = append(t.Probes, res)
		}
	}
	if _, err := tx.exec(ctx, sqlProbeSetClaims, ""); err != nil {
		return fmt.Errorf("probe: reset claims: %w", err)
	}
	return nil
}

// probeClaims returns the request.jwt.claims of probe: whether to set
// them, and the value. org and user are random: no row belongs to them.
func probeClaims(probe string, org, user uuid.UUID) (set bool, claims string, err error) {
	c := map[string]any{"organization_id": org, "sub": user, "venue_codes": []string{}}
	switch probe {
	case rlsaudit.ProbeNoClaims:
		return false, "", nil
	case rlsaudit.ProbeEmptyClaims:
		return true, "", nil
	case rlsaudit.ProbeForeignAdmin:
		c["role"] = rampart.RoleAdmin
	case rlsaudit.ProbeForeignNoRole:
	default:
		return false, "", fmt.Errorf("probe %s: unknown probe", probe)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return false, "", fmt.Errorf("probe %s: encode claims: %w", probe, err)
	}
	return true, string(b), nil
}

// probeCount counts the rows of t visible under the current claims. A
// server error (permission denied, a failing policy) is rolled back to the
// savepoint and returned as the result's Skipped; any other error (the
// connection, the context) ends the probe.
func probeCount(ctx context.Context, tx *txn, t *rlsaudit.Table, probe string) (rlsaudit.ProbeResult, error) {
	res := rlsaudit.ProbeResult{Probe: probe}
	name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
	if _, err := tx.exec(ctx, sqlProbeSavepoint); err != nil {
		return res, fmt.Errorf("probe %s of %s: %w", probe, name, err)
	}
	err := tx.queryRow(ctx, "SELECT count(*) FROM "+name).Scan(&res.Rows)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		res.Rows, res.Skipped = 0, fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
		if _, err := tx.exec(ctx, sqlProbeRollback); err != nil {
			return res, fmt.Errorf("probe %s of %s: %w", probe, name, err)
		}
	case err != nil:
		return res, fmt.Errorf("probe %s of %s: %w", probe, name, err)
	}
	if _, err := tx.exec(ctx, sqlProbeRelease); err != nil {
		return res, fmt.Errorf("probe %s of %s: %w", probe, name, err)
	}
	return res, nil
}
