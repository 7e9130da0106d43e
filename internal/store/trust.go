package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
)

// The store side of `rampart trust-report` (internal/trust): narrow
// operations that exercise a control on the live install and report what
// the database answered. From queries/trust.sql.
var (
	sqlTrustOrganizations   = query("TrustOrganizations")
	sqlTrustUpdatableColumn = query("TrustUpdatableColumn")
	sqlTrustProbeLimits     = query("TrustProbeLimits")
	sqlTrustSavepoint       = query("TrustSavepoint")
	sqlTrustRollbackTo      = query("TrustRollbackTo")
	sqlTrustRelease         = query("TrustRelease")
	sqlKillSwitchCanary     = query("KillSwitchCanary")
	sqlAuditKeyUse          = query("AuditKeyUse")
	sqlFieldKeyFirstUse     = query("FieldKeyFirstUse")
	sqlServerVersion        = query("ServerVersion")
)

// The verbs of the cross-tenant probe.
const (
	VerbSelect = "select"
	VerbInsert = "insert"
	VerbUpdate = "update"
	VerbDelete = "delete"
)

// ProbeCountCap caps TableProbe.Rows and ForeignRows: counting stops there.
const ProbeCountCap = 10000

// ProbeVerbs lists the verbs CrossTenantProbe tries on every table.
var ProbeVerbs = []string{VerbSelect, VerbInsert, VerbUpdate, VerbDelete}

// ForgedClaims is one identity the cross-tenant probe takes: the raw
// request.jwt.claims it sets (Set false leaves them unset), as an attacker
// who could write that setting would. Attacker is the organization the
// claims name, if any: its own rows are not "another tenant's".
type ForgedClaims struct {
	Name     string
	Set      bool
	Claims   string
	Attacker *uuid.UUID
}

// ProbeOutcome is what the database answered to one statement of the
// probe. Rows counts the other tenants' rows the statement saw, changed or
// inserted; SQLState and Error are set when it failed (and was rolled back
// to its savepoint).
type ProbeOutcome struct {
	Claims   string `json:"claims"`
	Verb     string `json:"verb"`
	Rows     int64  `json:"rows"`
	SQLState string `json:"sqlstate,omitempty"`
	Error    string `json:"error,omitempty"`
	// Skipped says why the verb was not tried (no column the runtime may
	// update: the UPDATE could not reach a row through any policy).
	Skipped string `json:"skipped,omitempty"`
}

// TableProbe is the probe of one tenant table.
type TableProbe struct {
	Table string `json:"table"`
	// Rows counts every row of the table (service path, read-only, up to
	// ProbeCountCap): the targets of the identities that name no
	// organization or an unknown one. -1 when the service path is not
	// configured.
	Rows int64 `json:"rows"`
	// ForeignRows counts, on the service path (read-only, no claims), the
	// rows of the table that are not the attacker organization's (of the
	// first identity that names one), up to ProbeCountCap: what a leak
	// would have shown. -1 when the service path is not configured.
	ForeignRows int64          `json:"foreign_rows"`
	Outcomes    []ProbeOutcome `json:"outcomes"`
}

// CrossTenantOrgs returns the attacker and victim organizations of the
// cross-tenant probe: the two oldest organizations, read on the service
// path in a read-only transaction. Missing ones are random ids (no row
// belongs to them); real is how many are real.
func (s *Store) CrossTenantOrgs(ctx context.Context) (attacker, victim uuid.UUID, real int, err error) {
	const op = "store.CrossTenantOrgs"
	var ids []uuid.UUID
	err = s.readOnlyService(ctx, op, func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlTrustOrganizations)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	if err != nil {
		return uuid.Nil, uuid.Nil, 0, classify(op, err)
	}
	real = len(ids)
	for len(ids) < 2 {
		ids = append(ids, uuid.New())
	}
	return ids[0], ids[1], real, nil
}

// CrossTenantProbe tries, as the runtime login through the runtime pool
// and as rampart_app, to read, insert, update and delete other tenants'
// rows of every tenant table under each of the forged identities. Each
// statement runs in a savepoint; the whole transaction is ROLLED BACK, so
// nothing the probe did (even on a leaking table) is left behind, and the
// probe writes no audit event. The statements are:
//
//	select  SELECT count(*) FROM t WHERE key IS DISTINCT FROM attacker
//	insert  INSERT INTO t (key) VALUES (victim)          (RLS checks WITH CHECK before constraints)
//	update  UPDATE t SET c = c WHERE key IS DISTINCT FROM attacker
//	delete  DELETE FROM t WHERE key IS DISTINCT FROM attacker
//
// where key is the tenant key (rlsaudit.TenantKey) and attacker the
// organization the claims name (a random id when they name none). Table
// names come from the live catalog, quoted. With the service path
// configured, each table's ForeignRows is counted first (read-only).
func (s *Store) CrossTenantProbe(ctx context.Context, tables []rlsaudit.Table, identities []ForgedClaims, victim uuid.UUID) ([]TableProbe, error) {
	const op = "store.CrossTenantProbe"
	var targets []rlsaudit.Table
	for _, t := range tables {
		if rlsaudit.IsTenant(t) {
			targets = append(targets, t)
		}
	}
	out := make([]TableProbe, len(targets))
	for i, t := range targets {
		out[i] = TableProbe{Table: t.Ref().String(), Rows: -1, ForeignRows: -1}
	}
	none := uuid.New() // "the attacker" of claims without an organization
	attackerOf := func(id ForgedClaims) uuid.UUID {
		if id.Attacker != nil {
			return *id.Attacker
		}
		return none
	}
	if s.svc != nil {
		// Counted against the first identity that names an organization:
		// the rows its reads, updates and deletes could have reached.
		a := none
		for _, id := range identities {
			if id.Attacker != nil {
				a = *id.Attacker
				break
			}
		}
		err := s.readOnlyService(ctx, op, func(ctx context.Context, tx *txn) error {
			for i, t := range targets {
				name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
				key := pgx.Identifier{rlsaudit.TenantKey(t)}.Sanitize()
				// Capped: on a large install the counts say "there were
				// rows to find", not how many, and cost no full scan.
				q := "SELECT (SELECT count(*) FROM (SELECT 1 FROM " + name + " LIMIT $2) s), " +
					"(SELECT count(*) FROM (SELECT 1 FROM " + name + " WHERE " + key + " IS DISTINCT FROM $1 LIMIT $2) s)"
				if err := tx.queryRow(ctx, q, a, ProbeCountCap).Scan(&out[i].Rows, &out[i].ForeignRows); err != nil {
					return fmt.Errorf("count %s: %w", name, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, classify(op, err)
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, classify(op, err)
	}
	defer conn.Release()
	tx := &txn{conn: conn, store: s}
	// Always rolled back: the probe leaves nothing behind.
	defer s.rollback(conn)
	for _, q := range []string{sqlBegin, sqlSetAppRole, sqlTrustProbeLimits} {
		if _, err := tx.exec(ctx, q); err != nil {
			return nil, classify(op, fmt.Errorf("open the probe transaction: %w", err))
		}
	}
	updCol := make([]string, len(targets))
	for i, t := range targets {
		name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
		err := tx.queryRow(ctx, sqlTrustUpdatableColumn, name, AppRole).Scan(&updCol[i])
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, classify(op, fmt.Errorf("updatable column of %s: %w", name, err))
		}
	}
	for _, id := range identities {
		// The first identity may leave the claims unset; every later one
		// sets its own (the empty string included).
		if id.Set {
			if _, err := tx.exec(ctx, sqlSetClaims, id.Claims); err != nil {
				return nil, classify(op, fmt.Errorf("probe %s: set claims: %w", id.Name, err))
			}
		}
		a := attackerOf(id)
		for i, t := range targets {
			name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
			key := pgx.Identifier{rlsaudit.TenantKey(t)}.Sanitize()
			for _, verb := range ProbeVerbs {
				o := ProbeOutcome{Claims: id.Name, Verb: verb}
				var stmt string
				args := []any{a}
				switch verb {
				case VerbSelect:
					stmt = "SELECT count(*) FROM " + name + " WHERE " + key + " IS DISTINCT FROM $1"
				case VerbInsert:
					stmt = "INSERT INTO " + name + " (" + key + ") VALUES ($1)"
					args = []any{victim}
				case VerbUpdate:
					if updCol[i] == "" {
						o.Skipped = "the runtime may update no column of this table"
						out[i].Outcomes = append(out[i].Outcomes, o)
						continue
					}
					col := pgx.Identifier{updCol[i]}.Sanitize()
					stmt = "UPDATE " + name + " SET " + col + " = " + col + " WHERE " + key + " IS DISTINCT FROM $1"
				case VerbDelete:
					stmt = "DELETE FROM " + name + " WHERE " + key + " IS DISTINCT FROM $1"
				}
				if err := probeStatement(ctx, tx, verb, stmt, args, &o); err != nil {
					return nil, classify(op, fmt.Errorf("probe %s %s of %s: %w", id.Name, verb, name, err))
				}
				out[i].Outcomes = append(out[i].Outcomes, o)
			}
		}
	}
	return out, nil
}

// probeStatement runs one statement of the probe in a savepoint and records
// the rows it saw or touched, or the server's error. Errors that are not
// the server's (the connection, the context) end the probe.
func probeStatement(ctx context.Context, tx *txn, verb, stmt string, args []any, o *ProbeOutcome) error {
	if _, err := tx.exec(ctx, sqlTrustSavepoint); err != nil {
		return err
	}
	var err error
	if verb == VerbSelect {
		err = tx.queryRow(ctx, stmt, args...).Scan(&o.Rows)
	} else {
		var tag pgconn.CommandTag
		tag, err = tx.exec(ctx, stmt, args...)
		o.Rows = tag.RowsAffected()
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		o.Rows, o.SQLState, o.Error = 0, pgErr.Code, pgErr.Message
		if _, err := tx.exec(ctx, sqlTrustRollbackTo); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	_, err = tx.exec(ctx, sqlTrustRelease)
	return err
}

// KillSwitchCanary sends a job-level kill-switch notice for job on the
// service path (its service.invoked event records the reason) and returns
// when the transaction that sends it committed: PostgreSQL delivers a
// NOTIFY at commit. job must be a synthetic id no tenant's job has; the
// notice then cancels nothing but what the caller registered under it.
func (s *Store) KillSwitchCanary(ctx context.Context, job uuid.UUID) (committed time.Time, err error) {
	const op = "store.KillSwitchCanary"
	payload, err := json.Marshal(map[string]any{"scope": "job", "job_id": job, "active": true, "canary": true})
	if err != nil {
		return time.Time{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	err = s.asService(ctx, "trust report: kill-switch canary (synthetic job "+job.String()+", no tenant's)", func(ctx context.Context, tx *txn) error {
		_, err := tx.exec(ctx, sqlKillSwitchCanary, string(payload))
		return err
	})
	if err != nil {
		return time.Time{}, classify(op, err)
	}
	return time.Now(), nil
}

// KeyUseSpan is when a key was first and last seen in use, by the data it
// signs or seals, and how much of it there is.
type KeyUseSpan struct {
	KeyID string    `json:"key_id"`
	First time.Time `json:"first_use"`
	Last  time.Time `json:"last_use"`
	Count int64     `json:"count"`
}

// KeyUse reads, on the service path (read-only, no audit event: it changes
// nothing), the first and last use of every audit MAC key (events) and
// field key (sealed bill-of-materials lines). Key ids only: the store
// never holds key material.
func (s *Store) KeyUse(ctx context.Context) (auditKeys, fieldKeys []KeyUseSpan, err error) {
	const op = "store.KeyUse"
	err = s.readOnlyService(ctx, op, func(ctx context.Context, tx *txn) error {
		for _, q := range []struct {
			sql string
			out *[]KeyUseSpan
		}{{sqlAuditKeyUse, &auditKeys}, {sqlFieldKeyFirstUse, &fieldKeys}} {
			rows, err := tx.query(ctx, q.sql)
			if err != nil {
				return err
			}
			*q.out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyUseSpan, error) {
				var k KeyUseSpan
				return k, r.Scan(&k.KeyID, &k.First, &k.Last, &k.Count)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return auditKeys, fieldKeys, classify(op, err)
}

// ServerVersion is PostgreSQL's server_version, read as the runtime.
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	const op = "store.ServerVersion"
	var v string
	err := s.readOnly(ctx, func(ctx context.Context, tx *txn) error {
		return tx.queryRow(ctx, sqlServerVersion).Scan(&v)
	})
	return strings.TrimSpace(v), classify(op, err)
}

// RecordTrustReport writes the trust report's audit event on the service
// path: the report's id, digest and signing key id in metadata, so a
// report kept elsewhere can be matched to its run and checked later.
func (s *Store) RecordTrustReport(ctx context.Context, reportID, digest, keyID string, summary json.RawMessage) error {
	const op = "store.RecordTrustReport"
	meta, err := json.Marshal(map[string]any{"report_id": reportID, "sha256": digest, "key_id": keyID, "summary": summary})
	if err != nil {
		return rampart.Wrap(op, rampart.KindInternal, err)
	}
	return s.AsService(ctx, "trust report", func(ctx context.Context, tx *ServiceTx) error {
		return tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorService, ActorID: s.actor, Action: audit.ActionTrustReport,
			TargetType: "trust_report", TargetID: reportID, Metadata: meta})
	})
}
