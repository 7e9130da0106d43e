package learning_test

import (
	"context"
	"math"
	"testing"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestObserveIsPerOrganizationAndBounded: rejections push a feature's
// weight down to base − MaxAdjustment and no further (and never below
// MinWeight); another organization's weights stay the base; an unknown
// ranker is invalid and writes nothing; a reset by a non-admin is refused.
func TestObserveIsPerOrganizationAndBounded(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	signals := []rampart.Signal{{Name: "distance", Normalized: 1}, {Name: "made_up", Normalized: 1}}
	for range 20 {
		if err := f.Store.InTenant(ctx, producer, func(ctx context.Context, tx *store.TenantTx) error {
			return learning.Observe(ctx, tx, access.AgentVendorRanker, signals, false)
		}); err != nil {
			t.Fatal(err)
		}
	}
	base := learning.BaseWeights(access.AgentVendorRanker)
	weights := func(c rampart.Claims) map[string]float64 {
		w, err := store.InTenantValue(ctx, f.Store, c, func(ctx context.Context, tx *store.TenantTx) (map[string]float64, error) {
			return learning.Weights(ctx, tx, access.AgentVendorRanker)
		})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := weights(producer)
	if want := base["distance"] - learning.MaxAdjustment; math.Abs(w["distance"]-want) > 1e-9 {
		t.Errorf("distance weight %v after 20 rejections, want the bound %v", w["distance"], want)
	}
	if w["price_band"] != base["price_band"] || len(w) != len(base) {
		t.Errorf("unobserved or unknown features changed: %v", w)
	}
	if g := weights(f.Globex.As(rampart.RoleProducer)); g["distance"] != base["distance"] {
		t.Errorf("globex's distance weight %v, want the base %v", g["distance"], base["distance"])
	}
	err := f.Store.InTenant(ctx, producer, func(ctx context.Context, tx *store.TenantTx) error {
		return learning.Observe(ctx, tx, access.AgentProposalWriter, signals, true)
	})
	storetest.Kind(t, "an agent that is not a ranker", err, rampart.KindInvalid)
	if n := f.Count(t, `SELECT count(*)::int FROM learning_feedback`); n != 20 {
		t.Errorf("%d feedback rows, want 20", n)
	}
	_, err = learning.Reset(ctx, f.Store, producer)
	storetest.Kind(t, "a producer resets", err, rampart.KindForbidden)
	if n := f.Count(t, `SELECT count(*)::int FROM learned_weights`); n != 1 {
		t.Errorf("%d learned weights after a refused reset, want 1", n)
	}
}
