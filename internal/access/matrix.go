package access

import "github.com/rampart-dev/rampart/internal/rampart"

// This file is the permission data of DESIGN.md §4 and nothing else: Can,
// CheckAgent, HasFullCostAccess and docs/permissions.md all read these
// tables. Change a cell here, run `go generate ./internal/access`, and the
// docs follow; TestDocsAreGenerated fails until they do.

// matrix maps each role to the scope within which it may take each action.
// Every role spells out every action so a reviewer reads each cell; a
// missing cell would be ScopeNone, and TestMatrixIsComplete rejects it.
// The columns follow the DESIGN.md table: full cost access; manage members
// and org kill switch; sign/unsign SOW and actualize budget; approve agent
// proposals; request AI; edit (comment); read. ActionViewAudit is admin only.
var matrix = map[rampart.Role]map[Action]Scope{
	rampart.RoleAdmin: {
		ActionViewCost:             ScopeAll,
		ActionManageMembers:        ScopeAll,
		ActionOrgKillSwitch:        ScopeAll,
		ActionSignSOW:              ScopeAll,
		ActionUnsignSOW:            ScopeAll,
		ActionActualizeBudget:      ScopeAll,
		ActionApproveAgentProposal: ScopeAll,
		ActionRequestAI:            ScopeAll,
		ActionEdit:                 ScopeAll,
		ActionComment:              ScopeAll,
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeAll,
	},
	rampart.RoleExecutiveProducer: {
		ActionViewCost:             ScopeAll,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeAll,
		ActionUnsignSOW:            ScopeAll,
		ActionActualizeBudget:      ScopeAll,
		ActionApproveAgentProposal: ScopeAll,
		ActionRequestAI:            ScopeAll,
		ActionEdit:                 ScopeAll,
		ActionComment:              ScopeAll,
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeNone,
	},
	rampart.RoleProducer: {
		ActionViewCost:             ScopeAll,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeNone,
		ActionUnsignSOW:            ScopeNone,
		ActionActualizeBudget:      ScopeNone,
		ActionApproveAgentProposal: ScopeAll,
		ActionRequestAI:            ScopeAll,
		ActionEdit:                 ScopeAll,
		ActionComment:              ScopeAll,
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeNone,
	},
	rampart.RoleTechnicalDirector: {
		ActionViewCost:             ScopeNone,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeNone,
		ActionUnsignSOW:            ScopeNone,
		ActionActualizeBudget:      ScopeNone,
		ActionApproveAgentProposal: ScopeBOMOnly,
		ActionRequestAI:            ScopeAll,
		ActionEdit:                 ScopeBOMOnly,
		ActionComment:              ScopeAll, // commenting is less than editing; stakeholders may comment too
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeNone,
	},
	rampart.RoleVenueManager: {
		ActionViewCost:             ScopeNone,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeNone,
		ActionUnsignSOW:            ScopeNone,
		ActionActualizeBudget:      ScopeNone,
		ActionApproveAgentProposal: ScopeOwnVenues,
		ActionRequestAI:            ScopeOwnVenues,
		ActionEdit:                 ScopeOwnVenues,
		ActionComment:              ScopeOwnVenues,
		ActionRead:                 ScopeOwnVenues,
		ActionViewAudit:            ScopeNone,
	},
	rampart.RoleStakeholder: {
		ActionViewCost:             ScopeNone,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeNone,
		ActionUnsignSOW:            ScopeNone,
		ActionActualizeBudget:      ScopeNone,
		ActionApproveAgentProposal: ScopeNone,
		ActionRequestAI:            ScopeNone,
		ActionEdit:                 ScopeComments, // "edit" is commenting only: ActionEdit itself is denied
		ActionComment:              ScopeAll,
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeNone,
	},
	rampart.RoleViewer: {
		ActionViewCost:             ScopeNone,
		ActionManageMembers:        ScopeNone,
		ActionOrgKillSwitch:        ScopeNone,
		ActionSignSOW:              ScopeNone,
		ActionUnsignSOW:            ScopeNone,
		ActionActualizeBudget:      ScopeNone,
		ActionApproveAgentProposal: ScopeNone,
		ActionRequestAI:            ScopeNone,
		ActionEdit:                 ScopeNone,
		ActionComment:              ScopeNone,
		ActionRead:                 ScopeAll,
		ActionViewAudit:            ScopeNone,
	},
}

// kindRules govern the administrative resource kinds. For a kind listed
// here only the listed actions exist, and each is decided by the matrix
// cell of the action it maps to: reading the audit log is ActionViewAudit,
// editing a member, invite or API token is ActionManageMembers. Any other
// action on such a kind is denied (the audit log cannot be edited or
// commented on by anyone). Kinds not listed are decided by the matrix with
// the action as asked.
var kindRules = map[ResourceKind]map[Action]Action{
	KindAudit: {
		ActionRead:      ActionViewAudit,
		ActionViewAudit: ActionViewAudit,
	},
	KindMember: {
		ActionRead:          ActionRead,
		ActionEdit:          ActionManageMembers,
		ActionManageMembers: ActionManageMembers,
	},
	KindInvite: {
		ActionRead:          ActionManageMembers,
		ActionEdit:          ActionManageMembers,
		ActionManageMembers: ActionManageMembers,
	},
	KindAPIToken: {
		ActionRead:          ActionManageMembers,
		ActionEdit:          ActionManageMembers,
		ActionManageMembers: ActionManageMembers,
	},
	// Integration credentials grant access to the organization's books at
	// an outside provider: the admins who manage members manage them, and
	// nobody else may even list them.
	KindIntegration: {
		ActionRead:          ActionManageMembers,
		ActionEdit:          ActionManageMembers,
		ActionManageMembers: ActionManageMembers,
	},
	// The vendor directory is sourcing (DESIGN.md §4): reading it is full
	// cost access; editing it needs that and the edit right.
	KindVendor: {
		ActionRead:     ActionViewCost,
		ActionViewCost: ActionViewCost,
		ActionEdit:     ActionEdit,
	},
	KindOrganization: {
		ActionRead:          ActionRead,
		ActionEdit:          ActionManageMembers,
		ActionManageMembers: ActionManageMembers,
		ActionOrgKillSwitch: ActionOrgKillSwitch,
		ActionViewCost:      ActionViewCost,
	},
}

// agentTiers maps each role to the agent types it may run (layer 1) and the
// scope it may run them in (layer 2). budget_analyst and vendor_ranker
// appear only for roles with full cost access (costs; the vendor directory
// is sourcing); TestAgentTiersAgreeWithMatrix keeps it that way and
// CheckAgent enforces it again. crew_matcher runs for the roles that staff
// events; for roles without full cost access it ranks without the day rate.
var agentTiers = map[rampart.Role]agentTier{
	rampart.RoleAdmin:             {scope: ScopeAll, types: []AgentType{AgentProposalWriter, AgentBOMDrafter, AgentVendorRanker, AgentBudgetAnalyst, AgentCrewMatcher}},
	rampart.RoleExecutiveProducer: {scope: ScopeAll, types: []AgentType{AgentProposalWriter, AgentBOMDrafter, AgentVendorRanker, AgentBudgetAnalyst, AgentCrewMatcher}},
	rampart.RoleProducer:          {scope: ScopeAll, types: []AgentType{AgentProposalWriter, AgentBOMDrafter, AgentVendorRanker, AgentBudgetAnalyst, AgentCrewMatcher}},
	rampart.RoleTechnicalDirector: {scope: ScopeAll, types: []AgentType{AgentBOMDrafter, AgentCrewMatcher}},
	rampart.RoleVenueManager:      {scope: ScopeOwnVenues, types: []AgentType{AgentProposalWriter, AgentBOMDrafter, AgentCrewMatcher}},
	rampart.RoleStakeholder:       {scope: ScopeNone},
	rampart.RoleViewer:            {scope: ScopeNone},
}
