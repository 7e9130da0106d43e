package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// Of many processes ticking at once, exactly one runs a periodic task per
// interval.
func TestClaimPeriodicOncePerInterval(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	claimAll := func() int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.Periodic().Claim(ctx, "audit_seal", time.Hour, "test process")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return won
	}
	if n := claimAll(); n != 1 {
		t.Fatalf("first interval: %d claims won, want 1", n)
	}
	if n := claimAll(); n != 0 {
		t.Fatalf("same interval again: %d claims won, want 0", n)
	}
	if err := s.Periodic().Finish(ctx, "audit_seal", "sealed 3 events", errors.New("then failed")); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `UPDATE periodic_runs SET last_started_at = last_started_at - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if n := claimAll(); n != 1 {
		t.Fatalf("next interval: %d claims won, want 1", n)
	}
	runs, err := s.Periodic().Runs(ctx)
	if err != nil || len(runs) != 1 || runs[0].Runs != 2 || runs[0].RunBy != "test process" || runs[0].LastFinishedAt != nil {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	if err := s.Periodic().Finish(ctx, "audit_seal", "sealed 0 events", nil); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.Periodic().Runs(ctx); runs[0].LastResult != "sealed 0 events" || runs[0].LastError != "" || runs[0].LastFinishedAt == nil {
		t.Fatalf("finished run = %+v", runs[0])
	}
	if _, err := s.Periodic().Claim(ctx, "Bad Name", time.Hour, "x"); err == nil {
		t.Fatal("a malformed task name was accepted")
	}
	if _, err := s.Periodic().Claim(ctx, "audit_seal", 0, "x"); err == nil {
		t.Fatal("a zero interval was accepted")
	}
}
