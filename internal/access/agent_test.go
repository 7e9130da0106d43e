package access

import (
	"errors"
	"slices"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestCheckAgent checks every role × agent type × venue case. The tiers
// are written out here a second time by hand: "all" runs anywhere, "own"
// only on one of the caller's venues, "" never.
func TestCheckAgent(t *testing.T) {
	t.Parallel()
	allFour := map[AgentType]string{AgentProposalWriter: "all", AgentBOMDrafter: "all", AgentVendorRanker: "all", AgentBudgetAnalyst: "all", AgentCrewMatcher: "all"}
	tiers := map[rampart.Role]map[AgentType]string{
		rampart.RoleAdmin:             allFour,
		rampart.RoleExecutiveProducer: allFour,
		rampart.RoleProducer:          allFour,
		rampart.RoleTechnicalDirector: {AgentBOMDrafter: "all", AgentCrewMatcher: "all"},
		rampart.RoleVenueManager:      {AgentProposalWriter: "own", AgentBOMDrafter: "own", AgentCrewMatcher: "own"},
		rampart.RoleStakeholder:       {},
		rampart.RoleViewer:            {},
	}
	venues := []struct {
		name, code string
		own        bool
	}{
		{"own venue", "LON1", true},
		{"second own venue", "MAN2", true},
		{"other venue", "NYC9", false},
		{"no venue", "", false},
	}
	for _, role := range rampart.Roles {
		for _, typ := range AllAgentTypes {
			for _, v := range venues {
				var allowed bool
				switch tiers[role][typ] {
				case "all":
					allowed = true
				case "own":
					allowed = v.own
				}
				t.Run(string(role)+"/"+string(typ)+"/"+v.name, func(t *testing.T) {
					t.Parallel()
					err := CheckAgent(claimsOf(role), typ, v.code)
					if allowed {
						if err != nil {
							t.Fatalf("CheckAgent = %v, want nil", err)
						}
						return
					}
					var e *rampart.Error
					if !errors.As(err, &e) || e.Kind != rampart.KindForbidden || e.Message == "" {
						t.Fatalf("CheckAgent = %#v, want a *rampart.Error of KindForbidden with a message", err)
					}
				})
			}
		}
	}
}

func TestCheckAgentInvalid(t *testing.T) {
	t.Parallel()
	for _, role := range append(slices.Clone(rampart.Roles), "owner") {
		for _, typ := range []AgentType{"", "Proposal_Writer", "ceo", "budget_analyst "} {
			t.Run(string(role)+"/"+string(typ), func(t *testing.T) {
				t.Parallel()
				err := CheckAgent(claimsOf(role), typ, "LON1")
				if rampart.ErrorKind(err) != rampart.KindInvalid {
					t.Fatalf("CheckAgent(%q) = %v, want KindInvalid", typ, err)
				}
			})
		}
	}
}

func TestCheckAgentDeniesBadClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims rampart.Claims
		venue  string
	}{
		{"unknown role", claimsFor("owner"), ""},
		{"zero organization", rampart.Claims{UserID: [16]byte{2}, Role: rampart.RoleAdmin}, ""},
		{"venue manager without venues", claimsFor(rampart.RoleVenueManager), "LON1"},
		{"venue code in other case", claimsFor(rampart.RoleVenueManager, "LON1"), "lon1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := CheckAgent(tt.claims, AgentProposalWriter, tt.venue); rampart.ErrorKind(err) != rampart.KindForbidden {
				t.Fatalf("CheckAgent = %v, want KindForbidden", err)
			}
		})
	}
}

// TestAgentTiersAgreeWithMatrix: the agent tiers never grant more than the
// matrix does, and budget_analyst needs full cost access.
func TestAgentTiersAgreeWithMatrix(t *testing.T) {
	t.Parallel()
	if len(agentTiers) != len(rampart.Roles) {
		t.Fatalf("agentTiers covers %d roles, want %d", len(agentTiers), len(rampart.Roles))
	}
	for _, role := range rampart.Roles {
		tier, ok := agentTiers[role]
		if !ok {
			t.Errorf("no agent tier for %s", role)
			continue
		}
		for i, typ := range tier.types {
			if !typ.Valid() {
				t.Errorf("%s: unknown agent type %q", role, typ)
			}
			if i > 0 && slices.Index(AllAgentTypes, tier.types[i-1]) >= slices.Index(AllAgentTypes, typ) {
				t.Errorf("%s: agent types %v not in AllAgentTypes order", role, tier.types)
			}
		}
		for _, costly := range []AgentType{AgentBudgetAnalyst, AgentVendorRanker} {
			if slices.Contains(tier.types, costly) && !HasFullCostAccess(role) {
				t.Errorf("%s may run %s without full cost access", role, costly)
			}
		}
		requestAI := ScopeFor(role, ActionRequestAI)
		switch {
		case len(tier.types) == 0:
			if AgentScope(role) != ScopeNone {
				t.Errorf("%s runs no agents but has agent scope %q", role, AgentScope(role))
			}
		case tier.scope != requestAI:
			t.Errorf("%s: agent scope %q, but request AI scope %q", role, tier.scope, requestAI)
		}
	}
	if got := AgentTypesFor("owner"); len(got) != 0 {
		t.Errorf("AgentTypesFor(unknown) = %v", got)
	}
	got := AgentTypesFor(rampart.RoleTechnicalDirector)
	got[0] = AgentBudgetAnalyst // must not write through to the table
	if agentTiers[rampart.RoleTechnicalDirector].types[0] != AgentBOMDrafter {
		t.Error("AgentTypesFor returned the table's own slice")
	}
}
