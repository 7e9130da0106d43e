package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// featureFixture is two seeded organizations (seedTenant: chat off, ai on)
// and a superuser connection for assertions.
func featureFixture(t *testing.T) (*Store, isolationFixture, *pgx.Conn) {
	t.Helper()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	var f isolationFixture
	err := s.AsService(context.Background(), "feature test fixture", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		if f.a, err = seedTenant(ctx, tx, "org-a"); err != nil {
			return err
		}
		f.b, err = seedTenant(ctx, tx, "org-b")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	return s, f, admin
}

// featureRows is every organization's stored flags, as the superuser sees
// them, for "nothing changed" assertions.
func featureRows(t *testing.T, admin *pgx.Conn) string {
	t.Helper()
	var out string
	err := admin.QueryRow(context.Background(), `SELECT coalesce(string_agg(to_jsonb(f)::text, '|' ORDER BY organization_id), '')
FROM organization_features f`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFeatureFlagsAdminCannotWrite: an organization's admin, in their own
// tenant transaction, can read the flags but every raw write fails with
// insufficient_privilege (no grant, no policy), the operator's name is
// not readable, and nothing changes.
func TestFeatureFlagsAdminCannotWrite(t *testing.T) {
	t.Parallel()
	s, f, admin := featureFixture(t)
	ctx := context.Background()
	before := featureRows(t, admin)
	if before == "" {
		t.Fatal("the fixture seeded no feature row")
	}
	attacks := []struct{ name, sql string }{
		{"update own flags", `UPDATE organization_features SET ai = true, chat = true WHERE organization_id = $1`},
		{"upsert own flags", `INSERT INTO organization_features (organization_id, ai, chat, reason, updated_by) VALUES ($1, true, true, 'x', 'x')
ON CONFLICT (organization_id) DO UPDATE SET chat = true`},
		{"delete own flags (back to the defaults)", `DELETE FROM organization_features WHERE organization_id = $1`},
		{"read who changed them", `SELECT updated_by FROM organization_features WHERE organization_id = $1`},
	}
	for _, atk := range attacks {
		err := s.inTenant(ctx, f.a, func(ctx context.Context, tx *txn) error {
			_, err := tx.exec(ctx, atk.sql, f.a.OrganizationID)
			return err
		})
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != codeInsufficientPrivilege {
			t.Errorf("%s as admin: %v, want SQLSTATE 42501", atk.name, err)
		}
	}
	if after := featureRows(t, admin); after != before {
		t.Fatalf("flags changed:\n%s\n%s", before, after)
	}

	// The admin reads their own flags (chat off, seeded), never another
	// organization's row.
	err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
		got, err := tx.Features().Get(ctx)
		if err != nil {
			return err
		}
		if !got.AI || got.Chat || got.Reason != "seeded" || got.UpdatedAt == nil {
			t.Errorf("own flags = %+v, want ai on, chat off, reason seeded", got)
		}
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM organization_features WHERE organization_id <> $1`, f.a.OrganizationID).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("an admin sees %d other organizations' flags", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flagsOf reads claims' organization's flags as its member does.
func flagsOf(t *testing.T, s *Store, c rampart.Claims) rampart.OrgFeatures {
	t.Helper()
	var f rampart.OrgFeatures
	err := s.InTenant(context.Background(), c, func(ctx context.Context, tx *TenantTx) error {
		var err error
		f, err = tx.Features().Get(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFeatureFlagsSetOnServicePath: the operator's change is audited in
// the organization's chain (before, after, reason, actor) beside the
// service path's platform event; bad input writes nothing; the other
// organization is unaffected.
func TestFeatureFlagsSetOnServicePath(t *testing.T) {
	t.Parallel()
	s, f, admin := featureFixture(t)
	ctx := context.Background()
	events := func() (org, platform int) {
		t.Helper()
		if err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE organization_id = $1 AND action = 'organization.features.updated'),
count(*) FILTER (WHERE organization_id IS NULL AND action = 'service.invoked' AND reason LIKE 'feature test%')
FROM audit_events`, f.a.OrganizationID).Scan(&org, &platform); err != nil {
			t.Fatal(err)
		}
		return org, platform
	}
	org0, plat0 := events()
	rows0 := featureRows(t, admin)

	bad := []struct {
		name    string
		changes map[rampart.Feature]bool
		reason  string
	}{
		{"unknown flag", map[rampart.Feature]bool{"billing": false}, "x"},
		{"no change", map[rampart.Feature]bool{}, "x"},
		{"empty reason", map[rampart.Feature]bool{rampart.FeatureAI: false}, "   "},
		{"oversized reason", map[rampart.Feature]bool{rampart.FeatureAI: false}, strings.Repeat("r", 501)},
	}
	for _, b := range bad {
		err := s.AsService(ctx, "feature test: bad input", func(ctx context.Context, tx *ServiceTx) error {
			_, err := tx.OrgFeatures().Set(ctx, f.a.OrganizationID, b.changes, b.reason, "cli:test")
			return err
		})
		if rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: %v, want KindInvalid", b.name, err)
		}
	}
	if rows := featureRows(t, admin); rows != rows0 {
		t.Fatalf("bad input changed the flags:\n%s\n%s", rows0, rows)
	}
	if o, p := events(); o != org0 || p != plat0 {
		t.Fatalf("bad input wrote events: org %d→%d, platform %d→%d", org0, o, plat0, p)
	}

	var before, after rampart.OrgFeatures
	err := s.AsService(ctx, "feature test: turn ai off", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		fc, err := tx.OrgFeatures().Set(ctx, f.a.OrganizationID, map[rampart.Feature]bool{rampart.FeatureAI: false}, "contract paused", "cli:alice")
		before, after = fc.Before, fc.After
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !before.AI || before.Chat || after.AI || after.Chat || after.Reason != "contract paused" {
		t.Fatalf("before %+v after %+v", before, after)
	}
	if o, p := events(); o != org0+1 || p != plat0+1 {
		t.Fatalf("events: org %d→%d, platform %d→%d, want one more each", org0, o, plat0, p)
	}
	var actorType, actor, reason, beforeJSON, afterJSON string
	if err := admin.QueryRow(ctx, `SELECT actor_type, actor_id, reason, before::text, after::text FROM audit_events
WHERE organization_id = $1 AND action = 'organization.features.updated' ORDER BY id DESC LIMIT 1`, f.a.OrganizationID).
		Scan(&actorType, &actor, &reason, &beforeJSON, &afterJSON); err != nil {
		t.Fatal(err)
	}
	if actorType != "service" || actor != "cli:alice" || reason != "contract paused" ||
		!strings.Contains(beforeJSON, `"ai":true`) || !strings.Contains(afterJSON, `"ai":false`) {
		t.Fatalf("event: %s %s %q before %s after %s", actorType, actor, reason, beforeJSON, afterJSON)
	}
	// Turning ai off cancelled A's unfinished jobs (seedTenant queues two),
	// each audited; B's stay queued.
	var unfinishedA, cancelledA, blockedA, unfinishedB int
	if err := admin.QueryRow(ctx, `SELECT
  count(*) FILTER (WHERE organization_id = $1 AND status IN ('queued', 'running', 'retrying')),
  count(*) FILTER (WHERE organization_id = $1 AND status = 'cancelled' AND error_code = 'feature_disabled' AND cancel_reason = $3),
  (SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = 'ai.generation.blocked_by_feature' AND reason = 'contract paused'),
  count(*) FILTER (WHERE organization_id = $2 AND status = 'queued')
FROM ai_jobs`, f.a.OrganizationID, f.b.OrganizationID, FeatureCancelReason).Scan(&unfinishedA, &cancelledA, &blockedA, &unfinishedB); err != nil {
		t.Fatal(err)
	}
	if unfinishedA != 0 || cancelledA != 2 || blockedA != 2 || unfinishedB != 2 {
		t.Fatalf("jobs after ai off: A unfinished %d, cancelled %d, audited %d; B queued %d (want 0, 2, 2, 2)",
			unfinishedA, cancelledA, blockedA, unfinishedB)
	}
	// Org B keeps its own flags.
	if gotB := flagsOf(t, s, f.b); !gotB.AI {
		t.Fatalf("org B's flags = %+v: ai must stay on", gotB)
	}
	if gotA := flagsOf(t, s, f.a); gotA.AI || gotA.Enabled(rampart.FeatureChat) {
		t.Fatalf("org A's flags = %+v", gotA)
	}
}

// TestFeatureFlagsDefaultsWithoutRow: an organization no operator touched
// has every feature on.
func TestFeatureFlagsDefaultsWithoutRow(t *testing.T) {
	t.Parallel()
	s, f, admin := featureFixture(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, `DELETE FROM organization_features WHERE organization_id = $1`, f.a.OrganizationID); err != nil {
		t.Fatal(err)
	}
	if got := flagsOf(t, s, f.a); !got.AI || !got.Chat || got.UpdatedAt != nil || got.Reason != "" {
		t.Fatalf("defaults = %+v", got)
	}
}

// TestResolvedFeaturesFailClosed: the flags read in a credential's batch
// are trusted only under the resolved organization's tenant context; no
// context, another organization's or none resolved gives no flags (the
// edge's gate then refuses AI and chat with 503) rather than the defaults.
func TestResolvedFeaturesFailClosed(t *testing.T) {
	t.Parallel()
	org, other := uuid.New(), uuid.New()
	off, on, why := false, true, "contract"
	if got := resolvedFeatures(org, nil, nil, nil, nil, nil); got != nil {
		t.Errorf("no tenant context: %+v", got)
	}
	if got := resolvedFeatures(org, &other, &off, &off, &why, nil); got != nil {
		t.Errorf("another organization's context: %+v", got)
	}
	if got := resolvedFeatures(uuid.Nil, &org, &on, &on, nil, nil); got != nil {
		t.Errorf("no organization resolved: %+v", got)
	}
	if got := resolvedFeatures(org, &org, nil, nil, nil, nil); got == nil || !got.AI || !got.Chat {
		t.Errorf("no row: %+v, want the defaults", got)
	}
	if got := resolvedFeatures(org, &org, &on, &off, &why, nil); got == nil || !got.AI || got.Chat || got.Reason != why {
		t.Errorf("a row: %+v", got)
	}

	// The statement itself: run without the context a resolve sets, it
	// answers its one row with no organization, so the flags are not
	// trusted, even for an organization whose chat is off.
	s, f, _ := featureFixture(t)
	var rc ResolvedClaims
	rc.Claims.OrganizationID = f.a.OrganizationID
	if err := s.oneBatchTx(context.Background(), sqlBegin, func(b *pgx.Batch) {
		queueResolvedFeatures(b, "test", &rc)
	}); err != nil {
		t.Fatal(err)
	}
	if rc.Features != nil {
		t.Fatalf("flags read without a tenant context were trusted: %+v", rc.Features)
	}
}
