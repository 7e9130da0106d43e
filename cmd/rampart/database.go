package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/store"
)

// The embedded cluster's database and runtime login.
const (
	embeddedDatabase = "rampart"
	embeddedLogin    = "rampart"
)

// database is how a command reaches PostgreSQL: DATABASE_URL, or the
// embedded cluster of the data directory (started for the command when no
// other Rampart process runs it).
type database struct {
	appURL     string // runtime login
	serviceURL string // service login (AsService); empty when not configured
	adminURL   string // owner/superuser: migrations
	cluster    *pgcluster.Cluster
}

func (d *database) close() {
	if d.cluster != nil {
		_ = d.cluster.Close()
	}
}

// embedded reports whether the database is Rampart's own cluster.
func (d *database) embedded() bool { return d.cluster != nil }

// openDatabase resolves the database the same way for every command. In
// embedded mode with prepare set (serve, migrate), the cluster is
// initialised if needed and the roles, logins and database bootstrapped
// and migrated, so serve on a fresh data directory just works. Without
// prepare (rls-audit, migrate status/validate, worker) nothing is created
// or changed: a missing cluster is an error.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger, purpose pgcluster.Purpose, prepare bool) (*database, error) {
	if !cfg.Embedded() {
		return &database{appURL: cfg.DatabaseURL, serviceURL: cfg.ServiceURL, adminURL: cfg.DatabaseURL}, nil
	}
	cl, err := pgcluster.Open(ctx, pgcluster.Config{Dir: cfg.DataDir, OSUser: cfg.PGOSUser, Logger: log, NoInit: !prepare}, purpose)
	if err != nil {
		return nil, err
	}
	d := &database{
		appURL:     cl.URL(embeddedLogin, embeddedDatabase),
		serviceURL: cl.URL(store.ServiceLogin(embeddedLogin), embeddedDatabase),
		adminURL:   cl.URL(pgcluster.Superuser, embeddedDatabase),
		cluster:    cl,
	}
	if prepare {
		superURL := func(db string) string { return cl.URL(pgcluster.Superuser, db) }
		if err := store.Prepare(ctx, superURL, embeddedDatabase, embeddedLogin); err != nil {
			d.close()
			return nil, fmt.Errorf("prepare embedded database: %w", err)
		}
	}
	return d, nil
}

// openServiceStore opens the store of an operator command that runs on the
// audited service path: the audit keys (its events are signed), the
// database (attaching to or starting the embedded cluster), and a store
// with the service login. close releases all of it.
func openServiceStore(ctx context.Context, m *Main, cfg config.Config, name, actor string) (st *store.Store, close func(), err error) {
	keys, err := loadAuditKeys(cfg)
	if err != nil {
		return nil, nil, err
	}
	log := m.logger(cfg)
	db, err := openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: name}, false)
	if err != nil {
		return nil, nil, err
	}
	if db.serviceURL == "" {
		db.close()
		return nil, nil, errors.New("RAMPART_SERVICE_DATABASE_URL is required with DATABASE_URL")
	}
	// The store logs what it does (seals with each chain's head MAC) like serve does.
	st, err = store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: 2, Actor: actor, Audit: keys, Logger: log})
	if err != nil {
		db.close()
		return nil, nil, err
	}
	return st, func() { st.Close(); db.close() }, nil
}
