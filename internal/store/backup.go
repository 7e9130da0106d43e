package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Backups and restore drills (issue #16): what a backup's manifest records
// about the database, read in the snapshot pg_dump dumps, and the scratch
// database a drill restores into. These run on a connection of the backup
// login (a superuser, or a login with BYPASSRLS that reads every table),
// which only the backup and restore-drill commands hold; no request path
// reaches them.

// From queries/backup.sql.
var (
	sqlBackupBegin            = query("BackupBegin")
	sqlBackupRowSecurityOff   = query("BackupRowSecurityOff")
	sqlBackupExportSnapshot   = query("BackupExportSnapshot")
	sqlBackupServer           = query("BackupServer")
	sqlBackupSchemaVersion    = query("BackupSchemaVersion")
	sqlBackupTableCounts      = query("BackupTableCounts")
	sqlBackupChainHeads       = query("BackupChainHeads")
	sqlScratchMissingRoles    = query("ScratchMissingRoles")
	sqlScratchCreateDatabase  = query("ScratchCreateDatabase")
	sqlScratchRevokeTemporary = query("ScratchRevokeTemporary")
	sqlScratchDropDatabase    = query("ScratchDropDatabase")
	sqlDrillCreateLogin       = query("DrillCreateLogin")
	sqlDrillDropLogin         = query("DrillDropLogin")
	sqlBackupXactHorizon      = query("BackupXactHorizon")
)

// TableCount is one table's exact row count.
type TableCount struct {
	Table string `json:"table"` // schema.name
	Rows  int64  `json:"rows"`
}

// ChainHead is one audit chain's state in a backup: how many events it
// holds, its newest event and its newest seal (or retention checkpoint).
// Events after the newest seal are covered by LastEventMAC, which the
// seals cannot cover yet.
type ChainHead struct {
	Chain        string          `json:"chain"`
	Events       int64           `json:"events"`
	LastEventID  int64           `json:"last_event_id,omitempty"`
	LastEventMAC audit.PublicMAC `json:"last_event_mac,omitempty"`
	SealSeq      int64           `json:"seal_seq,omitempty"`
	SealMAC      audit.PublicMAC `json:"seal_mac,omitempty"`
}

// BackupFacts is what a manifest records about a database, all read in
// one snapshot.
type BackupFacts struct {
	Database         string    `json:"database"`
	ServerVersion    string    `json:"server_version"`
	ServerVersionNum int       `json:"server_version_num"`
	At               time.Time `json:"at"` // the snapshot's transaction time
	SchemaVersion    int32     `json:"schema_version"`
	// XactHorizon is the newest 64-bit transaction id the audit log
	// refers to. A server restoring the backup must be past it.
	XactHorizon int64         `json:"xact_horizon"`
	Tables      []TableCount  `json:"tables"`
	Chains      []ChainHead   `json:"chains"`
	Anchors     audit.Anchors `json:"anchors"` // every chain's newest seal, as `rampart audit anchor` writes them
}

// Rows is the sum of every table's rows.
func (f BackupFacts) Rows() int64 {
	var n int64
	for _, t := range f.Tables {
		n += t.Rows
	}
	return n
}

// BackupSnapshot is an open REPEATABLE READ transaction whose snapshot is
// exported for pg_dump --snapshot, so the dump and the facts describe the
// same instant even while Rampart keeps writing. Close it once pg_dump has
// finished.
type BackupSnapshot struct {
	conn  *pgx.Conn
	ID    string
	Facts BackupFacts
}

// OpenBackupSnapshot connects with adminURL, opens the snapshot and reads
// the facts in it. Errors: unavailable when the server cannot be reached,
// forbidden when the login is subject to row-level security (it would
// back up and count only what its policies show).
func OpenBackupSnapshot(ctx context.Context, adminURL string) (*BackupSnapshot, error) {
	const op = "store.OpenBackupSnapshot"
	conn, err := connectAdmin(ctx, op, adminURL)
	if err != nil {
		return nil, err
	}
	bs := &BackupSnapshot{conn: conn}
	err = func() error {
		if _, err := conn.Exec(ctx, sqlBackupBegin); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, sqlBackupRowSecurityOff); err != nil {
			return err
		}
		if err := conn.QueryRow(ctx, sqlBackupExportSnapshot).Scan(&bs.ID); err != nil {
			return err
		}
		bs.Facts, err = readBackupFacts(ctx, conn)
		return err
	}()
	if err != nil {
		conn.Close(context.Background())
		return nil, backupError(op, err)
	}
	return bs, nil
}

// Close ends the snapshot's transaction (it changed nothing) and the connection.
func (b *BackupSnapshot) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	_, _ = b.conn.Exec(ctx, sqlRollback)
	_ = b.conn.Close(ctx)
}

// ReadBackupFacts reads the facts of the database at adminURL in one
// snapshot: the drill's view of a restored copy.
func ReadBackupFacts(ctx context.Context, adminURL string) (BackupFacts, error) {
	const op = "store.ReadBackupFacts"
	conn, err := connectAdmin(ctx, op, adminURL)
	if err != nil {
		return BackupFacts{}, err
	}
	defer conn.Close(context.Background())
	var f BackupFacts
	err = func() error {
		if _, err := conn.Exec(ctx, sqlBackupBegin); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, sqlBackupRowSecurityOff); err != nil {
			return err
		}
		var err error
		f, err = readBackupFacts(ctx, conn)
		_, _ = conn.Exec(ctx, sqlRollback)
		return err
	}()
	if err != nil {
		return BackupFacts{}, backupError(op, err)
	}
	return f, nil
}

func readBackupFacts(ctx context.Context, conn *pgx.Conn) (BackupFacts, error) {
	var f BackupFacts
	if err := conn.QueryRow(ctx, sqlBackupServer).Scan(&f.Database, &f.ServerVersion, &f.ServerVersionNum, &f.At); err != nil {
		return f, fmt.Errorf("read the server: %w", err)
	}
	if err := conn.QueryRow(ctx, sqlBackupSchemaVersion).Scan(&f.SchemaVersion); err != nil {
		return f, fmt.Errorf("read the schema version (is this a migrated Rampart database?): %w", err)
	}
	if err := conn.QueryRow(ctx, sqlBackupXactHorizon).Scan(&f.XactHorizon); err != nil {
		return f, fmt.Errorf("read the audit log's transaction horizon: %w", err)
	}
	rows, err := conn.Query(ctx, sqlBackupTableCounts)
	if err != nil {
		return f, fmt.Errorf("count rows: %w", err)
	}
	f.Tables, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TableCount, error) {
		var schema, name string
		var t TableCount
		err := r.Scan(&schema, &name, &t.Rows)
		t.Table = schema + "." + name
		return t, err
	})
	if err != nil {
		return f, fmt.Errorf("count rows: %w", err)
	}
	rows, err = conn.Query(ctx, sqlBackupChainHeads)
	if err != nil {
		return f, fmt.Errorf("read the audit chains: %w", err)
	}
	f.Chains, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChainHead, error) {
		var h ChainHead
		var id, seq *int64
		var emac, smac []byte
		err := r.Scan(&h.Chain, &h.Events, &id, &emac, &seq, &smac)
		if id != nil {
			h.LastEventID, h.LastEventMAC = *id, emac
		}
		if seq != nil {
			h.SealSeq, h.SealMAC = *seq, smac
		}
		return h, err
	})
	if err != nil {
		return f, fmt.Errorf("read the audit chains: %w", err)
	}
	rows, err = conn.Query(ctx, sqlHeadSeals)
	if err != nil {
		return f, fmt.Errorf("read the audit seals: %w", err)
	}
	seals, err := pgx.CollectRows(rows, scanSeal)
	if err != nil {
		return f, fmt.Errorf("read the audit seals: %w", err)
	}
	heads := make([]audit.Anchor, 0, len(seals))
	for _, s := range seals {
		heads = append(heads, audit.AnchorOf(s))
	}
	f.Anchors = audit.NewAnchors(heads, f.At)
	return f, nil
}

// connectAdmin opens one connection with the backup login's URL.
func connectAdmin(ctx context.Context, op, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "invalid database URL: %s", redactURLError(err))
	}
	cfg.RuntimeParams["application_name"] = "rampart-backup"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "cannot connect with the backup URL", Err: err}
	}
	return conn, nil
}

// backupError says what a failure of the backup login means.
func backupError(op string, err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege {
		return &rampart.Error{Op: op, Kind: rampart.KindForbidden,
			Message: "this login cannot read every row (it is subject to row-level security or lacks SELECT): back up with a superuser DATABASE_URL, or a login with BYPASSRLS that is a member of rampart_owner; never the runtime login",
			Err:     err}
	}
	return classify(op, err)
}

// DrillRoles are the cluster-wide roles a restored database needs.
var DrillRoles = []string{OwnerRole, AppRole, ServiceRole, "rampart_queue", "rampart_audit_purger"}

// CreateScratchDatabase creates the empty database name, owned by
// rampart_owner, for a drill to restore into; superURL is a superuser URL
// of the server's maintenance database. Errors: invalid when name is not
// a plain identifier; unavailable when the cluster lacks Rampart's roles
// (run `rampart migrate` on a database of that server first).
func CreateScratchDatabase(ctx context.Context, superURL, name string) error {
	const op = "store.CreateScratchDatabase"
	if !ValidIdentifier(name) {
		return rampart.Errorf(op, rampart.KindInvalid, "scratch database %q must be a lower-case identifier", name)
	}
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var missing []string
	if err := conn.QueryRow(ctx, sqlScratchMissingRoles, DrillRoles).Scan(&missing); err != nil {
		return classify(op, err)
	}
	if len(missing) > 0 {
		return rampart.Errorf(op, rampart.KindUnavailable, "the server lacks the roles %v a Rampart database refers to: run `rampart migrate` on a database of this server first (roles are cluster-wide)", missing)
	}
	for _, q := range []string{sqlScratchCreateDatabase, sqlScratchRevokeTemporary} {
		if err := execFormatted(ctx, conn, q, name); err != nil {
			return &rampart.Error{Op: op, Kind: rampart.KindForbidden, Message: fmt.Sprintf("cannot create scratch database %s (the drill's URL needs CREATEDB and membership in rampart_owner, or a superuser)", name), Err: err}
		}
	}
	return nil
}

// DropScratchDatabase drops a scratch database (and any connection to it).
func DropScratchDatabase(ctx context.Context, superURL, name string) error {
	const op = "store.DropScratchDatabase"
	if !ValidIdentifier(name) {
		return rampart.Errorf(op, rampart.KindInvalid, "scratch database %q must be a lower-case identifier", name)
	}
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return classify(op, execFormatted(ctx, conn, sqlScratchDropDatabase, name))
}

// CreateDrillLogins creates two temporary logins, name (NOINHERIT member
// of rampart_app, as the runtime login) and ServiceLogin(name) (of
// rampart_service), with password, valid until `until`: a drill on a
// server whose own logins' passwords Rampart does not hold checks the
// restored copy as the runtime would. DropDrillLogins removes them.
func CreateDrillLogins(ctx context.Context, superURL, name, password string, until time.Time) error {
	const op = "store.CreateDrillLogins"
	if !ValidIdentifier(name) || !ValidIdentifier(ServiceLogin(name)) {
		return rampart.Errorf(op, rampart.KindInvalid, "drill login %q must be a lower-case identifier", name)
	}
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, l := range []struct{ name, group string }{{name, AppRole}, {ServiceLogin(name), ServiceRole}} {
		if err := execFormatted(ctx, conn, sqlDrillCreateLogin, l.name, password, until.UTC().Format(time.RFC3339), l.group); err != nil {
			return &rampart.Error{Op: op, Kind: rampart.KindForbidden, Message: "cannot create the drill's temporary logins (the drill's URL needs CREATEROLE, or a superuser)", Err: err}
		}
	}
	return nil
}

// DropDrillLogins drops the logins CreateDrillLogins made.
func DropDrillLogins(ctx context.Context, superURL, name string) error {
	const op = "store.DropDrillLogins"
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, l := range []string{ServiceLogin(name), name} {
		if err := execFormatted(ctx, conn, sqlDrillDropLogin, l); err != nil {
			return classify(op, err)
		}
	}
	return nil
}

// execFormatted has the server build a utility statement (format with %I
// and %L quoting) and runs it.
func execFormatted(ctx context.Context, conn *pgx.Conn, format string, args ...any) error {
	var stmt string
	if err := conn.QueryRow(ctx, format, args...).Scan(&stmt); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, stmt)
	return err
}

// From queries/backup.sql.
var (
	sqlDatabaseExists = query("DatabaseExists")
	sqlRenameDatabase = query("RenameDatabase")
)

// PromoteDatabase makes the restored database `restored` the database
// `live`, in one transaction: live (if it exists) is renamed to aside and
// kept, restored takes its name. Nobody may be connected to either (stop
// every serve and worker first): PostgreSQL refuses to rename a database
// in use, and that is a conflict error saying so.
func PromoteDatabase(ctx context.Context, superURL, restored, live, aside string) (kept bool, err error) {
	const op = "store.PromoteDatabase"
	for _, n := range []string{restored, live, aside} {
		if !ValidIdentifier(n) {
			return false, rampart.Errorf(op, rampart.KindInvalid, "database %q must be a lower-case identifier", n)
		}
	}
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, classify(op, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := tx.QueryRow(ctx, sqlDatabaseExists, live).Scan(&kept); err != nil {
		return false, classify(op, err)
	}
	rename := func(from, to string) error {
		var stmt string
		if err := tx.QueryRow(ctx, sqlRenameDatabase, from, to).Scan(&stmt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, stmt)
		return err
	}
	if kept {
		if err := rename(live, aside); err != nil {
			var pg *pgconn.PgError
			if errors.As(err, &pg) && pg.Code == "55006" { // object_in_use
				return false, &rampart.Error{Op: op, Kind: rampart.KindConflict, Message: fmt.Sprintf("database %s is in use: stop every rampart serve and worker (and other clients) first", live), Err: err}
			}
			return false, classify(op, err)
		}
	}
	if err := rename(restored, live); err != nil {
		return false, classify(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, classify(op, err)
	}
	return kept, nil
}

// ServerXact returns the server's next 64-bit transaction id (its
// snapshot's xmax): every transaction from now on has an id at least
// this. A restore needs it past the backup's XactHorizon.
func ServerXact(ctx context.Context, superURL string) (int64, error) {
	const op = "store.ServerXact"
	conn, err := connectAdmin(ctx, op, superURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var x int64
	err = conn.QueryRow(ctx, sqlSnapshotXmax).Scan(&x)
	return x, classify(op, err)
}
