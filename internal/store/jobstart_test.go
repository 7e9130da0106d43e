package store

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestJobStartReadsInputsAsTheRequester: the worker's first read gives the
// requester's live claims and the proposal's text as they may read it now,
// in one round trip, so the guard can run before any transaction of the
// attempt. The claims SQL builds are the ones Go would send; another
// organization's job is not found; a requester who left reads nothing.
func TestJobStartReadsInputsAsTheRequester(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	jobA := superScalar[uuid.UUID](t, db, `SELECT id FROM ai_jobs WHERE organization_id = $1 ORDER BY venue_code LIMIT 1`, f.a.OrganizationID)
	jobB := superScalar[uuid.UUID](t, db, `SELECT id FROM ai_jobs WHERE organization_id = $1 ORDER BY venue_code LIMIT 1`, f.b.OrganizationID)

	js, err := s.Jobs().Claims(ctx, f.a.OrganizationID, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if !js.Live || js.Claims.UserID != f.a.UserID || js.Claims.Role != rampart.RoleAdmin || js.Claims.OrganizationID != f.a.OrganizationID {
		t.Fatalf("claims %+v live=%v, want org A's admin", js.Claims, js.Live)
	}
	if js.Inputs == nil || js.Inputs.Brief != "A brief" || js.Inputs.UpdatedAt.IsZero() {
		t.Fatalf("inputs %+v, want the seeded proposal's brief and version", js.Inputs)
	}

	// The claims the batch sets in SQL are the JSON Go sends for them.
	conn, err := pgx.Connect(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var set string
	b := &pgx.Batch{}
	b.Queue(sqlBeginReadOnly)
	b.Queue(sqlSetAppRole)
	b.Queue(sqlSetAIJobClaims, f.a.OrganizationID, jobA)
	b.Queue(`SELECT pg_catalog.current_setting('request.jwt.claims', true)`).QueryRow(func(r pgx.Row) error { return r.Scan(&set) })
	b.Queue(sqlRollback)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	want, _ := js.Claims.JSON()
	var got, exp map[string]any
	_ = json.Unmarshal([]byte(set), &got)
	_ = json.Unmarshal(want, &exp)
	gb, _ := json.Marshal(got)
	eb, _ := json.Marshal(exp)
	if string(gb) != string(eb) {
		t.Fatalf("claims set in SQL %s, Go sends %s", gb, eb)
	}

	// Another organization's job, named with org A's id: not found.
	if _, err := s.Jobs().Claims(ctx, f.a.OrganizationID, jobB); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Fatalf("org B's job under org A: %v, want not found", err)
	}

	// The requester leaves: no claims, no inputs.
	if n := superCount(t, db, `WITH d AS (DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2 RETURNING 1) SELECT count(*)::int FROM d`,
		f.a.OrganizationID, f.a.UserID); n != 1 {
		t.Fatalf("removed %d memberships", n)
	}
	js, err = s.Jobs().Claims(ctx, f.a.OrganizationID, jobA)
	if err != nil {
		t.Fatal(err)
	}
	if js.Live || js.Inputs != nil {
		t.Fatalf("after the requester left: live=%v inputs=%+v, want neither", js.Live, js.Inputs)
	}
}
