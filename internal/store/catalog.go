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

// From queries/catalog.sql.
var (
	sqlCatalogSession      = query("CatalogSession")
	sqlCatalogRoles        = query("CatalogRoles")
	sqlCatalogRuntimeRoles = query("CatalogRuntimeRoles")
	sqlCatalogTables       = query("CatalogTables")
	sqlCatalogPolicies     = query("CatalogPolicies")
	sqlCatalogFunctions    = query("CatalogFunctions")
	sqlCatalogViews        = query("CatalogViews")
)

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
// the probe resets them to the empty string when it is done. From
// queries/catalog.sql (the claims statement is tx.sql's SetClaims).
var (
	sqlProbeSetClaims = query("SetClaims")
	sqlProbeSavepoint = query("ProbeSavepoint")
	sqlProbeRollback  = query("ProbeRollback")
	sqlProbeRelease   = query("ProbeRelease")
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
