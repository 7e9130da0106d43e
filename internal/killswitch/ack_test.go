package killswitch_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestAcknowledgementsCountWhatEachChangeStopped: the first read is the
// baseline (no acknowledgement); each later change of a switch is one
// acknowledgement carrying the jobs and streams its enforcement stopped,
// each counted once however often the state is enforced again; a job
// stopped later under the same change is added to it; an organization's
// switch seen off is acknowledged without a change time (the store looks
// it up).
func TestAcknowledgementsCountWhatEachChangeStopped(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	w, err := killswitch.New(src, killswitch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	setState := func(global bool, at time.Time, orgs map[uuid.UUID]time.Time) {
		src.mu.Lock()
		src.state = store.KillState{Global: store.KillSwitchLevel{Active: global, ChangedAt: at}, Orgs: orgs, Read: time.Now()}
		src.mu.Unlock()
		if err := w.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	take := func() []store.SwitchAck {
		acks, dropped := w.TakeAcks()
		if dropped != 0 {
			t.Fatalf("%d dropped", dropped)
		}
		return acks
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	setState(false, t0, map[uuid.UUID]time.Time{})
	if _, ok := w.LoadedAt(); !ok {
		t.Fatal("no first-state time after the first read")
	}
	if acks := take(); len(acks) != 0 {
		t.Fatalf("the baseline read acknowledged %+v", acks)
	}

	orgX, orgY := uuid.New(), uuid.New()
	cancelled := 0
	cancel := func(error) { cancelled++ }
	w.Register(orgX, uuid.New(), cancel)
	w.Register(orgX, uuid.New(), cancel)
	w.RegisterStream(orgY, uuid.New(), cancel)

	t1 := t0.Add(time.Minute)
	setState(true, t1, map[uuid.UUID]time.Time{})
	setState(true, t1, map[uuid.UUID]time.Time{}) // enforced again: counted once
	acks := take()
	if len(acks) != 1 || acks[0].OrganizationID != nil || !acks[0].ChangedAt.Equal(t1) || !acks[0].Active ||
		acks[0].JobsStopped != 2 || acks[0].StreamsClosed != 1 || acks[0].InstalledAt.IsZero() {
		t.Fatalf("global acknowledgement: %+v", acks)
	}
	if cancelled != 6 {
		t.Fatalf("%d cancellations, want 3 jobs × 2 enforcements", cancelled)
	}

	// A job that registers while the switch is on and is stopped by the
	// next re-read is added to the same change.
	w.Register(orgY, uuid.New(), cancel)
	setState(true, t1, map[uuid.UUID]time.Time{})
	acks = take()
	if len(acks) != 1 || !acks[0].ChangedAt.Equal(t1) || acks[0].JobsStopped != 1 || acks[0].StreamsClosed != 0 {
		t.Fatalf("straggler: %+v", acks)
	}

	// Global off and an organization on: two acknowledgements; the
	// organization's jobs were already stopped, so none is counted again.
	t2, t3 := t1.Add(time.Minute), t1.Add(2*time.Minute)
	setState(false, t2, map[uuid.UUID]time.Time{orgX: t3})
	acks = take()
	if len(acks) != 2 {
		t.Fatalf("acks: %+v", acks)
	}
	for _, a := range acks {
		switch {
		case a.OrganizationID == nil:
			if a.Active || !a.ChangedAt.Equal(t2) || a.JobsStopped != 0 {
				t.Errorf("global off: %+v", a)
			}
		case *a.OrganizationID == orgX:
			if !a.Active || !a.ChangedAt.Equal(t3) || a.JobsStopped != 0 {
				t.Errorf("organization on: %+v", a)
			}
		default:
			t.Errorf("unexpected %+v", a)
		}
	}
	// A new job of orgX is stopped by its switch.
	w.Register(orgX, uuid.New(), cancel)
	setState(false, t2, map[uuid.UUID]time.Time{orgX: t3})
	if acks = take(); len(acks) != 1 || acks[0].OrganizationID == nil || *acks[0].OrganizationID != orgX || acks[0].JobsStopped != 1 {
		t.Fatalf("organization straggler: %+v", acks)
	}
	// The organization's switch off: acknowledged, change time unknown.
	setState(false, t2, map[uuid.UUID]time.Time{})
	if acks = take(); len(acks) != 1 || acks[0].OrganizationID == nil || acks[0].Active || !acks[0].ChangedAt.IsZero() {
		t.Fatalf("organization off: %+v", acks)
	}
	// Nothing changed: nothing to acknowledge.
	setState(false, t2, map[uuid.UUID]time.Time{})
	if acks = take(); len(acks) != 0 {
		t.Fatalf("no change acknowledged %+v", acks)
	}
	select {
	case <-w.AckReady():
	default:
		t.Fatal("AckReady not signalled")
	}
}

// TestAckReadyOnlyForSomethingToRecord: the reporter is woken by the first
// state and by each new acknowledgement, not by the re-reads (one a
// second) that change nothing, so the heartbeat stays a write per
// heartbeat period rather than one per re-read.
func TestAckReadyOnlyForSomethingToRecord(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource()
	w, err := killswitch.New(src, killswitch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := func(global bool, at time.Time) {
		src.mu.Lock()
		src.state = store.KillState{Global: store.KillSwitchLevel{Active: global, ChangedAt: at}, Orgs: map[uuid.UUID]time.Time{}, Read: time.Now()}
		src.mu.Unlock()
		if err := w.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ready := func() bool {
		select {
		case <-w.AckReady():
			return true
		default:
			return false
		}
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	set(false, t0)
	if !ready() {
		t.Fatal("the first state did not wake the reporter")
	}
	for range 5 {
		set(false, t0)
	}
	if ready() {
		t.Fatal("re-reads that changed nothing woke the reporter")
	}
	set(true, t0.Add(time.Minute))
	if !ready() {
		t.Fatal("a change did not wake the reporter")
	}
	w.TakeAcks()
	set(true, t0.Add(time.Minute))
	if ready() {
		t.Fatal("the same change read again woke the reporter")
	}
}
