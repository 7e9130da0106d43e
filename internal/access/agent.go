package access

import (
	"slices"
	"strings"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// AgentType names one of the AI agents a member may run.
type AgentType string

// The agent types.
const (
	AgentProposalWriter AgentType = "proposal_writer"
	AgentBOMDrafter     AgentType = "bom_drafter"
	AgentVendorRanker   AgentType = "vendor_ranker"
	AgentBudgetAnalyst  AgentType = "budget_analyst"
	// AgentCrewMatcher ranks crew members for a proposal's skills,
	// certifications and dates; the day rate is a signal only for roles
	// with full cost access.
	AgentCrewMatcher AgentType = "crew_matcher"
)

// AllAgentTypes lists every agent type.
var AllAgentTypes = []AgentType{AgentProposalWriter, AgentBOMDrafter, AgentVendorRanker, AgentBudgetAnalyst, AgentCrewMatcher}

// knownAgentTypes backs Valid, so that changing the exported AllAgentTypes
// cannot widen what CheckAgent accepts.
var knownAgentTypes = setOf(AllAgentTypes)

// Valid reports whether t is one of the agent types.
func (t AgentType) Valid() bool { return knownAgentTypes[t] }

// agentTier is one row of agentTiers: the agent types a role may run and
// the scope it may run them in (ScopeAll, ScopeOwnVenues or ScopeNone).
type agentTier struct {
	types []AgentType
	scope Scope
}

// AgentTypesFor returns the agent types role r may run, in AllAgentTypes
// order; none for an unknown role.
func AgentTypesFor(r rampart.Role) []AgentType {
	return slices.Clone(agentTiers[r].types)
}

// AgentScope returns the scope within which role r may run agents:
// ScopeAll, ScopeOwnVenues, or ScopeNone (also for an unknown role).
func AgentScope(r rampart.Role) Scope {
	t, ok := agentTiers[r]
	if !ok || len(t.types) == 0 {
		return ScopeNone
	}
	return t.scope
}

// CheckAgent decides whether the caller may run an agent of type t on
// venueCode (empty when the work belongs to no venue). It applies layer 1,
// the role tier, and layer 2, the venue scope: a venue_manager must name one
// of their own venue codes. The agent's output still goes through layer 3,
// the output filter, on its way out.
//
// It returns a *rampart.Error of KindInvalid for an unknown agent type and
// of KindForbidden when the caller may not run it; messages are safe to show.
func CheckAgent(c rampart.Claims, t AgentType, venueCode string) error {
	const op = "access.CheckAgent"
	if !t.Valid() {
		names := make([]string, len(AllAgentTypes))
		for i, a := range AllAgentTypes {
			names[i] = string(a)
		}
		return rampart.Errorf(op, rampart.KindInvalid, "Unknown agent type; expected one of %s.", strings.Join(names, ", "))
	}
	if c.Validate() != nil {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not permit running agents.")
	}
	tier := agentTiers[c.Role]
	// Layer 1: role tier. budget_analyst reads costs and vendor_ranker
	// reads the vendor directory (sourcing), so both also need full cost
	// access whatever the tier table says.
	if !slices.Contains(tier.types, t) || (needsCostAccess(t) && !HasFullCostAccess(c.Role)) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not permit running the %s agent.", t)
	}
	// Layer 2: venue scope.
	switch tier.scope {
	case ScopeAll:
	case ScopeOwnVenues:
		if venueCode == "" {
			return rampart.Errorf(op, rampart.KindForbidden, "Your role may run the %s agent only for one of your venues; name the venue.", t)
		}
		if !slices.Contains(c.VenueCodes, venueCode) {
			return rampart.Errorf(op, rampart.KindForbidden, "Your role may run the %s agent only for one of your venues.", t)
		}
	default:
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not permit running the %s agent.", t)
	}
	// Requesting AI is also a matrix action; both tables must agree.
	if !Can(c, ActionRequestAI, Resource{Kind: KindAgentProposal, VenueCode: venueCode}) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not permit requesting AI here.")
	}
	return nil
}

// needsCostAccess reports whether agent type t reads data only roles with
// full cost access may see: costs (budget_analyst) or sourcing, the
// vendor directory (vendor_ranker).
func needsCostAccess(t AgentType) bool { return t == AgentBudgetAnalyst || t == AgentVendorRanker }
