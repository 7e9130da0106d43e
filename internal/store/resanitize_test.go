package store

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// TestResanitizeBodies: bodies are sanitised once, on write; a body
// written under an older policy version (here: 0, and markup no policy
// allows) is cleaned by the periodic re-sanitising, in batches, each an
// audited service transaction, and a second run finds nothing to do and
// writes nothing (not even an audit event).
// Bodies of the current version are not touched.
func TestResanitizeBodies(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	newIsolationFixture(t, s)
	ctx := context.Background()
	const dirty = `<p>Plan</p><script>alert(1)</script><a href="javascript:steal()">go</a><img src=x onerror=alert(2)>`
	if n := superCount(t, db, `WITH u AS (UPDATE proposals SET body_html = $1, body_sanitizer = 0 RETURNING 1) SELECT count(*)::int FROM u`, dirty); n != 4 {
		t.Fatalf("seeded %d dirty bodies, want 4", n)
	}
	current := superScalar[string](t, db, `WITH u AS (UPDATE proposals SET body_html = '<p>current</p>', body_sanitizer = $1
WHERE id = (SELECT id FROM proposals ORDER BY id LIMIT 1) RETURNING id::text) SELECT id FROM u`, sanitize.Version)
	events := superCount(t, db, `SELECT count(*)::int FROM audit_events WHERE action = 'service.invoked' AND reason LIKE 're-sanitise%'`)

	n, err := s.Periodic().ResanitizeBodies(ctx, 2)
	if err != nil || n != 3 {
		t.Fatalf("re-sanitised %d bodies (%v), want the 3 stale ones", n, err)
	}
	want := sanitize.Resanitize(dirty).String()
	if strings.Contains(want, "script") || strings.Contains(want, "onerror") || strings.Contains(want, "javascript:") {
		t.Fatalf("the policy keeps markup it must not: %q", want)
	}
	if got := superCount(t, db, `SELECT count(*)::int FROM proposals WHERE body_html = $1 AND body_sanitizer = $2`, want, sanitize.Version); got != 3 {
		t.Fatalf("%d bodies cleaned and marked, want 3", got)
	}
	if got := superScalar[string](t, db, `SELECT body_html FROM proposals WHERE id = $1::uuid`, current); got != "<p>current</p>" {
		t.Fatalf("a current body changed: %q", got)
	}
	if got := superCount(t, db, `SELECT count(*)::int FROM audit_events WHERE action = 'service.invoked' AND reason LIKE 're-sanitise%'`); got-events != 2 {
		t.Fatalf("%d audited batches, want 2 (of 2 and 1)", got-events)
	}
	if n, err := s.Periodic().ResanitizeBodies(ctx, 2); err != nil || n != 0 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if got := superCount(t, db, `SELECT count(*)::int FROM audit_events WHERE action = 'service.invoked' AND reason LIKE 're-sanitise%'`); got-events != 2 {
		t.Fatalf("the idle run wrote %d audit events", got-events-2)
	}
}

// TestResanitizeChatAnswers: the proposal chat's stored answers follow a
// policy change the same way: stale ones cleaned and marked, current ones
// untouched, an idle run writes nothing.
func TestResanitizeChatAnswers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	newIsolationFixture(t, s)
	ctx := context.Background()
	const dirty = `<p>Answer</p><script>alert(1)</script><img src=x onerror=alert(2)>`
	if n := superCount(t, db, `WITH u AS (UPDATE proposal_chat_messages SET status = 'answered', finished_at = now(), answer_html = $1, answer_sanitizer = 0
RETURNING 1) SELECT count(*)::int FROM u`, dirty); n != 4 {
		t.Fatalf("seeded %d dirty answers, want 4", n)
	}
	current := superScalar[string](t, db, `WITH u AS (UPDATE proposal_chat_messages SET answer_html = '<p>current</p>', answer_sanitizer = $1
WHERE id = (SELECT id FROM proposal_chat_messages ORDER BY id LIMIT 1) RETURNING id::text) SELECT id FROM u`, sanitize.Version)
	n, err := s.Periodic().ResanitizeChatAnswers(ctx, 2)
	if err != nil || n != 3 {
		t.Fatalf("re-sanitised %d answers (%v), want the 3 stale ones", n, err)
	}
	want := sanitize.Resanitize(dirty).String()
	if got := superCount(t, db, `SELECT count(*)::int FROM proposal_chat_messages WHERE answer_html = $1 AND answer_sanitizer = $2`, want, sanitize.Version); got != 3 {
		t.Fatalf("%d answers cleaned and marked, want 3", got)
	}
	if got := superScalar[string](t, db, `SELECT answer_html FROM proposal_chat_messages WHERE id = $1::uuid`, current); got != "<p>current</p>" {
		t.Fatalf("a current answer changed: %q", got)
	}
	events := superCount(t, db, `SELECT count(*)::int FROM audit_events`)
	if n, err := s.Periodic().ResanitizeChatAnswers(ctx, 2); err != nil || n != 0 {
		t.Fatalf("second run: %d, %v", n, err)
	}
	if got := superCount(t, db, `SELECT count(*)::int FROM audit_events`); got != events {
		t.Fatalf("the idle run wrote %d audit events", got-events)
	}
}
