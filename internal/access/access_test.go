package access

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// claimsFor returns valid claims for role r with the given venue codes.
func claimsFor(r rampart.Role, venues ...string) rampart.Claims {
	return rampart.Claims{OrganizationID: [16]byte{1}, UserID: [16]byte{2}, Role: r, VenueCodes: venues}
}

// claimsOf returns the claims the matrix tests use for role r: a venue
// manager holds LON1 and MAN2, every other role holds no venue codes.
func claimsOf(r rampart.Role) rampart.Claims {
	if r == rampart.RoleVenueManager {
		return claimsFor(r, "LON1", "MAN2")
	}
	return claimsFor(r)
}

// resources are the representative resources of the matrix test, named
// kind@venue: "own" is a venue of the venue manager, "other" is not, and
// "none" carries no venue code.
var resources = map[string]Resource{
	"proposal@own":        {Kind: KindProposal, VenueCode: "LON1"},
	"proposal@other":      {Kind: KindProposal, VenueCode: "NYC9"},
	"proposal@none":       {Kind: KindProposal},
	"bom@own":             {Kind: KindBOM, VenueCode: "MAN2"},
	"bom@other":           {Kind: KindBOM, VenueCode: "NYC9"},
	"bom@none":            {Kind: KindBOM},
	"sow@own":             {Kind: KindSOW, VenueCode: "LON1"},
	"budget@own":          {Kind: KindBudget, VenueCode: "LON1"},
	"budget@none":         {Kind: KindBudget},
	"venue@own":           {Kind: KindVenue, VenueCode: "LON1"},
	"agent_proposal@own":  {Kind: KindAgentProposal, VenueCode: "LON1"},
	"agent_proposal@none": {Kind: KindAgentProposal},
}

// Expected sets of resource names, written out independently of the scope
// logic under test.
var (
	every   = slices.Sorted(maps.Keys(resources))
	nothing = []string{}
	ownOnly = []string{"proposal@own", "bom@own", "sow@own", "budget@own", "venue@own", "agent_proposal@own"}
	bomOnly = []string{"bom@own", "bom@other", "bom@none"}
)

// TestCanMatrix checks every role × action × representative resource
// against DESIGN.md §4, written out here a second time by hand.
func TestCanMatrix(t *testing.T) {
	t.Parallel()
	want := map[rampart.Role]map[Action][]string{
		rampart.RoleAdmin: {
			ActionViewCost: every, ActionManageMembers: every, ActionOrgKillSwitch: every,
			ActionSignSOW: every, ActionUnsignSOW: every, ActionActualizeBudget: every,
			ActionApproveAgentProposal: every, ActionRequestAI: every, ActionEdit: every,
			ActionComment: every, ActionRead: every, ActionViewAudit: every,
		},
		rampart.RoleExecutiveProducer: {
			ActionViewCost: every, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: every, ActionUnsignSOW: every, ActionActualizeBudget: every,
			ActionApproveAgentProposal: every, ActionRequestAI: every, ActionEdit: every,
			ActionComment: every, ActionRead: every, ActionViewAudit: nothing,
		},
		rampart.RoleProducer: {
			ActionViewCost: every, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: nothing, ActionUnsignSOW: nothing, ActionActualizeBudget: nothing,
			ActionApproveAgentProposal: every, ActionRequestAI: every, ActionEdit: every,
			ActionComment: every, ActionRead: every, ActionViewAudit: nothing,
		},
		rampart.RoleTechnicalDirector: {
			ActionViewCost: nothing, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: nothing, ActionUnsignSOW: nothing, ActionActualizeBudget: nothing,
			ActionApproveAgentProposal: bomOnly, ActionRequestAI: every, ActionEdit: bomOnly,
			ActionComment: every, ActionRead: every, ActionViewAudit: nothing,
		},
		rampart.RoleVenueManager: {
			ActionViewCost: nothing, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: nothing, ActionUnsignSOW: nothing, ActionActualizeBudget: nothing,
			ActionApproveAgentProposal: ownOnly, ActionRequestAI: ownOnly, ActionEdit: ownOnly,
			ActionComment: ownOnly, ActionRead: ownOnly, ActionViewAudit: nothing,
		},
		rampart.RoleStakeholder: {
			ActionViewCost: nothing, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: nothing, ActionUnsignSOW: nothing, ActionActualizeBudget: nothing,
			ActionApproveAgentProposal: nothing, ActionRequestAI: nothing, ActionEdit: nothing,
			ActionComment: every, ActionRead: every, ActionViewAudit: nothing,
		},
		rampart.RoleViewer: {
			ActionViewCost: nothing, ActionManageMembers: nothing, ActionOrgKillSwitch: nothing,
			ActionSignSOW: nothing, ActionUnsignSOW: nothing, ActionActualizeBudget: nothing,
			ActionApproveAgentProposal: nothing, ActionRequestAI: nothing, ActionEdit: nothing,
			ActionComment: nothing, ActionRead: every, ActionViewAudit: nothing,
		},
	}
	if len(want) != len(rampart.Roles) {
		t.Fatalf("test table covers %d roles, want %d", len(want), len(rampart.Roles))
	}
	for _, role := range rampart.Roles {
		if len(want[role]) != len(AllActions) {
			t.Fatalf("test table row %s covers %d actions, want %d", role, len(want[role]), len(AllActions))
		}
		for _, action := range AllActions {
			for _, name := range every {
				allowed := slices.Contains(want[role][action], name)
				t.Run(string(role)+"/"+string(action)+"/"+name, func(t *testing.T) {
					t.Parallel()
					c, r := claimsOf(role), resources[name]
					if got := Can(c, action, r); got != allowed {
						t.Fatalf("Can(%s, %s, %+v) = %v, want %v", role, action, r, got, allowed)
					}
					err := Check(c, action, r)
					if allowed != (err == nil) {
						t.Fatalf("Check(%s, %s, %+v) = %v, want allowed=%v", role, action, r, err, allowed)
					}
				})
			}
		}
	}
}

// TestCanAdministrativeKinds checks the kind rules: the audit log is read
// through ActionViewAudit and never edited; members, invites, API tokens
// and the organization are changed through the admin actions.
func TestCanAdministrativeKinds(t *testing.T) {
	t.Parallel()
	org := Resource{Kind: KindOrganization}
	tests := []struct {
		role   rampart.Role
		action Action
		kind   ResourceKind
		want   bool
	}{
		{rampart.RoleAdmin, ActionRead, KindAudit, true},
		{rampart.RoleAdmin, ActionViewAudit, KindAudit, true},
		{rampart.RoleAdmin, ActionEdit, KindAudit, false},
		{rampart.RoleAdmin, ActionComment, KindAudit, false},
		{rampart.RoleExecutiveProducer, ActionRead, KindAudit, false},
		{rampart.RoleProducer, ActionRead, KindAudit, false},
		{rampart.RoleViewer, ActionRead, KindAudit, false},
		{rampart.RoleStakeholder, ActionComment, KindAudit, false},

		{rampart.RoleViewer, ActionRead, KindMember, true},
		{rampart.RoleStakeholder, ActionRead, KindMember, true},
		{rampart.RoleStakeholder, ActionComment, KindMember, false},
		{rampart.RoleVenueManager, ActionRead, KindMember, false}, // no venue code: fail closed
		{rampart.RoleAdmin, ActionEdit, KindMember, true},
		{rampart.RoleAdmin, ActionManageMembers, KindMember, true},
		{rampart.RoleExecutiveProducer, ActionEdit, KindMember, false},
		{rampart.RoleProducer, ActionManageMembers, KindMember, false},

		{rampart.RoleAdmin, ActionRead, KindInvite, true},
		{rampart.RoleAdmin, ActionEdit, KindInvite, true},
		{rampart.RoleExecutiveProducer, ActionRead, KindInvite, false},
		{rampart.RoleViewer, ActionRead, KindInvite, false},
		{rampart.RoleAdmin, ActionRead, KindAPIToken, true},
		{rampart.RoleAdmin, ActionManageMembers, KindAPIToken, true},
		{rampart.RoleProducer, ActionRead, KindAPIToken, false},
		{rampart.RoleExecutiveProducer, ActionEdit, KindAPIToken, false},
		{rampart.RoleAdmin, ActionComment, KindAPIToken, false},

		{rampart.RoleAdmin, ActionOrgKillSwitch, org.Kind, true},
		{rampart.RoleExecutiveProducer, ActionOrgKillSwitch, org.Kind, false},
		{rampart.RoleAdmin, ActionEdit, org.Kind, true},
		{rampart.RoleExecutiveProducer, ActionEdit, org.Kind, false},
		{rampart.RoleViewer, ActionRead, org.Kind, true},
		{rampart.RoleProducer, ActionViewCost, org.Kind, true},
		{rampart.RoleTechnicalDirector, ActionViewCost, org.Kind, false},
		{rampart.RoleAdmin, ActionSignSOW, org.Kind, false}, // not an action on the organization
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+"/"+string(tt.action)+"/"+string(tt.kind), func(t *testing.T) {
			t.Parallel()
			if got := Can(claimsOf(tt.role), tt.action, Resource{Kind: tt.kind}); got != tt.want {
				t.Fatalf("Can(%s, %s, %s) = %v, want %v", tt.role, tt.action, tt.kind, got, tt.want)
			}
		})
	}
}

// TestCanDeniesByDefault: anything the matrix does not name is denied.
func TestCanDeniesByDefault(t *testing.T) {
	t.Parallel()
	proposal := Resource{Kind: KindProposal, VenueCode: "LON1"}
	tests := []struct {
		name   string
		claims rampart.Claims
		action Action
		res    Resource
	}{
		{"unknown role", claimsFor("owner"), ActionRead, proposal},
		{"empty role", claimsFor(""), ActionRead, proposal},
		{"role in other case", claimsFor("Admin"), ActionRead, proposal},
		{"unknown action", claimsFor(rampart.RoleAdmin), "delete", proposal},
		{"empty action", claimsFor(rampart.RoleAdmin), "", proposal},
		{"unknown kind", claimsFor(rampart.RoleAdmin), ActionRead, Resource{Kind: "secret"}},
		{"empty kind", claimsFor(rampart.RoleAdmin), ActionRead, Resource{}},
		{"zero organization", rampart.Claims{UserID: [16]byte{2}, Role: rampart.RoleAdmin}, ActionRead, proposal},
		{"zero user", rampart.Claims{OrganizationID: [16]byte{1}, Role: rampart.RoleAdmin}, ActionRead, proposal},
		{"venue codes on a non-venue role", claimsFor(rampart.RoleAdmin, "LON1"), ActionRead, proposal},
		{"malformed venue code", claimsFor(rampart.RoleVenueManager, "lon1"), ActionRead, Resource{Kind: KindProposal, VenueCode: "lon1"}},
		{"venue manager without venues", claimsFor(rampart.RoleVenueManager), ActionRead, proposal},
		{"venue code in other case", claimsFor(rampart.RoleVenueManager, "LON1"), ActionRead, Resource{Kind: KindProposal, VenueCode: "lon1"}},
		{"venue code prefix", claimsFor(rampart.RoleVenueManager, "LON1"), ActionRead, Resource{Kind: KindProposal, VenueCode: "LON"}},
		{"stakeholder edit", claimsFor(rampart.RoleStakeholder), ActionEdit, proposal},
		{"technical director edits proposal", claimsFor(rampart.RoleTechnicalDirector), ActionEdit, proposal},
		{"technical director approves agent proposal kind", claimsFor(rampart.RoleTechnicalDirector), ActionApproveAgentProposal, Resource{Kind: KindAgentProposal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if Can(tt.claims, tt.action, tt.res) {
				t.Fatalf("Can(%+v, %q, %+v) = true, want false", tt.claims, tt.action, tt.res)
			}
			err := Check(tt.claims, tt.action, tt.res)
			var e *rampart.Error
			if !errors.As(err, &e) || e.Kind != rampart.KindForbidden {
				t.Fatalf("Check = %v, want a *rampart.Error of KindForbidden", err)
			}
		})
	}
}

func TestCheckMessage(t *testing.T) {
	t.Parallel()
	c := claimsFor(rampart.RoleVenueManager, "LON1")
	if err := Check(c, ActionEdit, Resource{Kind: KindProposal, VenueCode: "LON1"}); err != nil {
		t.Fatalf("Check on own venue = %v, want nil", err)
	}
	err := Check(c, ActionEdit, Resource{Kind: KindProposal, VenueCode: "NYC9"})
	if rampart.ErrorKind(err) != rampart.KindForbidden {
		t.Fatalf("Check on other venue kind = %v, want forbidden", rampart.ErrorKind(err))
	}
	msg := rampart.ErrorMessage(err)
	if msg != `Your role does not permit "edit" on this proposal.` {
		t.Fatalf("message = %q", msg)
	}
	if strings.Contains(msg, "NYC9") {
		t.Fatalf("message %q names the venue", msg)
	}
	msg = rampart.ErrorMessage(Check(c, "drop\ntable", Resource{Kind: "x\ny"}))
	if msg != "Your role does not permit this action on this resource." {
		t.Fatalf("message for unknown action and kind = %q", msg)
	}
}

// TestMatrixIsComplete: every role spells out every action with a known
// scope, and the declared lists agree with the tables.
func TestMatrixIsComplete(t *testing.T) {
	t.Parallel()
	if got, want := slices.Sorted(maps.Keys(matrix)), slices.Sorted(slices.Values(rampart.Roles)); !slices.Equal(got, want) {
		t.Fatalf("matrix roles = %v, want %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(actionLabels)), slices.Sorted(slices.Values(AllActions)); !slices.Equal(got, want) {
		t.Fatalf("action labels = %v, AllActions = %v", got, want)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(AllActions)))) != len(AllActions) {
		t.Fatalf("AllActions has duplicates: %v", AllActions)
	}
	for role, row := range matrix {
		if got, want := slices.Sorted(maps.Keys(row)), slices.Sorted(slices.Values(AllActions)); !slices.Equal(got, want) {
			t.Errorf("matrix[%s] actions = %v, want %v", role, got, want)
		}
		for a, s := range row {
			if _, ok := cellLabels[s]; !ok {
				t.Errorf("matrix[%s][%s] = unknown scope %q", role, a, s)
			}
			if s == ScopeComments && a != ActionEdit {
				t.Errorf("matrix[%s][%s] = comments; that scope only describes edit", role, a)
			}
		}
		if role != rampart.RoleAdmin && row[ActionViewAudit] != ScopeNone {
			t.Errorf("%s may view the audit log; it is admin only", role)
		}
	}
	for k, rules := range kindRules {
		if !k.Valid() {
			t.Errorf("kindRules has unknown kind %q", k)
		}
		for a, g := range rules {
			if !a.Valid() || !g.Valid() {
				t.Errorf("kindRules[%s] maps %q to %q; both must be actions", k, a, g)
			}
		}
	}
}

func TestScopeFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role   rampart.Role
		action Action
		want   Scope
	}{
		{rampart.RoleTechnicalDirector, ActionEdit, ScopeBOMOnly},
		{rampart.RoleVenueManager, ActionRead, ScopeOwnVenues},
		{rampart.RoleStakeholder, ActionEdit, ScopeComments},
		{rampart.RoleViewer, ActionRead, ScopeAll},
		{"owner", ActionRead, ScopeNone},
		{rampart.RoleAdmin, "delete", ScopeNone},
	}
	for _, tt := range tests {
		if got := ScopeFor(tt.role, tt.action); got != tt.want {
			t.Errorf("ScopeFor(%s, %s) = %q, want %q", tt.role, tt.action, got, tt.want)
		}
	}
}
