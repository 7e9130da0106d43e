package vendors_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
	"github.com/rampart-dev/rampart/internal/vendors"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestScore: every signal's contribution is normalised × weight, the
// score is their sum, the weights used sum to 1, and the order is
// deterministic (equal scores by name, then id).
func TestScore(t *testing.T) {
	t.Parallel()
	venue := rampart.GeoPoint{Latitude: 48.8566, Longitude: 2.3522}
	vs := []rampart.Vendor{
		{ID: uuid.MustParse("00000000-0000-4000-8000-000000000002"), Name: "B", PriceBand: 2, LeadTimeDays: 10, OnTimeCount: 8, LateCount: 2},
		{ID: uuid.MustParse("00000000-0000-4000-8000-000000000001"), Name: "A", PriceBand: 2, LeadTimeDays: 10, OnTimeCount: 8, LateCount: 2},
		{ID: uuid.MustParse("00000000-0000-4000-8000-000000000003"), Name: "C", PriceBand: 1, LeadTimeDays: 0, OnTimeCount: 50, LateCount: 0,
			Depot: &rampart.GeoPoint{Latitude: 48.86, Longitude: 2.35}},
	}
	cands := vendors.Score(vs, &venue, learning.BaseWeights(vendors.Ranker))
	if cands[0].Vendor.Name != "C" || cands[1].Vendor.Name != "A" || cands[2].Vendor.Name != "B" {
		t.Fatalf("order %s %s %s", cands[0].Vendor.Name, cands[1].Vendor.Name, cands[2].Vendor.Name)
	}
	for _, c := range cands {
		sum, wsum := 0.0, 0.0
		for _, s := range c.Signals {
			if math.Abs(s.Normalized*s.Weight-s.Contribution) > 1e-4 || s.Normalized < 0 || s.Normalized > 1 {
				t.Errorf("%s %s: %+v", c.Vendor.Name, s.Name, s)
			}
			sum += s.Contribution
			wsum += s.Weight
		}
		if math.Abs(sum-c.Score) > 2e-4 || math.Abs(wsum-1) > 2e-4 {
			t.Errorf("%s: score %v, contributions %v, weights %v", c.Vendor.Name, c.Score, sum, wsum)
		}
	}
	if d := cands[0].Signals[3]; d.Name != "distance" || d.Raw == nil || d.Normalized < 0.99 {
		t.Errorf("C's distance signal %+v", d)
	}
	if d := cands[1].Signals[3]; d.Raw != nil || d.Normalized != 0.5 || d.Note == "" {
		t.Errorf("a vendor without a depot: %+v", d)
	}
}

// TestApplyChoice: the manual route's check in the caller's transaction
// (edit rights on the proposal and full cost access); another
// organization's vendor or proposal is not found; a vendor of another
// category is refused naming vendor_id; learning stays in the
// organization; the learned adjustment stays within its bound.
func TestApplyChoice(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	p, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Gala", VenueCode: "HALL-A"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vendors.Create(ctx, f.Store, producer, rampart.Vendor{Name: "Cheap Sound", Category: "audio", PriceBand: 1, LeadTimeDays: 3})
	if err != nil {
		t.Fatal(err)
	}
	lights, err := vendors.Create(ctx, f.Store, producer, rampart.Vendor{Name: "Lights", Category: "lighting", PriceBand: 4, LeadTimeDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	gv, err := vendors.Create(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), rampart.Vendor{Name: "Theirs", Category: "audio", PriceBand: 1, LeadTimeDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(c rampart.Claims, ch rampart.VendorChoice) error {
		return f.Store.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
			_, err := vendors.ApplyChoice(ctx, tx, c, ch)
			return err
		})
	}
	ch := rampart.VendorChoice{ProposalID: p.ID, Category: "audio", VendorID: v.ID}
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		storetest.Kind(t, string(role)+" chooses", apply(f.Acme.As(role), ch), rampart.KindForbidden)
	}
	storetest.Kind(t, "globex's vendor", apply(producer, rampart.VendorChoice{ProposalID: p.ID, Category: "audio", VendorID: gv.ID}), rampart.KindNotFound)
	storetest.Kind(t, "acme's proposal from globex", apply(f.Globex.As(rampart.RoleAdmin), rampart.VendorChoice{ProposalID: p.ID, Category: "audio", VendorID: gv.ID}), rampart.KindNotFound)
	err = apply(producer, rampart.VendorChoice{ProposalID: p.ID, Category: "audio", VendorID: lights.ID})
	if e, ok := err.(*rampart.Error); !ok || e.Kind != rampart.KindInvalid || !strings.HasPrefix(e.Message, "vendor_id:") {
		t.Errorf("a lighting vendor for audio: %#v", err)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM vendor_choices`); n != 0 {
		t.Fatalf("%d choices after refusals", n)
	}
	// Approving the same cheap, fast vendor many times: the price and lead
	// time adjustments rise to the bound and stop there.
	for range 10 {
		if err := apply(producer, ch); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Count(t, `SELECT count(*)::int FROM vendor_choices`); n != 1 {
		t.Errorf("%d choices, want one per proposal and category", n)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM learned_weights WHERE feature = 'price_band' AND adjustment = $1`, learning.MaxAdjustment); n != 1 {
		t.Errorf("price_band adjustment did not settle at the bound (%d rows)", n)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM learning_feedback WHERE organization_id = $1`, f.Acme.Organization.ID); n != 10 {
		t.Errorf("%d feedback rows, want 10", n)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM learned_weights WHERE organization_id = $1`, f.Globex.Organization.ID); n != 0 {
		t.Errorf("globex has %d learned weights from acme's choices", n)
	}
	// The learned weights reach the ranking, bounded.
	r, err := vendors.Rank(ctx, f.Store, producer, p.ID, "audio")
	if err != nil {
		t.Fatal(err)
	}
	base := learning.BaseWeights(vendors.Ranker)
	if r.Weights["price_band"] <= base["price_band"] {
		t.Errorf("learned price_band weight %v, base %v", r.Weights["price_band"], base["price_band"])
	}
	g, err := vendors.Rank(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), uuid.Nil, "audio")
	storetest.Kind(t, "rank an unknown proposal", err, rampart.KindNotFound)
	_ = g
}

// BenchmarkScore ranks 1,000 vendors (the directory's list limit) with
// depots against a venue: the pure scoring cost of one ranking.
func BenchmarkScore(b *testing.B) {
	venue := rampart.GeoPoint{Latitude: 48.8566, Longitude: 2.3522}
	vs := make([]rampart.Vendor, 1000)
	for i := range vs {
		vs[i] = rampart.Vendor{ID: uuid.New(), Name: "V", PriceBand: 1 + i%4, LeadTimeDays: i % 90, OnTimeCount: i % 50, LateCount: i % 7,
			Depot: &rampart.GeoPoint{Latitude: 45 + float64(i%10), Longitude: float64(i % 20)}}
	}
	w := learning.BaseWeights(vendors.Ranker)
	for b.Loop() {
		vendors.Score(vs, &venue, w)
	}
}
