package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// The job queue (River) lives in schema river. Its machinery runs as
// rampart_queue on the service login; the runtime may only insert a job of
// its own organization inside a tenant transaction (migration 005).
const (
	QueueSchema = "river"
	QueueRole   = "rampart_queue"
)

// QueueDriver is River's driver on the queue's own pool: the service
// login, switched to rampart_queue on every connection, so the queue
// machinery can read and update the queue tables of every tenant and
// nothing else (no tenant table, no BYPASSRLS). The pool itself never
// leaves the store; Close releases it after River stops.
type QueueDriver struct {
	*riverpgxv5.Driver
	pool *pgxpool.Pool
}

// Close closes the queue's pool (after the River client has stopped).
func (d *QueueDriver) Close() { d.pool.Close() }

// Ping checks that the queue's pool reaches PostgreSQL.
func (d *QueueDriver) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// QueueDriver opens the driver River works jobs with, on a pool of at
// most maxConns connections (0: the service pool's size).
func (j Jobs) QueueDriver(ctx context.Context, maxConns int32) (*QueueDriver, error) {
	const op = "store.QueueDriver"
	s := j.s
	if s.svc == nil {
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "the job queue needs the service login: set RAMPART_SERVICE_DATABASE_URL")
	}
	cfg := s.svc.Config().Copy()
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "rampart-queue"
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+QueueRole)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, rampart.Wrap(op, rampart.KindUnavailable, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the queue pool cannot connect as " + QueueRole, Err: err}
	}
	return &QueueDriver{Driver: riverpgxv5.New(pool), pool: pool}, nil
}

// QueueInsert inserts queue jobs through the transaction it is given (River's
// Client.InsertTx) and returns the queue job id.
type QueueInsert func(ctx context.Context, tx pgx.Tx) (int64, error)

// insertQueueJob runs insert on this transaction's connection, as the
// transaction's role and tenant context: the job commits or rolls back
// with the change and its audit event.
func (tx *txn) insertQueueJob(ctx context.Context, insert QueueInsert) (int64, error) {
	if err := tx.flush(ctx); err != nil {
		return 0, err
	}
	return insert(ctx, queueTx{conn: tx.conn.Conn()})
}

// queueTx lends a store transaction to River's InsertTx. The store owns the
// transaction: River may run statements in it, never end it or nest one.
type queueTx struct{ conn *pgx.Conn }

var errQueueTxOwned = errors.New("the store owns this transaction")

func (q queueTx) Begin(context.Context) (pgx.Tx, error) { return nil, errQueueTxOwned }
func (q queueTx) Commit(context.Context) error          { return errQueueTxOwned }
func (q queueTx) Rollback(context.Context) error        { return errQueueTxOwned }
func (q queueTx) CopyFrom(ctx context.Context, t pgx.Identifier, c []string, src pgx.CopyFromSource) (int64, error) {
	return q.conn.CopyFrom(ctx, t, c, src)
}
func (q queueTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return q.conn.SendBatch(ctx, b)
}
func (q queueTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (q queueTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return q.conn.Prepare(ctx, name, sql)
}
func (q queueTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return q.conn.Exec(ctx, sql, args...)
}
func (q queueTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return q.conn.Query(ctx, sql, args...)
}
func (q queueTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return q.conn.QueryRow(ctx, sql, args...)
}
func (q queueTx) Conn() *pgx.Conn { return q.conn }

// migrateQueue brings River's schema to this binary's version, as the
// owner, one River migration per transaction (a migration that adds an
// enum value cannot share a transaction with the one that uses it).
func migrateQueue(ctx context.Context, conn *pgx.Conn) error {
	m, err := rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Schema: QueueSchema})
	if err != nil {
		return err
	}
	for _, v := range m.AllVersions() {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			//lint:ignore SA1019 one version per transaction on our connection, not the batching the deprecation warns about
			_, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: v.Version})
			return err
		}); err != nil {
			return fmt.Errorf("river migration %d: %w", v.Version, err)
		}
	}
	return nil
}

// queueVersion is the River migration version applied to the database and
// the version this binary's River needs.
func queueVersion(ctx context.Context, tx *txn) (have, want int, err error) {
	m, err := rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Schema: QueueSchema})
	if err != nil {
		return 0, 0, err
	}
	all := m.AllVersions()
	want = all[len(all)-1].Version
	err = tx.queryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+QueueSchema+".river_migration").Scan(&have)
	return have, want, err
}
