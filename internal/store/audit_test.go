package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func superExec(t *testing.T, db *pgtest.DB, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range sqls {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func superCount(t *testing.T, db *pgtest.DB, q string, args ...any) int {
	t.Helper()
	return superScalar[int](t, db, q, args...)
}

// superScalar reads one value as the superuser (assertions only).
func superScalar[T any](t *testing.T, db *pgtest.DB, q string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// TestAcknowledgedMutationHasItsEvent kills the transaction between the
// mutation and its audit event: neither is visible afterwards.
func TestAcknowledgedMutationHasItsEvent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	events := superCount(t, db, "SELECT count(*)::int FROM audit_events")
	err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
		if _, err := tx.exec(ctx, "INSERT INTO venues (organization_id, code, name) VALUES ($1, 'KILLED', 'Killed')", f.a.OrganizationID); err != nil {
			return err
		}
		var pid uint32 = tx.conn.Conn().PgConn().PID()
		superExec(t, db, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
		return tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: "u", Action: audit.ActionVenueCreated, TargetType: "venue"})
	})
	if err == nil {
		t.Fatal("a transaction whose connection was killed reported success")
	}
	if n := superCount(t, db, "SELECT count(*)::int FROM venues WHERE code = 'KILLED'"); n != 0 {
		t.Fatal("the mutation survived without its event")
	}
	if n := superCount(t, db, "SELECT count(*)::int FROM audit_events"); n != events {
		t.Fatal("an audit event appeared")
	}
	// And the normal path: the event commits with the change.
	err = s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
		_, err := tx.Venues().Create(ctx, rampart.Venue{OrganizationID: f.a.OrganizationID, Code: "KEPT", Name: "Kept"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := superCount(t, db, "SELECT count(*)::int FROM audit_events WHERE action = 'venue.created' AND after::text LIKE '%KEPT%'"); n != 1 {
		t.Fatalf("%d events for the committed venue", n)
	}
}

// TestFailedEventRollsBackTheChange: when the event's insert fails at
// commit (here: an event for another organization, refused by RLS), the
// change it describes is rolled back with it.
func TestFailedEventRollsBackTheChange(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	before := superCount(t, db, "SELECT count(*)::int FROM audit_events")
	err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
		if _, err := tx.exec(ctx, "INSERT INTO venues (organization_id, code, name) VALUES ($1, 'ORPHAN', 'Orphan')", f.a.OrganizationID); err != nil {
			return err
		}
		other := f.b.OrganizationID
		return tx.RecordAudit(ctx, audit.Event{OrganizationID: &other, ActorType: audit.ActorUser, ActorID: "u", Action: audit.ActionVenueCreated})
	})
	if err == nil {
		t.Fatal("a transaction whose audit event was refused committed")
	}
	if superCount(t, db, "SELECT count(*)::int FROM venues WHERE code = 'ORPHAN'") != 0 || superCount(t, db, "SELECT count(*)::int FROM audit_events") != before {
		t.Fatal("the change or an event survived the failed commit")
	}
}

// TestAuditLogIsAppendOnly: the runtime role, the service role and even a
// superuser (triggers) cannot UPDATE, DELETE or TRUNCATE events or seals.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	before := superCount(t, db, "SELECT count(*)::int FROM audit_events")
	attacks := []string{
		"UPDATE audit_events SET reason = 'x'",
		"DELETE FROM audit_events",
		"TRUNCATE audit_events",
		"UPDATE audit_seals SET event_count = 0",
		"DELETE FROM audit_seals",
		"TRUNCATE audit_seals",
	}
	denied := func(err error) bool {
		var pg *pgconn.PgError
		return errors.As(err, &pg) && pg.Code == codeInsufficientPrivilege
	}
	for _, q := range attacks {
		err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error { _, err := tx.exec(ctx, q); return err })
		if !denied(err) {
			t.Errorf("runtime %q: %v", q, err)
		}
		err = s.AsService(ctx, "test: attack the audit log", func(ctx context.Context, tx *ServiceTx) error { _, err := tx.exec(ctx, q); return err })
		if !denied(err) {
			t.Errorf("service %q: %v", q, err)
		}
		conn, err := pgx.Connect(ctx, db.AdminURL)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, q)
		conn.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("superuser %q (triggers on): %v", q, err)
		}
	}
	// The retention function refuses a range that is not old enough.
	err := s.AsService(ctx, "test: early purge", func(ctx context.Context, tx *ServiceTx) error {
		_, err := tx.exec(ctx, "SELECT audit_purge($1, '999999'::xid8)", f.a.OrganizationID.String())
		return err
	})
	if !denied(err) {
		t.Errorf("audit_purge of recent events: %v", err)
	}
	// A forged old-looking seal does not let the service path purge recent events.
	err = s.AsService(ctx, "test: forged seal", func(ctx context.Context, tx *ServiceTx) error {
		if _, err := tx.exec(ctx, `INSERT INTO audit_seals (chain, seq, kind, from_xid, to_xid, event_count, max_occurred_at, digest, sealed_at, mac_key_id, mac)
			VALUES ($1, 999, 'seal', '0', pg_current_xact_id(), 0, '2000-01-01', '', now(), 'x', decode(repeat('00', 32), 'hex'))`, f.a.OrganizationID.String()); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "SELECT audit_purge($1, pg_current_xact_id())", f.a.OrganizationID.String())
		return err
	})
	if !denied(err) {
		t.Errorf("audit_purge through a forged seal: %v", err)
	}
	// AsService writes its own event, so only those may have been added.
	if n := superCount(t, db, "SELECT count(*)::int FROM audit_events WHERE action <> 'service.invoked'"); n > before {
		t.Fatalf("events changed: %d → %d", before, n)
	}
	if _, err := s.Audit().Purge(ctx, time.Now().Add(-24*time.Hour)); err == nil {
		t.Fatal("PurgeAudit accepted a cutoff below the 12-month minimum")
	}
}

func verifyProblems(t *testing.T, s *Store) (VerifyReport, []string) {
	t.Helper()
	rep, err := s.Audit().Verify(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range rep.Chains {
		for _, p := range c.Problems {
			out = append(out, p.String())
		}
	}
	return rep, out
}

// TestVerifyDetectsTampering: a superuser changes, deletes and inserts
// rows out of band (triggers disabled); verify names each.
func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(db *pgtest.DB, victim int64) []string
		want   string
	}{
		{"changed", func(db *pgtest.DB, v int64) []string {
			return []string{"SET session_replication_role = replica", fmt.Sprintf("UPDATE audit_events SET reason = 'nothing to see' WHERE id = %d", v)}
		}, "event %d: content does not match its MAC"},
		{"deleted", func(db *pgtest.DB, v int64) []string {
			return []string{"SET session_replication_role = replica", fmt.Sprintf("DELETE FROM audit_events WHERE id = %d", v)}
		}, "event(s) missing from the sealed range"},
		{"inserted", func(db *pgtest.DB, v int64) []string {
			return []string{fmt.Sprintf(`INSERT INTO audit_events (event_key, organization_id, occurred_at, actor_type, action, mac_key_id, mac, xact_id)
				SELECT gen_random_uuid(), organization_id, occurred_at, 'user', 'venue.deleted', mac_key_id, mac, xact_id FROM audit_events WHERE id = %d`, v)}
		}, "content does not match its MAC"},
		{"xact pushed into the future", func(db *pgtest.DB, v int64) []string {
			return []string{"SET session_replication_role = replica", fmt.Sprintf("UPDATE audit_events SET xact_id = '999999999999' WHERE id = %d", v)}
		}, "had not been assigned yet"},
		{"seal edited", func(db *pgtest.DB, v int64) []string {
			return []string{"SET session_replication_role = replica", "UPDATE audit_seals SET event_count = event_count + 1 WHERE seq = 1"}
		}, "seal 1: seal content does not match its MAC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			s := openStore(t, db, Options{})
			f := newIsolationFixture(t, s)
			ctx := context.Background()
			if _, err := s.Audit().SealNow(ctx); err != nil {
				t.Fatal(err)
			}
			if rep, probs := verifyProblems(t, s); len(probs) > 0 || rep.Events == 0 {
				t.Fatalf("clean log does not verify: %v", probs)
			}
			victim := int64(superCount(t, db, "SELECT min(id)::int FROM audit_events WHERE organization_id = $1 AND action = 'venue.created'", f.a.OrganizationID))
			superExec(t, db, tc.tamper(db, victim)...)
			_, probs := verifyProblems(t, s)
			want := tc.want
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, victim)
			}
			if !slicesContains(probs, want) {
				t.Fatalf("first problem %q, want it to contain %q (all: %v)", probs, want, probs)
			}
		})
	}
}

// recordAt writes an event with a chosen time (retention tests need old events).
func (tx *txn) recordAt(ctx context.Context, ev audit.Event, at time.Time) error {
	st := tx.store.audit.Sign(ev, at)
	_, err := tx.exec(ctx, sqlInsertAudit, auditArgs(st)...)
	return err
}

// TestRetentionPurgesOldEventsAndVerifyPasses: events older than the
// cutoff go, whole sealed ranges at a time; verify still passes and
// reports the purge.
func TestRetentionPurgesOldEventsAndVerifyPasses(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	org := f.a.OrganizationID
	old := time.Now().AddDate(0, -30, 0)
	err := s.AsService(ctx, "test: old events", func(ctx context.Context, tx *ServiceTx) error {
		for i := range 5 {
			if err := tx.recordAt(ctx, audit.Event{OrganizationID: &org, ActorType: audit.ActorUser, ActorID: fmt.Sprint(i),
				Action: audit.ActionVenueUpdated}, old.Add(time.Duration(i)*time.Minute)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's events are recent and share the first seal with the old ones,
	// so seal the old ones alone first: move the recent ones out of the way by
	// sealing now, then checking which ranges qualify.
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.Audit().Purge(ctx, time.Now().AddDate(0, -24, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The first seal mixes old and recent events: nothing of it may go.
	if len(res) != 0 {
		t.Fatalf("purged a range with recent events: %+v", res)
	}
	// A fresh organization whose only events are old: its range goes.
	var old2 rampart.Organization
	err = s.AsService(ctx, "test: an old organization", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		if old2, err = tx.Provision().CreateOrganization(ctx, "Old", "old-org"); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	superExec(t, db, "SET session_replication_role = replica", fmt.Sprintf("DELETE FROM audit_events WHERE organization_id = '%s'", old2.ID))
	err = s.AsService(ctx, "test: old events of the old organization", func(ctx context.Context, tx *ServiceTx) error {
		for i := range 7 {
			if err := tx.recordAt(ctx, audit.Event{OrganizationID: &old2.ID, ActorType: audit.ActorUser, ActorID: fmt.Sprint(i),
				Action: audit.ActionVenueUpdated}, old.Add(time.Duration(i)*time.Minute)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	// Newer events of the old organization after its old range was sealed.
	err = s.AsService(ctx, "test: recent events", func(ctx context.Context, tx *ServiceTx) error {
		return tx.RecordAudit(ctx, audit.Event{OrganizationID: &old2.ID, ActorType: audit.ActorUser, ActorID: "recent", Action: audit.ActionVenueUpdated})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = s.Audit().Purge(ctx, time.Now().AddDate(0, -24, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Chain != old2.ID.String() || res[0].Events != 7 {
		t.Fatalf("purge: %+v", res)
	}
	if n := superCount(t, db, "SELECT count(*)::int FROM audit_events WHERE organization_id = $1", old2.ID); n != 1 {
		t.Fatalf("%d events left in the old organization, want the 1 recent one", n)
	}
	rep, probs := verifyProblems(t, s)
	if len(probs) > 0 {
		t.Fatalf("verify after purge: %v", probs)
	}
	found := false
	for _, c := range rep.Chains {
		if c.Chain == old2.ID.String() && len(c.Purges) == 1 && c.Purges[0].Events == 7 {
			found = true
		}
	}
	if !found {
		t.Fatalf("verify does not report the purge: %+v", rep.Chains)
	}
	if superCount(t, db, "SELECT count(*)::int FROM audit_events WHERE action = 'audit.purged'") != 1 {
		t.Fatal("the purge was not audited")
	}
	// Purging again changes nothing.
	if res, err := s.Audit().Purge(ctx, time.Now().AddDate(0, -24, 0)); err != nil || len(res) != 0 {
		t.Fatalf("second purge: %+v %v", res, err)
	}
	// Life goes on after a purge: new events are sealed after the purge
	// record and the whole chain still verifies.
	err = s.AsService(ctx, "test: events after the purge", func(ctx context.Context, tx *ServiceTx) error {
		return tx.RecordAudit(ctx, audit.Event{OrganizationID: &old2.ID, ActorType: audit.ActorUser, ActorID: "later", Action: audit.ActionVenueUpdated})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, probs := verifyProblems(t, s); len(probs) > 0 {
		t.Fatalf("verify after purge and a new seal: %v", probs)
	} else {
		for _, c := range rep.Chains {
			if c.Chain == old2.ID.String() && (c.Pending != 0 || c.Events != 2) {
				t.Fatalf("chain after purge: %+v", c)
			}
		}
	}
}

// TestVerifyRoundTripsEveryFieldShape: events with IPv4, IPv6 and mapped
// addresses, JSON with odd spacing and unicode, and empty fields verify.
func TestVerifyRoundTripsEveryFieldShape(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	f := newIsolationFixture(t, s)
	ctx := context.Background()
	err := s.InTenant(ctx, f.a, func(ctx context.Context, tx *TenantTx) error {
		for i, ip := range []string{"10.1.2.3", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1", ""} {
			ev := audit.Event{ActorType: audit.ActorUser, ActorID: fmt.Sprint(i), Action: audit.ActionVenueUpdated,
				Before: []byte(`{ "name" :  "Zürich ☃", "n": 1.50 }`), After: []byte(`{"name":"x\u0000y"}`),
				ActorScope: []byte(`{}`), Metadata: []byte(`[1, 2,3]`), UserAgent: "Mozilla/5.0 (ünïcode)", Reason: "line\nbreak"}
			if ip != "" {
				ev.IP = netip.MustParseAddr(ip)
			}
			if err := audit.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Audit().SealNow(ctx); err != nil {
		t.Fatal(err)
	}
	rep, probs := verifyProblems(t, s)
	if len(probs) > 0 || rep.Events < 5 {
		t.Fatalf("verify: %d events, problems %v", rep.Events, probs)
	}
}

func slicesContains(probs []string, want string) bool {
	for _, p := range probs {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}
