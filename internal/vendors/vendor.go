package vendors

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Ranker is the agent type whose weights rank vendors.
const Ranker = access.AgentVendorRanker

// Normalisation bounds: a lead time of MaxLeadDays or more, or a depot
// MaxDistanceKm or more away, normalises to 0.
const (
	MaxLeadDays   = 60
	MaxDistanceKm = 500
)

func directoryAccess(op string, c rampart.Claims, a access.Action) error {
	if !access.HasFullCostAccess(c.Role) || !access.Can(c, a, access.Resource{Kind: access.KindVendor}) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: the vendor directory is sourcing information.")
	}
	return nil
}

// List returns the organization's vendors, of one category when category
// is not empty.
func List(ctx context.Context, st *store.Store, c rampart.Claims, category rampart.BOMCategory) ([]rampart.Vendor, error) {
	const op = "vendors.List"
	if category != "" && !category.Valid() {
		return nil, rampart.FieldError(op, "category", "is not a known category")
	}
	if err := directoryAccess(op, c, access.ActionRead); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Vendor, error) {
		return tx.Vendors().List(ctx, category)
	})
}

// Get reads one vendor.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.Vendor, error) {
	const op = "vendors.Get"
	if err := directoryAccess(op, c, access.ActionRead); err != nil {
		return rampart.Vendor{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Vendor, error) {
		return tx.Vendors().Get(ctx, id)
	})
}

// Create adds a vendor.
func Create(ctx context.Context, st *store.Store, c rampart.Claims, v rampart.Vendor) (rampart.Vendor, error) {
	const op = "vendors.Create"
	if err := rampart.ValidateVendor(v); err != nil {
		return v, err
	}
	if err := directoryAccess(op, c, access.ActionEdit); err != nil {
		return v, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Vendor, error) {
		return tx.Vendors().Create(ctx, v)
	})
}

// Update changes a vendor.
func Update(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, change func(*rampart.Vendor)) (rampart.Vendor, error) {
	const op = "vendors.Update"
	if err := directoryAccess(op, c, access.ActionEdit); err != nil {
		return rampart.Vendor{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Vendor, error) {
		return tx.Vendors().Update(ctx, id, change)
	})
}

// Delete removes a vendor.
func Delete(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "vendors.Delete"
	if err := directoryAccess(op, c, access.ActionEdit); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Vendors().Delete(ctx, id)
	})
}

// Candidate is a ranked vendor: its score and the signals that produced it.
type Candidate struct {
	Vendor  rampart.Vendor   `json:"vendor"`
	Score   float64          `json:"score"`
	Signals []rampart.Signal `json:"signals"`
}

// Ranking is the vendor_ranker's answer for one proposal and category:
// the candidates best first, and the weights used (base plus the
// organization's learned adjustment, normalised to sum to 1).
type Ranking struct {
	ProposalID uuid.UUID           `json:"proposal_id"`
	Category   rampart.BOMCategory `json:"category"`
	Ranker     access.AgentType    `json:"ranker"`
	Weights    map[string]float64  `json:"weights"`
	Candidates []Candidate         `json:"candidates"`
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// normalise scales weights over the named features to sum to 1.
func normalise(w map[string]float64, features []string) map[string]float64 {
	sum := 0.0
	for _, f := range features {
		sum += w[f]
	}
	out := make(map[string]float64, len(features))
	for _, f := range features {
		if sum > 0 {
			out[f] = round4(w[f] / sum)
		}
	}
	return out
}

// Features are the vendor_ranker's features, in the order signals list them.
var Features = []string{"on_time_rate", "price_band", "lead_time", "distance"}

// Score ranks vendors for a venue at venue (nil when it has no
// coordinates) with weights (normalised over Features). It is pure and
// deterministic: best score first, then name, then id.
func Score(vendors []rampart.Vendor, venue *rampart.GeoPoint, weights map[string]float64) []Candidate {
	w := normalise(weights, Features)
	out := make([]Candidate, 0, len(vendors))
	for _, v := range vendors {
		sig := func(name string, raw any, norm float64, note string) rampart.Signal {
			norm = round4(math.Max(0, math.Min(1, norm)))
			return rampart.Signal{Name: name, Raw: raw, Normalized: norm, Weight: w[name], Contribution: round4(norm * w[name]), Note: note}
		}
		// On-time rate, smoothed (one on-time and one late delivery
		// assumed) so a vendor without history is 0.5, not 0 or 1.
		rate := float64(v.OnTimeCount+1) / float64(v.OnTimeCount+v.LateCount+2)
		signals := []rampart.Signal{
			sig("on_time_rate", round4(rate), rate, ""),
			sig("price_band", v.PriceBand, float64(rampart.MaxPriceBand-v.PriceBand)/float64(rampart.MaxPriceBand-1), ""),
			sig("lead_time", v.LeadTimeDays, 1-math.Min(float64(v.LeadTimeDays), MaxLeadDays)/MaxLeadDays, ""),
		}
		switch {
		case venue == nil:
			signals = append(signals, sig("distance", nil, 0.5, "the venue has no coordinates: neutral"))
		case v.Depot == nil:
			signals = append(signals, sig("distance", nil, 0.5, "the vendor has no depot location: neutral"))
		default:
			km := v.Depot.DistanceKm(*venue)
			signals = append(signals, sig("distance", math.Round(km*10)/10, 1-math.Min(km, MaxDistanceKm)/MaxDistanceKm, ""))
		}
		score := 0.0
		for _, s := range signals {
			score += s.Contribution
		}
		out = append(out, Candidate{Vendor: v, Score: round4(score), Signals: signals})
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Vendor.Name, b.Vendor.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Vendor.ID.String(), b.Vendor.ID.String())
	})
	return out
}

// rank computes the ranking in tx for a proposal the caller may read.
func rank(ctx context.Context, tx *store.TenantTx, p rampart.ProposalSummary, category rampart.BOMCategory) (Ranking, error) {
	vendors, err := tx.Vendors().List(ctx, category)
	if err != nil {
		return Ranking{}, err
	}
	var venue *rampart.GeoPoint
	if p.VenueCode != nil {
		if venue, err = tx.Vendors().VenueLocation(ctx, *p.VenueCode); err != nil {
			return Ranking{}, err
		}
	}
	weights, err := learning.Weights(ctx, tx, Ranker)
	if err != nil {
		return Ranking{}, err
	}
	return Ranking{ProposalID: p.ID, Category: category, Ranker: Ranker, Weights: normalise(weights, Features),
		Candidates: Score(vendors, venue, weights)}, nil
}

// Rank runs the vendor_ranker for a proposal's category. The caller has
// passed the agent checks (edge.Router.Agent); this checks again that
// the role has full cost access and may read the proposal. The run is
// audited (the top candidates and the weights, not the whole answer).
func Rank(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, category rampart.BOMCategory) (Ranking, error) {
	const op = "vendors.Rank"
	if !category.Valid() {
		return Ranking{}, rampart.FieldError(op, "category", "is not a known category")
	}
	if err := directoryAccess(op, c, access.ActionRead); err != nil {
		return Ranking{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Ranking, error) {
		p, err := proposal.Readable(ctx, tx, op, proposalID)
		if err != nil {
			return Ranking{}, err
		}
		// The agent router checked this already; a caller other than the
		// router (the console, a job) gets the same check here.
		if err := access.CheckAgent(c, Ranker, proposal.Resource(p).VenueCode); err != nil {
			return Ranking{}, err
		}
		r, err := rank(ctx, tx, p, category)
		if err != nil {
			return r, err
		}
		top := []map[string]any{}
		for i, cd := range r.Candidates {
			if i == 3 {
				break
			}
			top = append(top, map[string]any{"id": cd.Vendor.ID, "score": cd.Score})
		}
		meta, _ := json.Marshal(map[string]any{"category": category, "candidates": len(r.Candidates), "top": top, "weights": r.Weights})
		return r, tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: c.UserID.String(), Action: audit.ActionVendorsRanked,
			TargetType: "proposal", TargetID: proposalID.String(), Metadata: meta})
	})
}

// ApplyChoice applies a vendor choice in the caller's transaction tx
// (whose claims must be c): the same access check as the manual route
// (the caller may read and edit the proposal and has full cost access),
// then the choice is recorded (audited, replacing an earlier choice for
// the category) and the ranker learns from it: the chosen vendor's
// signals, as the ranker scores them now, count as an approval.
func ApplyChoice(ctx context.Context, tx *store.TenantTx, c rampart.Claims, ch rampart.VendorChoice) (rampart.VendorChoiceRecord, error) {
	const op = "vendors.ApplyChoice"
	if err := ch.Validate(); err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	tc := tx.Claims()
	if tc.OrganizationID != c.OrganizationID || tc.UserID != c.UserID || tc.Role != c.Role {
		return rampart.VendorChoiceRecord{}, rampart.Errorf(op, rampart.KindForbidden, "A choice is applied only in its approver's own transaction.")
	}
	p, err := proposal.Readable(ctx, tx, op, ch.ProposalID)
	if err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	if err := access.Check(c, access.ActionEdit, proposal.Resource(p)); err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	if err := directoryAccess(op, c, access.ActionEdit); err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	v, err := tx.Vendors().Get(ctx, ch.VendorID)
	if err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	if v.Category != ch.Category {
		return rampart.VendorChoiceRecord{}, rampart.FieldError(op, "vendor_id", "the vendor is a %s vendor, not %s", v.Category, ch.Category)
	}
	rec, err := tx.Vendors().Choose(ctx, ch)
	if err != nil {
		return rec, err
	}
	r, err := rank(ctx, tx, p, ch.Category)
	if err != nil {
		return rec, err
	}
	for _, cd := range r.Candidates {
		if cd.Vendor.ID == ch.VendorID {
			return rec, learning.Observe(ctx, tx, Ranker, cd.Signals, true)
		}
	}
	return rec, nil
}

// Choose is the manual route: a person chooses a vendor for a proposal's
// category, in a transaction of their own.
func Choose(ctx context.Context, st *store.Store, c rampart.Claims, ch rampart.VendorChoice) (rampart.VendorChoiceRecord, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.VendorChoiceRecord, error) {
		return ApplyChoice(ctx, tx, c, ch)
	})
}

// Choices lists the vendors chosen for a proposal (full cost access).
func Choices(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.VendorChoiceRecord, error) {
	const op = "vendors.Choices"
	if err := directoryAccess(op, c, access.ActionRead); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.VendorChoiceRecord, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return nil, err
		}
		return tx.Vendors().Choices(ctx, proposalID)
	})
}

// Unchoose removes a vendor choice from a proposal the caller may edit
// (full cost access, as for choosing).
func Unchoose(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "vendors.Unchoose"
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		ch, err := tx.Vendors().Choice(ctx, id)
		if err != nil {
			return err
		}
		p, err := proposal.Readable(ctx, tx, op, ch.ProposalID)
		if err != nil {
			return err
		}
		if err := access.Check(c, access.ActionEdit, proposal.Resource(p)); err != nil {
			return err
		}
		if err := directoryAccess(op, c, access.ActionEdit); err != nil {
			return err
		}
		return tx.Vendors().Unchoose(ctx, id)
	})
}
