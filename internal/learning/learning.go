package learning

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// MaxAdjustment bounds a learned adjustment of a base weight (either way).
const MaxAdjustment = 0.15

// Rate is how far one observation moves an adjustment: Rate × (normalised
// value − 0.5), towards the features of approved candidates and away from
// those of rejected ones.
const Rate = 0.05

// MinWeight is the floor of an effective weight: a feature never drops
// out of a ranking by learning alone.
const MinWeight = 0.01

// The features of each ranker and their base weights (docs/vendors-and-crew.md).
var baseWeights = map[access.AgentType]map[string]float64{
	access.AgentVendorRanker: {
		"on_time_rate": 0.35,
		"price_band":   0.25,
		"lead_time":    0.20,
		"distance":     0.20,
	},
	access.AgentCrewMatcher: {
		"skills":         0.40,
		"certifications": 0.30,
		"availability":   0.20,
		"day_rate":       0.10,
	},
}

func known(ranker access.AgentType, op string) (map[string]float64, error) {
	b, ok := baseWeights[ranker]
	if !ok {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "%q is not a ranker with learned weights", ranker)
	}
	return b, nil
}

// BaseWeights returns a copy of ranker's base weights (nil for an agent
// type that is not a ranker).
func BaseWeights(ranker access.AgentType) map[string]float64 {
	b := baseWeights[ranker]
	if b == nil {
		return nil
	}
	out := make(map[string]float64, len(b))
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Weights returns ranker's effective weights for the transaction's
// organization: each base weight plus the organization's learned
// adjustment, floored at MinWeight. Rankers normalise them over the
// features they use, so scores stay within 0..1.
func Weights(ctx context.Context, tx *store.TenantTx, ranker access.AgentType) (map[string]float64, error) {
	const op = "learning.Weights"
	base, err := known(ranker, op)
	if err != nil {
		return nil, err
	}
	learned, err := tx.LearnedState().Weights(ctx, string(ranker))
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(base))
	for k, v := range base {
		out[k] = v
	}
	for _, w := range learned {
		if b, ok := base[w.Feature]; ok {
			out[w.Feature] = math.Max(MinWeight, b+clamp(w.Adjustment))
		}
	}
	return out, nil
}

func clamp(x float64) float64 { return math.Max(-MaxAdjustment, math.Min(MaxAdjustment, x)) }

// Observe learns from one decision on a ranked candidate: signals are the
// candidate's signals as the ranker produced them, approved says whether a
// person approved (chose) or rejected it. Each known feature's adjustment
// moves by Rate × (normalised − 0.5), positive for an approval and
// negative for a rejection, clamped to ±MaxAdjustment; the observation is
// appended to the feedback history. Unknown features are ignored. It runs
// in the caller's transaction, so it commits or rolls back with the
// decision it learns from.
func Observe(ctx context.Context, tx *store.TenantTx, ranker access.AgentType, signals []rampart.Signal, approved bool) error {
	const op = "learning.Observe"
	base, err := known(ranker, op)
	if err != nil {
		return err
	}
	sign := 1.0
	if !approved {
		sign = -1
	}
	seen := map[string]float64{}
	for _, s := range signals {
		if _, ok := base[s.Name]; !ok || math.IsNaN(s.Normalized) {
			continue
		}
		seen[s.Name] = math.Max(0, math.Min(1, s.Normalized))
	}
	if len(seen) == 0 {
		return nil
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names) // a fixed order: the same locks in the same order
	ls := tx.LearnedState()
	for _, n := range names {
		if _, err := ls.Adjust(ctx, string(ranker), n, sign*Rate*(seen[n]-0.5), MaxAdjustment); err != nil {
			return err
		}
	}
	return ls.RecordFeedback(ctx, string(ranker), approved, seen)
}

// Feature is one feature of a ranker as the organization has it now.
type Feature struct {
	Name         string  `json:"name"`
	BaseWeight   float64 `json:"base_weight"`
	Adjustment   float64 `json:"adjustment"`
	Weight       float64 `json:"weight"`
	Observations int     `json:"observations"`
}

// State is the calling organization's learned state, per ranker.
type State struct {
	Rankers       map[access.AgentType][]Feature `json:"rankers"`
	FeedbackCount int64                          `json:"feedback_count"`
}

func adminOnly(op string, c rampart.Claims) error {
	if !access.Can(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}) {
		return rampart.Errorf(op, rampart.KindForbidden, "Only an admin may read or reset the organization's learned patterns.")
	}
	return nil
}

// Read returns the organization's learned state (admins only).
func Read(ctx context.Context, st *store.Store, c rampart.Claims) (State, error) {
	const op = "learning.Read"
	if err := adminOnly(op, c); err != nil {
		return State{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (State, error) {
		out := State{Rankers: map[access.AgentType][]Feature{}}
		rankers := []access.AgentType{access.AgentVendorRanker, access.AgentCrewMatcher}
		for _, r := range rankers {
			learned, err := tx.LearnedState().Weights(ctx, string(r))
			if err != nil {
				return out, err
			}
			byName := map[string]store.LearnedWeight{}
			for _, w := range learned {
				byName[w.Feature] = w
			}
			var fs []Feature
			for name, b := range baseWeights[r] {
				w := byName[name]
				fs = append(fs, Feature{Name: name, BaseWeight: b, Adjustment: w.Adjustment,
					Weight: math.Max(MinWeight, b+clamp(w.Adjustment)), Observations: w.Observations})
			}
			slices.SortFunc(fs, func(a, b Feature) int { return strings.Compare(a.Name, b.Name) })
			out.Rankers[r] = fs
		}
		_, fb, err := tx.LearnedState().Counts(ctx)
		out.FeedbackCount = fb
		return out, err
	})
}

// Reset deletes the calling organization's learned state (admins only):
// every learned-state table is cleared for this organization and one
// audit event per table records how many rows it held. Other
// organizations are untouched. It returns the rows removed per table.
func Reset(ctx context.Context, st *store.Store, c rampart.Claims) (map[string]int64, error) {
	const op = "learning.Reset"
	if err := adminOnly(op, c); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (map[string]int64, error) {
		return tx.LearnedState().Reset(ctx)
	})
}
