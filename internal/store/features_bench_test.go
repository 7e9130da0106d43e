package store

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// sqlResolveSessionOnly is ResolveSession as it was before migration 024:
// the resolve statement alone, without the tenant context and the feature
// flags' read that now ride in its batch.
const sqlResolveSessionOnly = `SELECT user_id, organization_id, role, venue_codes, expires_at, renewed FROM auth_resolve_session($1)`

// BenchmarkResolveSessionFeatures measures what reading the organization's
// feature flags in the credential's batch costs: one round trip either
// way, one more statement (a primary-key read under RLS) now.
func BenchmarkResolveSessionFeatures(b *testing.B) {
	db := pgtest.New(b)
	s := openStore(b, db, Options{})
	ctx := context.Background()
	var c rampart.Claims
	err := s.AsService(ctx, "bench fixture", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		c, err = seedTenant(ctx, tx, "org-a")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	var sid uuid.UUID
	// 11 hours left of 12: not past half its life, so no renewal writes.
	if err := admin.QueryRow(ctx, `INSERT INTO sessions (user_id, active_organization_id, expires_at) VALUES ($1, $2, now() + interval '11 hours') RETURNING id`,
		c.UserID, c.OrganizationID).Scan(&sid); err != nil {
		b.Fatal(err)
	}
	b.Run("resolve-only", func(b *testing.B) {
		for b.Loop() {
			var rc ResolvedClaims
			var role string
			err := s.oneBatchTx(ctx, sqlBegin, func(bt *pgx.Batch) {
				bt.Queue(sqlResolveSessionOnly, sid).QueryRow(func(r pgx.Row) error {
					return r.Scan(&rc.Claims.UserID, &rc.Claims.OrganizationID, &role, &rc.Claims.VenueCodes, &rc.ExpiresAt, &rc.Renewed)
				})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolve+features", func(b *testing.B) {
		for b.Loop() {
			rc, err := s.Auth().ResolveSession(ctx, sid)
			if err != nil || rc.Features == nil || rc.Features.Chat {
				b.Fatalf("%+v %v", rc.Features, err)
			}
		}
	})
}
