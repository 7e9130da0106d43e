package store

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// VersionTable records the applied migration version (tern's table).
const VersionTable = "rampart_schema_version"

// migrationsFS holds the numbered migrations embedded in the binary.
func migrationsFS() fs.FS {
	sub, err := fs.Sub(sqlFS, "migrations")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// MigrationStatus says where a database stands against this binary's migrations.
type MigrationStatus struct {
	Current int32    `json:"current"`
	Latest  int32    `json:"latest"`
	Pending []string `json:"pending"`
}

// Migrate connects with adminURL (a superuser, or a login that may create
// the roles and is a member of rampart_owner), creates the roles if missing
// and applies pending migrations as rampart_owner so the owner owns every
// object. It returns the versions before and after.
func Migrate(ctx context.Context, adminURL string) (MigrationStatus, MigrationStatus, error) {
	return migrateTo(ctx, adminURL, -1)
}

// migrateTo is Migrate up to version target (-1: the latest); tests use
// it to put data into an older schema and migrate it forward.
func migrateTo(ctx context.Context, adminURL string, target int32) (MigrationStatus, MigrationStatus, error) {
	const op = "store.Migrate"
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return MigrationStatus{}, MigrationStatus{}, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot connect with the migration URL", Err: err}
	}
	defer conn.Close(context.Background())
	roles, err := fs.ReadFile(sqlFS, "sql/roles.sql")
	if err != nil {
		return MigrationStatus{}, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if _, err := conn.Exec(ctx, string(roles)); err != nil {
		return MigrationStatus{}, MigrationStatus{}, &rampart.Error{Op: op, Kind: rampart.KindForbidden,
			Message: "could not create the rampart roles and schema grants: run `rampart migrate` as a superuser (or a login with CREATEROLE that is a member of rampart_owner)", Err: err}
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+OwnerRole); err != nil {
		return MigrationStatus{}, MigrationStatus{}, &rampart.Error{Op: op, Kind: rampart.KindForbidden,
			Message: "this login cannot SET ROLE rampart_owner: run `rampart migrate` with a superuser DATABASE_URL, or GRANT rampart_owner to the migration login (never to the runtime login)", Err: err}
	}
	// River's queue schema first: migration 005 grants on its tables.
	if err := migrateQueue(ctx, conn); err != nil {
		return MigrationStatus{}, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	m, err := newMigrator(ctx, conn)
	if err != nil {
		return MigrationStatus{}, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	before, err := status(ctx, m)
	if err != nil {
		return MigrationStatus{}, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if target < 0 {
		err = m.Migrate(ctx)
	} else {
		err = m.MigrateTo(ctx, target)
	}
	if err != nil {
		return before, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("apply migrations: %w", err))
	}
	after, err := status(ctx, m)
	if err != nil {
		return before, MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if _, err := conn.Exec(ctx, "RESET ROLE"); err != nil {
		return before, after, rampart.Wrap(op, rampart.KindInternal, err)
	}
	// The owner needs membership in rampart_audit_purger only while a
	// migration hands it a function; afterwards the owner must not be able
	// to become the one role the audit log lets delete events.
	// The same for rampart_audit_eraser, the one role that may blank an
	// event's personal fields (migration 021).
	for _, role := range []string{"rampart_audit_purger", "rampart_audit_eraser"} {
		if _, err := conn.Exec(ctx, "REVOKE "+role+" FROM "+OwnerRole); err != nil {
			return before, after, rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("revoke %s from the owner: %w", role, err))
		}
	}
	return before, after, nil
}

func newMigrator(ctx context.Context, conn *pgx.Conn) (*migrate.Migrator, error) {
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return nil, fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(migrationsFS()); err != nil {
		return nil, fmt.Errorf("load embedded migrations: %w", err)
	}
	return m, nil
}

func status(ctx context.Context, m *migrate.Migrator) (MigrationStatus, error) {
	cur, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("read schema version: %w", err)
	}
	st := MigrationStatus{Current: cur, Latest: int32(len(m.Migrations))}
	for _, mg := range m.Migrations {
		if mg.Sequence > cur {
			st.Pending = append(st.Pending, mg.Name)
		}
	}
	return st, nil
}

// LatestMigration is the version this binary's embedded migrations reach.
func LatestMigration() (int32, []string, error) {
	names, err := migrate.FindMigrations(migrationsFS())
	if err != nil {
		return 0, nil, err
	}
	return int32(len(names)), names, nil
}

// SchemaVersion reads the applied migration version as the runtime role.
func (s *Store) SchemaVersion(ctx context.Context) (int32, error) {
	const op = "store.SchemaVersion"
	var v int32
	err := s.readOnly(ctx, func(ctx context.Context, tx *txn) error {
		return tx.queryRow(ctx, "SELECT version FROM "+VersionTable).Scan(&v)
	})
	if err != nil {
		return 0, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot read the schema version: has `rampart migrate` run?", Err: err}
	}
	return v, nil
}

// CheckSchema refuses a database whose schema is behind or ahead of this binary.
func (s *Store) CheckSchema(ctx context.Context) error {
	const op = "store.CheckSchema"
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	want, _, err := LatestMigration()
	if err != nil {
		return rampart.Wrap(op, rampart.KindInternal, err)
	}
	switch {
	case have < want:
		return rampart.Errorf(op, rampart.KindUnavailable, "database schema is at migration %d, this binary needs %d: run `rampart migrate` with an owner/superuser DATABASE_URL", have, want)
	case have > want:
		return rampart.Errorf(op, rampart.KindUnavailable, "database schema is at migration %d, newer than this binary's %d: upgrade rampart", have, want)
	}
	var qHave, qWant int
	err = s.readOnly(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		qHave, qWant, err = queueVersion(ctx, tx)
		return err
	})
	if err != nil {
		return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot read the job queue's schema version: run `rampart migrate`", Err: err}
	}
	if qHave != qWant {
		return rampart.Errorf(op, rampart.KindUnavailable, "the job queue schema (River) is at version %d, this binary needs %d: run `rampart migrate`", qHave, qWant)
	}
	return nil
}

// readOnly runs fn in a read-only transaction as rampart_app with no tenant
// context: for catalog and schema reads that touch no tenant row.
func (s *Store) readOnly(ctx context.Context, fn func(context.Context, *txn) error) error {
	b := &pgx.Batch{}
	b.Queue(sqlBeginReadOnly)
	b.Queue(sqlSetAppRole)
	return s.run(ctx, s.pool, "store.readOnly", b, nil, fn)
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidIdentifier reports whether s is a plain lower-case SQL identifier,
// the only form Rampart accepts for database and role names it creates.
func ValidIdentifier(s string) bool { return identRE.MatchString(s) }

// ServiceLogin names the service login that goes with a runtime login.
func ServiceLogin(login string) string { return login + "_svc" }

// Bootstrap prepares an embedded or throw-away cluster: as the superuser
// (superURL points at the maintenance database), it creates the roles, the
// runtime login (NOINHERIT, member of rampart_app only), the service login
// (NOINHERIT, member of rampart_service only) and the database owned by
// rampart_owner, each only if missing.
func Bootstrap(ctx context.Context, superURL, database, login string) error {
	const op = "store.Bootstrap"
	if !ValidIdentifier(database) || !ValidIdentifier(login) || !ValidIdentifier(ServiceLogin(login)) {
		return rampart.Errorf(op, rampart.KindInvalid, "database %q and login %q must be lower-case identifiers", database, login)
	}
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot connect as the cluster superuser", Err: err}
	}
	defer conn.Close(context.Background())
	roles, err := fs.ReadFile(sqlFS, "sql/roles.sql")
	if err != nil {
		return rampart.Wrap(op, rampart.KindInternal, err)
	}
	if _, err := conn.Exec(ctx, string(roles)); err != nil {
		return rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("create roles: %w", err))
	}
	for _, l := range []struct{ name, group string }{{login, AppRole}, {ServiceLogin(login), ServiceRole}} {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", l.name).Scan(&exists); err != nil {
			return rampart.Wrap(op, rampart.KindInternal, err)
		}
		id := pgx.Identifier{l.name}.Sanitize()
		if exists {
			if l.group == AppRole {
				// An earlier layout made the runtime login a member of the
				// service role too; it must not be.
				if _, err := conn.Exec(ctx, "REVOKE "+ServiceRole+" FROM "+id); err != nil {
					return rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("revoke %s from %s: %w", ServiceRole, l.name, err))
				}
			}
			continue
		}
		if _, err := conn.Exec(ctx, "CREATE ROLE "+id+" LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION IN ROLE "+l.group); err != nil {
			return rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("create login %s: %w", l.name, err))
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return rampart.Wrap(op, rampart.KindInternal, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize()+" OWNER "+OwnerRole+" ENCODING 'UTF8' TEMPLATE template0"); err != nil {
			return rampart.Wrap(op, rampart.KindInternal, fmt.Errorf("create database %s: %w", database, err))
		}
	}
	return nil
}

// Prepare bootstraps (roles, login, database) and migrates database on a
// cluster Rampart controls as superuser: the embedded default and the test
// harness. superURL returns the superuser URL of a database on the cluster.
func Prepare(ctx context.Context, superURL func(database string) string, database, login string) error {
	if err := Bootstrap(ctx, superURL("postgres"), database, login); err != nil {
		return err
	}
	_, _, err := Migrate(ctx, superURL(database))
	return err
}

// ReadMigrationStatus reports the applied and embedded migrations of the
// database at url without changing anything. It works with an owner or
// superuser URL and with the runtime login (which reads the version as
// rampart_app).
func ReadMigrationStatus(ctx context.Context, url string) (MigrationStatus, error) {
	const op = "store.ReadMigrationStatus"
	latest, names, err := LatestMigration()
	if err != nil {
		return MigrationStatus{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return MigrationStatus{}, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot connect to the database", Err: err}
	}
	defer conn.Close(context.Background())
	st := MigrationStatus{Latest: latest}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", VersionTable).Scan(&exists); err != nil {
		return st, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if exists {
		var canRead bool
		if err := conn.QueryRow(ctx, "SELECT has_table_privilege($1, 'SELECT')", VersionTable).Scan(&canRead); err != nil {
			return st, rampart.Wrap(op, rampart.KindInternal, err)
		}
		if !canRead {
			// A NOINHERIT runtime login reads through its group role.
			if _, err := conn.Exec(ctx, "SET ROLE "+AppRole); err != nil {
				return st, &rampart.Error{Op: op, Kind: rampart.KindForbidden, Message: "this login cannot read " + VersionTable, Err: err}
			}
		}
		if err := conn.QueryRow(ctx, "SELECT version FROM "+VersionTable).Scan(&st.Current); err != nil {
			return st, rampart.Wrap(op, rampart.KindInternal, err)
		}
	}
	for i, n := range names {
		if int32(i+1) > st.Current {
			st.Pending = append(st.Pending, n)
		}
	}
	return st, nil
}
