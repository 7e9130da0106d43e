package crew

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Ranker is the agent type whose weights match crew.
const Ranker = access.AgentCrewMatcher

// MaxCandidates bounds a match's answer.
const MaxCandidates = 50

// Patch changes the fields that are set (see store.CrewPatch).
type Patch = store.CrewPatch

// CostAccess reports whether the caller reads and writes day rates.
func CostAccess(c rampart.Claims) bool { return access.HasFullCostAccess(c.Role) }

func forbiddenCost(op string) error {
	return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: it may not read or set a day rate.")
}

func check(op string, c rampart.Claims, a access.Action) error {
	if !access.Can(c, a, access.Resource{Kind: access.KindCrew}) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not permit %s on the crew list.", a.Label())
	}
	return nil
}

// Member is a crew member as the caller may see them.
type Member struct {
	Public *rampart.CrewMember
	Costed *rampart.CostedCrewMember
}

// Value is what a response carries.
func (m Member) Value() any {
	if m.Costed != nil {
		return *m.Costed
	}
	return *m.Public
}

func view(ctx context.Context, tx *store.TenantTx, m rampart.CrewMember) (Member, error) {
	if !CostAccess(tx.Claims()) {
		return Member{Public: &m}, nil
	}
	cm, err := tx.Crew().GetCosted(ctx, m.ID)
	return Member{Costed: &cm}, err
}

// List returns the crew list: with day rates for a role with full cost
// access (a []rampart.CostedCrewMember), without for the others.
func List(ctx context.Context, st *store.Store, c rampart.Claims) (any, error) {
	const op = "crew.List"
	if err := check(op, c, access.ActionRead); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (any, error) {
		if CostAccess(c) {
			return tx.Crew().ListCosted(ctx)
		}
		return tx.Crew().List(ctx)
	})
}

// Get reads one crew member as the caller may see them.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (Member, error) {
	const op = "crew.Get"
	if err := check(op, c, access.ActionRead); err != nil {
		return Member{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Member, error) {
		m, err := tx.Crew().Get(ctx, id)
		if err != nil {
			return Member{}, err
		}
		return view(ctx, tx, m)
	})
}

// Create adds a crew member; rate needs full cost access.
func Create(ctx context.Context, st *store.Store, c rampart.Claims, m rampart.CrewMember, rate *rampart.Money) (Member, error) {
	const op = "crew.Create"
	if err := rampart.ValidateCrewMember(&m); err != nil {
		return Member{}, err
	}
	if err := rampart.ValidateDayRate(rate); err != nil {
		return Member{}, err
	}
	if err := check(op, c, access.ActionEdit); err != nil {
		return Member{}, err
	}
	if rate != nil && !CostAccess(c) {
		return Member{}, forbiddenCost(op)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Member, error) {
		out, err := tx.Crew().Create(ctx, m, rate)
		if err != nil {
			return Member{}, err
		}
		return view(ctx, tx, out)
	})
}

// Update changes a crew member.
func Update(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, p Patch) (Member, error) {
	const op = "crew.Update"
	if err := check(op, c, access.ActionEdit); err != nil {
		return Member{}, err
	}
	if p.TouchesCost() && !CostAccess(c) {
		return Member{}, forbiddenCost(op)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Member, error) {
		out, err := tx.Crew().Update(ctx, id, p)
		if err != nil {
			return Member{}, err
		}
		return view(ctx, tx, out)
	})
}

// Delete removes a crew member.
func Delete(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "crew.Delete"
	if err := check(op, c, access.ActionEdit); err != nil {
		return err
	}
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		return tx.Crew().Delete(ctx, id)
	})
}

// Candidate is a matched crew member without a day rate, with the
// signals that produced the score (no day-rate signal).
type Candidate struct {
	CrewMember rampart.CrewMember `json:"crew_member"`
	Score      float64            `json:"score"`
	Signals    []rampart.Signal   `json:"signals"`
}

// CostedCandidate is a matched crew member with the day rate, for a role
// with full cost access; the day rate is one of the signals.
type CostedCandidate struct {
	CrewMember rampart.CostedCrewMember `json:"crew_member"`
	Score      float64                  `json:"score"`
	Signals    []rampart.Signal         `json:"signals"`
}

// Match is the crew_matcher's answer for a role without full cost access.
type Match struct {
	ProposalID uuid.UUID                `json:"proposal_id"`
	Ranker     access.AgentType         `json:"ranker"`
	Request    rampart.CrewMatchRequest `json:"request"`
	Weights    map[string]float64       `json:"weights"`
	Candidates []Candidate              `json:"candidates"`
}

// CostedMatch is the crew_matcher's answer for a role with full cost access.
type CostedMatch struct {
	ProposalID uuid.UUID                `json:"proposal_id"`
	Ranker     access.AgentType         `json:"ranker"`
	Request    rampart.CrewMatchRequest `json:"request"`
	Weights    map[string]float64       `json:"weights"`
	Candidates []CostedCandidate        `json:"candidates"`
}

// Result is a match as the caller may see it.
type Result struct {
	Public *Match
	Costed *CostedMatch
}

// Value is what a response carries.
func (r Result) Value() any {
	if r.Costed != nil {
		return *r.Costed
	}
	return *r.Public
}

// PublicFeatures are the features every role's match uses; CostFeatures
// adds the day rate for roles with full cost access.
var (
	PublicFeatures = []string{"skills", "certifications", "availability"}
	CostFeatures   = []string{"skills", "certifications", "availability", "day_rate"}
)

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

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

// scored is one member's score and signals.
type scored struct {
	index   int
	score   float64
	signals []rampart.Signal
}

// Score matches crew against req as of asOf (the day certifications must
// still be valid on when req has no dates). rates, when not nil, holds
// each member's readable day rate (by index; nil for none) and adds the
// day-rate feature; without it the feature is not used at all. busy holds
// the ranges members are already assigned elsewhere (by member id): those
// days do not count as available. It is pure and deterministic: best
// first, then name, then id.
func Score(members []rampart.CrewMember, rates []*rampart.Money, busy map[uuid.UUID][]rampart.DateRange, req rampart.CrewMatchRequest, asOf time.Time, weights map[string]float64) ([]int, [][]rampart.Signal, []float64) {
	features := PublicFeatures
	if rates != nil {
		features = CostFeatures
	}
	w := normalise(weights, features)
	validOn := asOf.Format(time.DateOnly)
	if req.Dates != nil {
		validOn = string(req.Dates.To)
	}
	// Day-rate bounds per currency, over the candidates that have one.
	lo, hi := map[string]int64{}, map[string]int64{}
	for _, r := range rates {
		if r == nil {
			continue
		}
		if v, ok := lo[r.Currency]; !ok || r.Minor < v {
			lo[r.Currency] = r.Minor
		}
		if v, ok := hi[r.Currency]; !ok || r.Minor > v {
			hi[r.Currency] = r.Minor
		}
	}
	// The days of the work, once for every member.
	var workDays []rampart.Day
	if req.Dates != nil {
		from, _ := req.Dates.From.Time()
		for d := range req.Dates.Days() {
			workDays = append(workDays, rampart.Day(from.AddDate(0, 0, d).Format(time.DateOnly)))
		}
	}
	out := make([]scored, len(members))
	for i, m := range members {
		sig := func(name string, raw any, norm float64, note string) rampart.Signal {
			norm = round4(math.Max(0, math.Min(1, norm)))
			return rampart.Signal{Name: name, Raw: raw, Normalized: norm, Weight: w[name], Contribution: round4(norm * w[name]), Note: note}
		}
		var signals []rampart.Signal
		// Skills: the share of the wanted skills the member has.
		if len(req.Skills) == 0 {
			signals = append(signals, sig("skills", 0, 1, "no skills requested"))
		} else {
			have := 0
			for _, s := range req.Skills {
				if slices.Contains(m.Skills, s) {
					have++
				}
			}
			signals = append(signals, sig("skills", have, float64(have)/float64(len(req.Skills)), ""))
		}
		// Certifications: the share of the wanted ones held and valid on
		// the last day of the work.
		if len(req.Certifications) == 0 {
			signals = append(signals, sig("certifications", 0, 1, "no certifications requested"))
		} else {
			valid := 0
			for _, want := range req.Certifications {
				for _, c := range m.Certifications {
					if c.Name == want && string(c.ExpiresOn) >= validOn {
						valid++
						break
					}
				}
			}
			signals = append(signals, sig("certifications", valid, float64(valid)/float64(len(req.Certifications)), ""))
		}
		// Availability: the share of the work's days inside one of the
		// member's available ranges.
		if req.Dates == nil {
			signals = append(signals, sig("availability", nil, 0.5, "no dates requested: neutral"))
		} else {
			days, free, booked := len(workDays), 0, 0
			for _, day := range workDays {
				switch {
				case !inAny(day, m.Availability):
				case inAny(day, busy[m.ID]):
					booked++
				default:
					free++
				}
			}
			note := ""
			if booked > 0 {
				note = fmt.Sprintf("%d of the days already assigned to another proposal", booked)
			}
			signals = append(signals, sig("availability", free, float64(free)/float64(days), note))
		}
		if rates != nil {
			r := rates[i]
			switch {
			case r == nil:
				signals = append(signals, sig("day_rate", nil, 0.5, "no readable day rate: neutral"))
			case hi[r.Currency] == lo[r.Currency]:
				signals = append(signals, sig("day_rate", *r, 1, ""))
			default:
				signals = append(signals, sig("day_rate", *r, float64(hi[r.Currency]-r.Minor)/float64(hi[r.Currency]-lo[r.Currency]), ""))
			}
		}
		score := 0.0
		for _, s := range signals {
			score += s.Contribution
		}
		out[i] = scored{index: i, score: round4(score), signals: signals}
	}
	slices.SortStableFunc(out, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		ma, mb := members[a.index], members[b.index]
		if c := strings.Compare(ma.Name, mb.Name); c != 0 {
			return c
		}
		return strings.Compare(ma.ID.String(), mb.ID.String())
	})
	order := make([]int, len(out))
	sigs := make([][]rampart.Signal, len(out))
	scores := make([]float64, len(out))
	for i, s := range out {
		order[i], sigs[i], scores[i] = s.index, s.signals, s.score
	}
	return order, sigs, scores
}

// inAny reports whether day falls in one of rs.
func inAny(day rampart.Day, rs []rampart.DateRange) bool {
	for _, r := range rs {
		if day >= r.From && day <= r.To {
			return true
		}
	}
	return false
}

// match computes the caller's view of a match in tx.
func match(ctx context.Context, tx *store.TenantTx, proposalID uuid.UUID, req rampart.CrewMatchRequest, asOf time.Time) (Result, error) {
	weights, err := learning.Weights(ctx, tx, Ranker)
	if err != nil {
		return Result{}, err
	}
	var busy map[uuid.UUID][]rampart.DateRange
	if req.Dates != nil {
		if busy, err = tx.Crew().Busy(ctx, proposalID, *req.Dates); err != nil {
			return Result{}, err
		}
	}
	if !CostAccess(tx.Claims()) {
		members, err := tx.Crew().List(ctx)
		if err != nil {
			return Result{}, err
		}
		order, sigs, scores := Score(members, nil, busy, req, asOf, weights)
		m := Match{ProposalID: proposalID, Ranker: Ranker, Request: req, Weights: normalise(weights, PublicFeatures), Candidates: []Candidate{}}
		for i, idx := range order {
			if i == MaxCandidates {
				break
			}
			m.Candidates = append(m.Candidates, Candidate{CrewMember: members[idx], Score: scores[i], Signals: sigs[i]})
		}
		return Result{Public: &m}, nil
	}
	costed, err := tx.Crew().ListCosted(ctx)
	if err != nil {
		return Result{}, err
	}
	members := make([]rampart.CrewMember, len(costed))
	rates := make([]*rampart.Money, len(costed))
	for i, cm := range costed {
		members[i], rates[i] = cm.CrewMember, cm.DayRate
	}
	order, sigs, scores := Score(members, rates, busy, req, asOf, weights)
	m := CostedMatch{ProposalID: proposalID, Ranker: Ranker, Request: req, Weights: normalise(weights, CostFeatures), Candidates: []CostedCandidate{}}
	for i, idx := range order {
		if i == MaxCandidates {
			break
		}
		m.Candidates = append(m.Candidates, CostedCandidate{CrewMember: costed[idx], Score: scores[i], Signals: sigs[i]})
	}
	return Result{Costed: &m}, nil
}

// MatchCrew runs the crew_matcher for a proposal the caller may read (the
// agent checks have passed at the edge). asOf is the day certifications
// must be valid on when the request has no dates. The run is audited
// (the top candidates' ids and scores; no day rate).
func MatchCrew(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, req rampart.CrewMatchRequest, asOf time.Time) (Result, error) {
	const op = "crew.Match"
	if err := req.Normalize(); err != nil {
		return Result{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Result, error) {
		p, err := proposal.Readable(ctx, tx, op, proposalID)
		if err != nil {
			return Result{}, err
		}
		// The agent router checked this already; a caller other than the
		// router (the console, a job) gets the same check here.
		if err := access.CheckAgent(c, Ranker, proposal.Resource(p).VenueCode); err != nil {
			return Result{}, err
		}
		r, err := match(ctx, tx, proposalID, req, asOf)
		if err != nil {
			return r, err
		}
		top := []map[string]any{}
		n := 0
		if r.Costed != nil {
			for _, cd := range r.Costed.Candidates {
				if n == 3 {
					break
				}
				top, n = append(top, map[string]any{"id": cd.CrewMember.ID, "score": cd.Score}), n+1
			}
		} else {
			for _, cd := range r.Public.Candidates {
				if n == 3 {
					break
				}
				top, n = append(top, map[string]any{"id": cd.CrewMember.ID, "score": cd.Score}), n+1
			}
		}
		meta, _ := json.Marshal(map[string]any{"request": req, "top": top, "cost_features": CostAccess(c)})
		return r, tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: c.UserID.String(), Action: audit.ActionCrewMatched,
			TargetType: "proposal", TargetID: proposalID.String(), Metadata: meta})
	})
}

// ApplyAssignment applies a crew assignment in the caller's transaction tx
// (whose claims must be c), with the same access check as the manual
// route: the caller may read and edit the proposal. When the assignment
// carries the match request it was chosen from, the crew_matcher learns
// from it (the member's signals, as the caller's view scores them, count
// as an approval).
func ApplyAssignment(ctx context.Context, tx *store.TenantTx, c rampart.Claims, a rampart.CrewAssignment) (rampart.CrewAssignmentRecord, error) {
	const op = "crew.ApplyAssignment"
	if err := a.Validate(); err != nil {
		return rampart.CrewAssignmentRecord{}, err
	}
	tc := tx.Claims()
	if tc.OrganizationID != c.OrganizationID || tc.UserID != c.UserID || tc.Role != c.Role {
		return rampart.CrewAssignmentRecord{}, rampart.Errorf(op, rampart.KindForbidden, "An assignment is applied only in its approver's own transaction.")
	}
	p, err := proposal.Readable(ctx, tx, op, a.ProposalID)
	if err != nil {
		return rampart.CrewAssignmentRecord{}, err
	}
	if err := access.Check(c, access.ActionEdit, proposal.Resource(p)); err != nil {
		return rampart.CrewAssignmentRecord{}, err
	}
	if a.Request != nil {
		if err := a.Request.Normalize(); err != nil {
			return rampart.CrewAssignmentRecord{}, err
		}
	}
	rec, err := tx.Crew().Assign(ctx, a)
	if err != nil || a.Request == nil {
		return rec, err
	}
	req := *a.Request
	if req.Dates == nil {
		d := a.Dates
		req.Dates = &d
	}
	r, err := match(ctx, tx, a.ProposalID, req, time.Time{})
	if err != nil {
		return rec, err
	}
	if r.Costed != nil {
		for _, cd := range r.Costed.Candidates {
			if cd.CrewMember.ID == a.CrewMemberID {
				return rec, learning.Observe(ctx, tx, Ranker, cd.Signals, true)
			}
		}
		return rec, nil
	}
	for _, cd := range r.Public.Candidates {
		if cd.CrewMember.ID == a.CrewMemberID {
			return rec, learning.Observe(ctx, tx, Ranker, cd.Signals, true)
		}
	}
	return rec, nil
}

// Assign is the manual route: a person assigns crew to a proposal.
func Assign(ctx context.Context, st *store.Store, c rampart.Claims, a rampart.CrewAssignment) (rampart.CrewAssignmentRecord, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.CrewAssignmentRecord, error) {
		return ApplyAssignment(ctx, tx, c, a)
	})
}

// Assignments lists a proposal's crew assignments.
func Assignments(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.CrewAssignmentRecord, error) {
	const op = "crew.Assignments"
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.CrewAssignmentRecord, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return nil, err
		}
		return tx.Crew().Assignments(ctx, proposalID)
	})
}

// Unassign removes an assignment from a proposal the caller may edit.
func Unassign(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "crew.Unassign"
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		a, err := tx.Crew().Assignment(ctx, id)
		if err != nil {
			return err
		}
		p, err := proposal.Readable(ctx, tx, op, a.ProposalID)
		if err != nil {
			return err
		}
		if err := access.Check(c, access.ActionEdit, proposal.Resource(p)); err != nil {
			return err
		}
		return tx.Crew().Unassign(ctx, id)
	})
}
