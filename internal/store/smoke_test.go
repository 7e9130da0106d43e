package store

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func TestSmoke(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	s, err := Open(ctx, db.AppURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := rampart.Claims{OrganizationID: uuid.New(), UserID: uuid.New(), Role: rampart.RoleAdmin}
	err = s.InTenant(ctx, c, func(ctx context.Context, tx *Tx) error {
		var n int
		var who, claims string
		if err := tx.queryRow(ctx, "select count(*), current_user, current_setting('request.jwt.claims') from venues").Scan(&n, &who, &claims); err != nil {
			return err
		}
		t.Logf("n=%d who=%s claims=%s", n, who, claims)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 2 {
		t.Fatal(v, err)
	}
}
