package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The group roles created by sql/roles.sql.
const (
	OwnerRole   = "rampart_owner"
	AppRole     = "rampart_app"
	ServiceRole = "rampart_service"
)

//go:embed sql/*.sql migrations/*.sql
var sqlFS embed.FS

// Options tune the pools.
type Options struct {
	// ServiceURL is the service login (a NOINHERIT member of
	// rampart_service, nothing else). The runtime login never can SET ROLE
	// to a role that bypasses RLS; only AsService, on this separate pool,
	// can. Empty: AsService and RecordPlatformEvent are unavailable.
	ServiceURL string
	MaxConns   int32 // 0 = pgxpool's default (max(4, CPUs))
	// Audit signs every audit event (required to write any).
	Audit  *audit.Keyring
	Actor  string       // names this process in service audit events, e.g. "rampart serve"
	Logger *slog.Logger // nil discards
	// Tracer, when set, sees every statement and batch on both pools and
	// the queue's (pgx.QueryTracer; it may also implement pgx.BatchTracer
	// and pgx.PrepareTracer): the round-trip count tests use it.
	Tracer pgx.QueryTracer
	// FieldKeys seals and opens the encrypted fields (cost, sourcing and
	// lead time of bill-of-materials lines). Nil: reading or writing them
	// is unavailable, everything else works.
	FieldKeys *fieldcrypt.Ring
	// SecretsKeys seals and opens integration credentials (OAuth tokens
	// and verifiers). It must not share a key with FieldKeys. Nil:
	// integrations are unavailable, everything else works.
	SecretsKeys *fieldcrypt.Ring
}

// Store holds the runtime pool and the service pool.
type Store struct {
	pool  *pgxpool.Pool // runtime login: member of rampart_app only
	svc   *pgxpool.Pool // service login: member of rampart_service only; nil if none
	audit *audit.Keyring
	actor string
	log   *slog.Logger
	keys  *fieldcrypt.Ring
	// secrets is the secrets key ring (integration credentials).
	secrets *fieldcrypt.Ring
}

// Open connects to PostgreSQL as the runtime login in databaseURL. It does
// not check the login's safety: serve and worker evaluate Catalog with
// rlsaudit before serving.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	const op = "store.Open"
	pool, err := openPool(ctx, op, databaseURL, opts.MaxConns, opts.Tracer)
	if err != nil {
		return nil, err
	}
	var svc *pgxpool.Pool
	if opts.ServiceURL != "" {
		if svc, err = openPool(ctx, op, opts.ServiceURL, 4, opts.Tracer); err != nil {
			pool.Close()
			return nil, err
		}
	}
	s := &Store{pool: pool, svc: svc, audit: opts.Audit, actor: opts.Actor, log: opts.Logger, keys: opts.FieldKeys,
		secrets: opts.SecretsKeys}
	if s.actor == "" {
		s.actor = "rampart"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func openPool(ctx context.Context, op, url string, maxConns int32, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "invalid database URL: %s", redactURLError(err))
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "rampart"
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, rampart.Wrap(op, rampart.KindUnavailable, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot reach PostgreSQL", Err: err}
	}
	return pool, nil
}

// Close closes the pools.
func (s *Store) Close() {
	s.pool.Close()
	if s.svc != nil {
		s.svc.Close()
	}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return rampart.Wrap("store.Ping", rampart.KindUnavailable, err)
	}
	return nil
}

// redactURLError keeps a pgx parse error from echoing a password.
func redactURLError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.Index(msg[i:], "@"); j >= 0 {
			msg = msg[:i+3] + "***" + msg[i+j:]
		}
	}
	return msg
}

// SQLSTATEs matched by code, never by message.
const (
	codeInsufficientPrivilege = "42501"
	codeUniqueViolation       = "23505"
	codeForeignKeyViolation   = "23503"
	codeCheckViolation        = "23514"
	codeNotNullViolation      = "23502"
	codeInvalidText           = "22P02"
	codeCharNotInRepertoire   = "22021" // e.g. a NUL byte in text
	codeUntranslatable        = "22P05"
)

// classify maps a database error to a domain error of op.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *rampart.Error
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &rampart.Error{Op: op, Kind: rampart.KindNotFound, Message: "not found", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "request cancelled or timed out", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case codeInsufficientPrivilege:
			// RLS WITH CHECK failures and missing grants: to the caller the
			// object is simply not theirs.
			return &rampart.Error{Op: op, Kind: rampart.KindNotFound, Message: "not found", Err: err}
		case codeUniqueViolation:
			return &rampart.Error{Op: op, Kind: rampart.KindConflict, Message: "already exists", Err: err}
		case codeCharNotInRepertoire, codeUntranslatable:
			return &rampart.Error{Op: op, Kind: rampart.KindInvalid, Message: "text contains a character the database cannot store (such as NUL)", Err: err}
		case codeForeignKeyViolation, codeCheckViolation, codeNotNullViolation, codeInvalidText:
			return &rampart.Error{Op: op, Kind: rampart.KindInvalid, Message: fmt.Sprintf("rejected by the database (%s)", pg.ConstraintName), Err: err}
		}
	}
	return rampart.Wrap(op, rampart.KindInternal, err)
}
