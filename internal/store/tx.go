package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Tx is a store transaction with its tenant context already set. Other
// packages use it only through the store's typed methods; raw SQL stays here.
type txn struct {
	conn    *pgxpool.Conn
	claims  *rampart.Claims // nil on the service path
	service string          // the service actor on the service path
	store   *Store
	pending []audit.Stored // audit events sent with COMMIT
	// open holds the statements that open the transaction (BEGIN, the
	// claims, the role) until the first statement of fn, which they are
	// sent with in one pipelined batch: a transaction costs one round trip
	// less. A transaction that sends nothing never begins.
	open *pgx.Batch
}

// ownSchemaOnly reports whether sql names no schema but public. pgx
// prepares a statement it has not seen on a connection before sending
// the batch, so a first statement sent with the opening ones is parsed as
// the login, before SET LOCAL ROLE: the login may look names up in public
// only (the queue's schema, river, is its role's). Such a statement goes
// after the opening batch instead.
func ownSchemaOnly(sql string) bool { return !strings.Contains(sql, "river.") }

// Claims returns the tenant claims of the transaction; ok is false on the service path.
func (tx *txn) tenantClaims() (rampart.Claims, bool) {
	if tx.claims == nil {
		return rampart.Claims{}, false
	}
	return *tx.claims, true
}

func (tx *txn) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if tx.open == nil {
		return tx.conn.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := tx.sendBatch(ctx, b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (tx *txn) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if tx.open == nil {
		return tx.conn.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := tx.sendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (tx *txn) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if tx.open == nil {
		return tx.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := tx.query(ctx, sql, args...)
	return batchRow{rows: rows, err: err}
}

// sendBatch sends b in the transaction; while the opening statements are
// pending they go first, in the same batch, and their results are read
// before the caller reads b's.
func (tx *txn) sendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if tx.open != nil && slices.ContainsFunc(b.QueuedQueries, func(q *pgx.QueuedQuery) bool { return !ownSchemaOnly(q.SQL) }) {
		if err := tx.flush(ctx); err != nil {
			return failedBatch{err}
		}
	}
	if tx.open == nil {
		return tx.conn.SendBatch(ctx, b)
	}
	open := tx.open
	tx.open = nil
	n := open.Len()
	open.QueuedQueries = append(open.QueuedQueries, b.QueuedQueries...)
	br := tx.conn.SendBatch(ctx, open)
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return failedBatch{fmt.Errorf("open transaction: %w", err)}
		}
	}
	return br
}

// flush sends the opening statements on their own if they are still
// pending (before the connection is handed to code that does not go
// through the transaction's methods).
func (tx *txn) flush(ctx context.Context) error {
	if tx.open == nil {
		return nil
	}
	return tx.sendBatch(ctx, &pgx.Batch{}).Close()
}

// batchRows are the rows of a statement sent in a batch: closing them
// closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is QueryRow over batchRows, with pgx's semantics: no row is
// pgx.ErrNoRows.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedBatch answers every result with the error that stopped the batch.
type failedBatch struct{ err error }

func (f failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedBatch) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedBatch) QueryRow() pgx.Row                { return batchRow{err: f.err} }
func (f failedBatch) Close() error                     { return f.err }
func (f failedBatch) Tx() pgx.Tx                       { return nil }

// The statements that open a store transaction, sent as one pipelined batch
// (queries/tx.sql).
var (
	sqlBegin         = query("Begin")
	sqlSetClaims     = query("SetClaims")
	sqlBeginReadOnly = query("BeginReadOnly")
	sqlSetAppRole    = query("SetAppRole")
	sqlSetSvcRole    = query("SetSvcRole")
	sqlCommit        = query("Commit")
	sqlRollback      = query("Rollback")
)

const (
	maxReasonBytes  = 2000
	rollbackTimeout = 5 * time.Second
)

// InTenant runs fn in a transaction whose tenant context is claims. The
// claims are validated first: an empty organization or user fails closed
// before any statement runs. fn's error (or panic) rolls everything back.
func (s *Store) InTenant(ctx context.Context, claims rampart.Claims, fn func(ctx context.Context, tx *TenantTx) error) error {
	return s.inTenant(ctx, claims, func(ctx context.Context, t *txn) error {
		return fn(ctx, &TenantTx{tenant{txn: t, tc: *t.claims}})
	})
}

func (s *Store) inTenant(ctx context.Context, claims rampart.Claims, fn func(ctx context.Context, tx *txn) error) error {
	const op = "store.InTenant"
	if err := claims.Validate(); err != nil {
		return err
	}
	js, err := claims.JSON()
	if err != nil {
		return rampart.Wrap(op, rampart.KindInternal, err)
	}
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlSetClaims, string(js))
	b.Queue(sqlSetAppRole)
	c := claims
	return s.run(ctx, s.pool, op, b, &c, fn)
}

// AsService runs fn as rampart_service, which bypasses row-level security,
// for system tasks that span tenants. It uses the service login's own pool:
// the runtime login cannot reach rampart_service at all. reason is required and is recorded in
// an audit event written in the same transaction, so no use of the service
// path goes unrecorded or outlives a rollback.
func (s *Store) AsService(ctx context.Context, reason string, fn func(ctx context.Context, tx *ServiceTx) error) error {
	return s.asService(ctx, reason, func(ctx context.Context, t *txn) error {
		return fn(ctx, &ServiceTx{t})
	})
}

func (s *Store) asService(ctx context.Context, reason string, fn func(ctx context.Context, tx *txn) error) error {
	const op = "store.AsService"
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > maxReasonBytes || !utf8.ValidString(reason) {
		return rampart.Errorf(op, rampart.KindInvalid, "a service transaction needs a reason of 1 to %d bytes of UTF-8", maxReasonBytes)
	}
	ev := audit.Event{
		ActorType: audit.ActorService,
		ActorID:   s.actor,
		Action:    audit.ActionServiceInvoked,
		Reason:    reason,
	}
	pool, b, err := s.serviceOpen(op)
	if err != nil {
		return err
	}
	if err := s.queueAudit(b, ev); err != nil {
		return err
	}
	return s.run(ctx, pool, op, b, nil, fn)
}

// serviceOpen is the service login's pool and the statements that open a
// transaction on it as rampart_service.
func (s *Store) serviceOpen(op string) (*pgxpool.Pool, *pgx.Batch, error) {
	pool, err := s.servicePool(op)
	if err != nil {
		return nil, nil, err
	}
	b := &pgx.Batch{}
	b.Queue(sqlBegin)
	b.Queue(sqlSetSvcRole)
	return pool, b, nil
}

// servicePool is the service login's pool, or an error naming the fix.
func (s *Store) servicePool(op string) (*pgxpool.Pool, error) {
	if s.svc == nil {
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "the service path is not configured: set RAMPART_SERVICE_DATABASE_URL to the service login")
	}
	return s.svc, nil
}

// run sends the opening batch, runs fn and commits, rolling back on any
// error or panic. A connection whose transaction state is unknown is
// destroyed by the pool on release (pgxpool closes non-idle connections).
func (s *Store) run(ctx context.Context, pool *pgxpool.Pool, op string, open *pgx.Batch, claims *rampart.Claims, fn func(context.Context, *txn) error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return classify(op, err)
	}
	defer conn.Release()
	tx := &txn{conn: conn, claims: claims, service: s.actor, store: s, open: open}
	committed := false
	defer func() {
		if committed {
			return
		}
		s.rollback(conn)
		if p := recover(); p != nil {
			panic(p)
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return classify(op, err)
	}
	// A statement that failed inside fn aborts the transaction even if fn
	// swallowed the error; COMMIT would then answer ROLLBACK without an
	// error. Refuse to report such a transaction as committed.
	if conn.Conn().PgConn().TxStatus() == 'E' {
		return rampart.Wrap(op, rampart.KindInternal, errors.New("a statement failed inside the transaction; rolled back"))
	}
	tag, err := tx.commit(ctx)
	if err != nil {
		return classify(op, fmt.Errorf("commit: %w", err))
	}
	committed = true
	if tag.String() != "COMMIT" {
		return rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("transaction did not commit (%s)", tag.String()))
	}
	return nil
}

// commit sends the audit events recorded in the transaction and COMMIT as
// one pipelined batch: the events are written in the same transaction as
// the change, at the cost of no extra round trip. If an insert fails, the
// server skips the COMMIT and the transaction is rolled back.
func (tx *txn) commit(ctx context.Context) (pgconn.CommandTag, error) {
	if tx.open != nil && len(tx.pending) == 0 && tx.claims != nil {
		// Nothing was sent: the transaction never began.
		tx.open = nil
		return pgconn.NewCommandTag("COMMIT"), nil
	}
	if len(tx.pending) == 0 && tx.open == nil {
		return tx.conn.Exec(ctx, sqlCommit)
	}
	b := &pgx.Batch{}
	for _, st := range tx.pending {
		b.Queue(sqlInsertAudit, auditArgs(st)...)
	}
	b.Queue(sqlCommit)
	br := tx.sendBatch(ctx, b)
	for range tx.pending {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return pgconn.CommandTag{}, fmt.Errorf("write audit event: %w", err)
		}
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (s *Store) rollback(conn *pgxpool.Conn) {
	pc := conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	// A fresh context: the request's may be cancelled, the rollback must still run.
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, sqlRollback); err != nil {
		s.log.Warn("rollback failed; connection will be discarded", "err", err)
		_ = conn.Conn().Close(ctx)
	}
}

// InTenantValue is InTenant for a function that returns a value.
func InTenantValue[T any](ctx context.Context, s *Store, claims rampart.Claims, fn func(context.Context, *TenantTx) (T, error)) (T, error) {
	var out T
	err := s.InTenant(ctx, claims, func(ctx context.Context, tx *TenantTx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	return out, err
}
