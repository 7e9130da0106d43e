package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// The rankers choose nothing themselves: their top candidate becomes an
// agent proposal (a vendor choice, a crew assignment) that a person
// approves or rejects; approving applies it as the approver
// (vendors.ApplyChoice, crew.ApplyAssignment) and both decisions teach the
// organization's learned weights.

// ProposeVendorChoice records the ranking's top candidate as the
// vendor_ranker's proposal, acting for c. It returns nil when the ranking
// has no candidate. The signals go to the restricted part of the change
// (the vendor directory is cost data).
func ProposeVendorChoice(ctx context.Context, st *store.Store, c rampart.Claims, r vendors.Ranking, at time.Time) (*rampart.PricedAgentProposal, error) {
	if len(r.Candidates) == 0 {
		return nil, nil
	}
	top := r.Candidates[0]
	// The rationale is read by every reader of the proposal: it names no
	// vendor and no signal (those are cost data, in the restricted part).
	why := fmt.Sprintf("The vendor that ranks first of %d %s vendors, with a score of %.2f; the ranking behind it is shown to roles with full cost access.",
		len(r.Candidates), r.Category, top.Score)
	n := rampart.NewAgentProposal{ProposalID: r.ProposalID, AgentType: string(vendors.Ranker), Kind: rampart.ProposeVendorChoice,
		Change: rampart.AgentChange{VendorChoice: &rampart.VendorChoice{ProposalID: r.ProposalID, Category: r.Category, VendorID: top.Vendor.ID}},
		Cost:   rampart.AgentChangeCost{Signals: top.Signals}, Rationale: plain(why), At: at}
	return propose(ctx, st, c, n)
}

// ProposeCrewAssignment records the match's top candidate as the
// crew_matcher's proposal for the request's dates, acting for c. It
// returns nil when there is no candidate or the request has no dates (an
// assignment needs them). Signals without the day rate are public; the
// costed ones (with it) go to the restricted part.
func ProposeCrewAssignment(ctx context.Context, st *store.Store, c rampart.Claims, m crew.Result, at time.Time) (*rampart.PricedAgentProposal, error) {
	var (
		req                    rampart.CrewMatchRequest
		name                   string
		score                  float64
		n                      int
		member                 rampart.CrewMember
		public, costed, signal []rampart.Signal
	)
	switch {
	case m.Costed != nil && len(m.Costed.Candidates) > 0:
		top := m.Costed.Candidates[0]
		req, n, member, score, signal = m.Costed.Request, len(m.Costed.Candidates), top.CrewMember.CrewMember, top.Score, top.Signals
		costed = top.Signals
	case m.Public != nil && len(m.Public.Candidates) > 0:
		top := m.Public.Candidates[0]
		req, n, member, score, signal = m.Public.Request, len(m.Public.Candidates), top.CrewMember, top.Score, top.Signals
	default:
		return nil, nil
	}
	if req.Dates == nil {
		return nil, nil
	}
	for _, s := range signal {
		if s.Name != "day_rate" {
			public = append(public, s)
		}
	}
	name = member.Name
	a := rampart.CrewAssignment{ProposalID: proposalOf(m), CrewMemberID: member.ID, Dates: *req.Dates, Request: &req}
	why := fmt.Sprintf("%s matches best of %d crew members with a score of %.2f: %s.", name, n, score, drivers(public))
	p := rampart.NewAgentProposal{ProposalID: a.ProposalID, AgentType: string(crew.Ranker), Kind: rampart.ProposeCrewAssignment,
		Change: rampart.AgentChange{CrewAssignment: &a, Signals: public}, Cost: rampart.AgentChangeCost{Signals: costed},
		Rationale: plain(why), At: at}
	return propose(ctx, st, c, p)
}

func proposalOf(m crew.Result) uuid.UUID {
	if m.Costed != nil {
		return m.Costed.ProposalID
	}
	return m.Public.ProposalID
}

func propose(ctx context.Context, st *store.Store, c rampart.Claims, n rampart.NewAgentProposal) (*rampart.PricedAgentProposal, error) {
	var out rampart.PricedAgentProposal
	err := st.InAgent(ctx, c, n.AgentType, func(ctx context.Context, tx *store.AgentTx) error {
		var err error
		out, err = tx.Propose(ctx, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// drivers names the signals that contributed most, largest first.
func drivers(signals []rampart.Signal) string {
	best := slices.Clone(signals)
	slices.SortStableFunc(best, func(a, b rampart.Signal) int { return cmp.Compare(b.Contribution, a.Contribution) })
	var parts []string
	for i, s := range best {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", strings.ReplaceAll(s.Name, "_", " "), s.Contribution))
	}
	if len(parts) == 0 {
		return "no signals"
	}
	return "strongest signals " + strings.Join(parts, ", ")
}

// plain keeps a rationale within the domain's rules (names are people's
// input: no markup reaches a rationale).
func plain(s string) string {
	s = strings.NewReplacer("<", "‹", ">", "›").Replace(s)
	if r := []rune(s); len(r) > 4000 {
		s = string(r[:4000])
	}
	return s
}
