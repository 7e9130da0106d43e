package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// toPlan is a change that puts the account on plan p, active.
func toPlan(p rampart.Plan, at time.Time) BillingChange {
	return func(before rampart.BillingAccount) (rampart.BillingAccount, string, string, bool, error) {
		a := before
		a.Plan, a.Status, a.AIGraceUntil, a.SubscriptionEventAt = p, rampart.BillingActive, nil, &at
		return a, audit.ActionBillingSubscriptionChg, "", true, nil
	}
}

// The plan's cap bounds every reservation, also with no admin budget,
// and what an admin may set.
func TestPlanCapBoundsReservations(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	var admin rampart.Claims
	if err := s.AsService(ctx, "billing test fixture", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		admin, err = seedTenant(ctx, tx, "org-a") // linked to cus_orga
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if out, err := s.Billing().ApplyStripeEvent(ctx, StripeEvent{ID: "evt_starter", Type: "customer.subscription.updated", Created: now, CustomerID: "cus_orga"},
		toPlan(rampart.PlanStarter, now)); err != nil || out != OutcomeApplied {
		t.Fatalf("apply: %v %v", out, err)
	}
	capTokens := *rampart.PlanStarter.MonthlyTokenCap()
	err := s.InTenant(ctx, admin, func(ctx context.Context, tx *TenantTx) error {
		// No admin budget: only the plan's cap limits.
		if _, err := tx.Budget().Set(ctx, nil); err != nil {
			return err
		}
		_, err := tx.Budget().Set(ctx, new(capTokens+1))
		if rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("a budget over the plan's cap: %v, want invalid", err)
		}
		b, err := tx.Budget().Get(ctx)
		if err != nil {
			return err
		}
		if b.Plan != rampart.PlanStarter || b.PlanTokens == nil || *b.PlanTokens != capTokens || b.MonthlyTokens != nil || b.Remaining() != capTokens {
			t.Errorf("budget %+v", b)
		}
		var job uuid.UUID
		if err := tx.queryRow(ctx, `SELECT id FROM ai_jobs WHERE organization_id = $1 LIMIT 1`, admin.OrganizationID).Scan(&job); err != nil {
			return err
		}
		if err := tx.Budget().Reserve(ctx, job, int(capTokens+1)); !errors.Is(err, ErrBudgetExhausted) {
			t.Errorf("a reservation over the plan's cap: %v, want ErrBudgetExhausted", err)
		}
		return tx.Budget().Reserve(ctx, job, int(capTokens))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An event id is applied once: a replay, even concurrent, is refused and
// rolls back everything it did.
func TestStripeEventReplayRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	var admin rampart.Claims
	if err := s.AsService(ctx, "billing test fixture", func(ctx context.Context, tx *ServiceTx) error {
		var err error
		admin, err = seedTenant(ctx, tx, "org-a")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ev := StripeEvent{ID: "evt_once", Type: "customer.subscription.updated", Created: now, CustomerID: "cus_orga"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won, replays int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Billing().ApplyStripeEvent(ctx, ev, toPlan(rampart.PlanTeam, now))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrStripeReplay):
				replays++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || replays != 7 {
		t.Fatalf("%d applied, %d replays refused; want 1 and 7", won, replays)
	}
	before, err := s.Billing().Account(ctx, admin.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	// A replay carrying another change changes nothing.
	later := now.Add(time.Minute)
	if _, err := s.Billing().ApplyStripeEvent(ctx, StripeEvent{ID: "evt_once", Type: "customer.subscription.updated", Created: later, CustomerID: "cus_orga"},
		toPlan(rampart.PlanBusiness, later)); !errors.Is(err, ErrStripeReplay) {
		t.Fatalf("replay: %v", err)
	}
	after, err := s.Billing().Account(ctx, admin.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Plan != rampart.PlanTeam || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("the replay changed the account: %+v", after)
	}
}

// Pruning forgets only the ids received before the cut-off, on the
// audited service path.
func TestPruneStripeEvents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := openStore(t, db, Options{})
	ctx := context.Background()
	for _, id := range []string{"evt_old", "evt_new"} {
		if _, err := s.Billing().ApplyStripeEvent(ctx, StripeEvent{ID: id, Type: "customer.created", Created: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	adminExec(t, db.AdminURL, `UPDATE stripe_events SET received_at = now() - interval '91 days' WHERE event_id = 'evt_old'`)
	n, err := s.Billing().PruneStripeEvents(ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	// The newer id is still refused as a replay.
	if _, err := s.Billing().ApplyStripeEvent(ctx, StripeEvent{ID: "evt_new", Type: "customer.created", Created: time.Now()}, nil); !errors.Is(err, ErrStripeReplay) {
		t.Fatalf("replay after pruning: %v", err)
	}
}
