package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestProcessRegistryAndAcks: a registered process beats, acknowledges
// the global switch and an organization's (a second acknowledgement of
// the same change adds its counts), each acknowledgement audited with its
// organization; the readers list it with its acknowledgement, a process
// without one as not acknowledged, a stopped one not at all; old stopped
// processes are pruned at the next registration; members read their own
// organization's rows only, and the runtime reaches nothing else.
func TestProcessRegistryAndAcks(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	var org, other rampart.Claims
	if err := s.AsService(ctx, "test: seed", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		if org, err = seedTenant(ctx, tx, "acme"); err != nil {
			return err
		}
		other, err = seedTenant(ctx, tx, "other")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// seedTenant's processes are not this test's.
	if _, err := admin.Exec(ctx, `DELETE FROM rampart_processes`); err != nil {
		t.Fatal(err)
	}

	a := Process{ID: uuid.New(), Role: "serve", Hostname: "host-a", PID: 100, Version: "test"}
	b := Process{ID: uuid.New(), Role: "worker", Hostname: "host-b", PID: 200, Version: "test"}
	for _, p := range []Process{a, b} {
		if _, _, err := s.Processes().Register(ctx, p, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Processes().Register(ctx, Process{ID: uuid.New(), Role: "admin", Hostname: "h", PID: 1, Version: "v"}, time.Hour); rampart.ErrorKind(err) != rampart.KindInvalid {
		t.Fatalf("a bad role: %v", err)
	}
	loaded := time.Now().Add(-time.Minute)
	if ok, err := s.Processes().Heartbeat(ctx, a.ID, &loaded); err != nil || !ok {
		t.Fatalf("heartbeat: %v %v", ok, err)
	}
	if ok, err := s.Processes().Heartbeat(ctx, uuid.New(), nil); err != nil || ok {
		t.Fatalf("heartbeat of an unknown process: %v %v", ok, err)
	}

	var g rampart.KillSwitch
	var ks rampart.KillSwitch
	if err := s.AsService(ctx, "test: switch", func(ctx context.Context, tx *ServiceTx) error {
		if g, err = tx.KillSwitches().SetGlobal(ctx, true, "incident", "test"); err != nil {
			return err
		}
		ks, err = tx.KillSwitches().SetOrg(ctx, org.OrganizationID, true, "customer", "test")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	orgID := org.OrganizationID
	if n, err := s.Processes().RecordAcks(ctx, a.ID, []SwitchAck{
		{ChangedAt: g.ChangedAt, Active: true, InstalledAt: now, JobsStopped: 2, StreamsClosed: 1},
		{OrganizationID: &orgID, ChangedAt: ks.ChangedAt, Active: true, InstalledAt: now, JobsStopped: 1},
	}); err != nil || n != 2 {
		t.Fatalf("record: %d %v", n, err)
	}
	// A straggler stopped later under the same change adds to it.
	if _, err := s.Processes().RecordAcks(ctx, a.ID, []SwitchAck{{ChangedAt: g.ChangedAt, Active: true, InstalledAt: now.Add(time.Second), JobsStopped: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Processes().RecordAcks(ctx, a.ID, []SwitchAck{{ChangedAt: g.ChangedAt, InstalledAt: now, JobsStopped: -1}}); rampart.ErrorKind(err) != rampart.KindInvalid {
		t.Fatalf("a negative count: %v", err)
	}

	var global, orgAcks []ProcessAck
	if err := s.AsService(ctx, "test: read", func(ctx context.Context, tx *ServiceTx) error {
		if global, err = tx.KillSwitches().Acks(ctx, nil, g.ChangedAt, time.Hour); err != nil {
			return err
		}
		orgAcks, err = tx.KillSwitches().Acks(ctx, &orgID, ks.ChangedAt, time.Hour)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(global) != 2 || global[0].Process.ID != a.ID || global[0].Ack == nil || global[0].Ack.JobsStopped != 3 || global[0].Ack.StreamsClosed != 1 ||
		!global[0].Ack.InstalledAt.Equal(now.Truncate(time.Microsecond)) || global[1].Ack != nil || global[1].Acknowledged(g.ChangedAt) || global[0].Process.Stale {
		t.Fatalf("global acks: %+v", global)
	}
	if len(orgAcks) != 2 || orgAcks[0].Ack == nil || orgAcks[0].Ack.JobsStopped != 1 || orgAcks[1].Ack != nil {
		t.Fatalf("organization acks: %+v", orgAcks)
	}
	var events, orgEvents int
	if err := admin.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE organization_id = $1) FROM audit_events WHERE action = 'killswitch.acknowledged'`,
		orgID).Scan(&events, &orgEvents); err != nil || events != 3 || orgEvents != 1 {
		t.Fatalf("acknowledgement events: %d (%d of the organization) %v", events, orgEvents, err)
	}

	// Members read their own organization's acknowledgements, never
	// another's, and nothing of the platform tables.
	for _, c := range []struct {
		claims rampart.Claims
		want   int
	}{{org, 1}, {other, 0}} {
		err := s.inTenant(ctx, c.claims, func(ctx context.Context, tx *txn) error {
			var n int
			if err := tx.queryRow(ctx, `SELECT count(*) FROM org_killswitch_acks WHERE organization_id = $1 AND process_id = $2`, orgID, a.ID).Scan(&n); err != nil {
				return err
			}
			if n != c.want {
				t.Errorf("%s sees %d of acme's acknowledgements, want %d", c.claims.OrganizationID, n, c.want)
			}
			return errProbeDone
		})
		if !errors.Is(err, errProbeDone) {
			t.Fatal(err)
		}
	}

	// A stopped process leaves the live list; past the retention it is
	// pruned with its acknowledgements at the next registration.
	if err := s.Processes().Stop(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `UPDATE rampart_processes SET started_at = now() - interval '3 hours', stopped_at = now() - interval '2 hours', last_seen = now() - interval '2 hours' WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	_, pruned, err := s.Processes().Register(ctx, Process{ID: uuid.New(), Role: "worker", Hostname: "host-c", PID: 300, Version: "test"}, time.Hour)
	if err != nil || pruned != 1 {
		t.Fatalf("pruned %d, %v", pruned, err)
	}
	var left int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM rampart_processes WHERE id = $1`, b.ID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("stopped process still there: %d %v", left, err)
	}
}
