package access

import (
	"slices"
	"strconv"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Action is something a member of an organization may ask to do.
type Action string

// The actions of the permission matrix.
const (
	// ActionViewCost is full cost access: seeing cost, price, margin,
	// sourcing and lead-time fields. Roles without it get filtered output.
	ActionViewCost Action = "view_cost"
	// ActionManageMembers covers members, invites and API tokens, and
	// editing the organization itself.
	ActionManageMembers        Action = "manage_members"
	ActionOrgKillSwitch        Action = "org_kill_switch"
	ActionSignSOW              Action = "sign_sow"
	ActionUnsignSOW            Action = "unsign_sow"
	ActionActualizeBudget      Action = "actualize_budget"
	ActionApproveAgentProposal Action = "approve_agent_proposal"
	ActionRequestAI            Action = "request_ai"
	ActionEdit                 Action = "edit"
	ActionComment              Action = "comment"
	ActionRead                 Action = "read"
	// ActionViewAudit is reading the audit log; admin only.
	ActionViewAudit Action = "view_audit"
)

// AllActions lists every action in the column order of the docs.
var AllActions = []Action{
	ActionViewCost, ActionManageMembers, ActionOrgKillSwitch,
	ActionSignSOW, ActionUnsignSOW, ActionActualizeBudget,
	ActionApproveAgentProposal, ActionRequestAI, ActionEdit, ActionComment,
	ActionRead, ActionViewAudit,
}

var actionLabels = map[Action]string{
	ActionViewCost:             "full cost access",
	ActionManageMembers:        "manage members, invites & API tokens",
	ActionOrgKillSwitch:        "org kill switch",
	ActionSignSOW:              "sign SOW",
	ActionUnsignSOW:            "unsign SOW",
	ActionActualizeBudget:      "actualize budget",
	ActionApproveAgentProposal: "approve agent proposals",
	ActionRequestAI:            "request AI",
	ActionEdit:                 "edit",
	ActionComment:              "comment",
	ActionRead:                 "read",
	ActionViewAudit:            "view audit log",
}

// Valid reports whether a is one of the actions of the matrix.
func (a Action) Valid() bool { _, ok := actionLabels[a]; return ok }

// Label is the human name of a, as the docs and error messages show it.
func (a Action) Label() string {
	if l, ok := actionLabels[a]; ok {
		return l
	}
	return string(a)
}

// Scope says how far an allowed action reaches.
type Scope string

// The scopes a matrix cell can hold.
const (
	// ScopeAll allows the action on every resource of the organization.
	ScopeAll Scope = "all"
	// ScopeNone denies the action.
	ScopeNone Scope = "none"
	// ScopeOwnVenues allows the action only on resources whose VenueCode is
	// one of the caller's venue codes; a resource without one is denied.
	ScopeOwnVenues Scope = "own venues"
	// ScopeBOMOnly allows the action only on bills of materials.
	ScopeBOMOnly Scope = "bom only"
	// ScopeComments marks an "edit" that is commenting only: it allows
	// ActionComment and nothing else.
	ScopeComments Scope = "comments"
)

// ResourceKind names what an action is taken on.
type ResourceKind string

// The resource kinds.
const (
	KindProposal      ResourceKind = "proposal"
	KindVenue         ResourceKind = "venue"
	KindBOM           ResourceKind = "bom"
	KindSOW           ResourceKind = "sow"
	KindBudget        ResourceKind = "budget"
	KindMember        ResourceKind = "member"
	KindOrganization  ResourceKind = "organization"
	KindAudit         ResourceKind = "audit"
	KindAgentProposal ResourceKind = "agent_proposal"
	KindAPIToken      ResourceKind = "api_token"
	KindInvite        ResourceKind = "invite"
	// KindIntegration is an organization's connection to an external
	// provider (its OAuth credentials): admins only, even to read.
	KindIntegration ResourceKind = "integration"
	// KindVendor is the vendor directory: sourcing information, so only
	// roles with full cost access read or edit it (kindRules).
	KindVendor ResourceKind = "vendor"
	// KindCrew is the crew list: every member reads it; the roles that
	// edit everything edit it. The day rate is a cost field on top.
	KindCrew ResourceKind = "crew"
)

// AllResourceKinds lists every resource kind.
var AllResourceKinds = []ResourceKind{
	KindProposal, KindVenue, KindBOM, KindSOW, KindBudget, KindMember,
	KindOrganization, KindAudit, KindAgentProposal, KindAPIToken, KindInvite,
	KindIntegration, KindVendor, KindCrew,
}

// knownKinds backs Valid, so that changing the exported AllResourceKinds
// cannot widen what Can accepts.
var knownKinds = setOf(AllResourceKinds)

// Valid reports whether k is one of the resource kinds.
func (k ResourceKind) Valid() bool { return knownKinds[k] }

func setOf[T comparable](xs []T) map[T]bool {
	m := make(map[T]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Resource is what an action is taken on: its kind and, for venue-bound
// rows, the venue code it belongs to. When approving an agent proposal,
// Kind is the kind of artefact the proposal would change (a drafted bill of
// materials is KindBOM), so that "BOM only" can be decided.
type Resource struct {
	Kind      ResourceKind
	VenueCode string
}

// ScopeFor returns the matrix cell of role r and action a; ScopeNone for an
// unknown role or action.
func ScopeFor(r rampart.Role, a Action) Scope {
	if s, ok := matrix[r][a]; ok {
		return s
	}
	return ScopeNone
}

// Can reports whether the caller described by c may take action a on r.
// It is the single decision point of the permission matrix and denies by
// default: invalid claims (see rampart.Claims.Validate), an unknown role,
// action or resource kind, and an action that does not exist on an
// administrative kind all yield false.
func Can(c rampart.Claims, a Action, r Resource) bool {
	if c.Validate() != nil || !a.Valid() || !r.Kind.Valid() {
		return false
	}
	if rules, ok := kindRules[r.Kind]; ok {
		governing, ok := rules[a]
		if !ok {
			return false
		}
		a = governing
	}
	return within(ScopeFor(c.Role, a), c, a, r)
}

// within decides whether scope s lets c take action a on r.
func within(s Scope, c rampart.Claims, a Action, r Resource) bool {
	switch s {
	case ScopeAll:
		return true
	case ScopeOwnVenues:
		return r.VenueCode != "" && slices.Contains(c.VenueCodes, r.VenueCode)
	case ScopeBOMOnly:
		return r.Kind == KindBOM
	case ScopeComments:
		return a == ActionComment
	default:
		return false
	}
}

// Check is Can as an error: nil when allowed, otherwise a *rampart.Error of
// KindForbidden whose message is safe to show to the caller.
func Check(c rampart.Claims, a Action, r Resource) error {
	if Can(c, a, r) {
		return nil
	}
	action, kind := "this action", "resource"
	if a.Valid() {
		action = strconv.Quote(a.Label())
	}
	if r.Kind.Valid() {
		kind = string(r.Kind)
	}
	return rampart.Errorf("access.Check", rampart.KindForbidden,
		"Your role does not permit %s on this %s.", action, kind)
}

// GrantWithin reports whether the grantor described by c may hand out role
// with venue codes (to an invite or an API token): the grant must not let
// its holder do anything, on any resource or venue, that c may not do
// itself. A token can never mint a token or invite that exceeds it.
func GrantWithin(c rampart.Claims, role rampart.Role, codes []string) bool {
	if c.Validate() != nil || !role.Valid() {
		return false
	}
	grant := rampart.Claims{OrganizationID: c.OrganizationID, UserID: c.UserID, Role: role, VenueCodes: codes}
	if grant.Validate() != nil {
		return false
	}
	// Scopes depend only on whether a venue is among the codes, so the
	// codes of both sides plus one code neither holds cover every case.
	venues := append(append([]string{"", "\x00other"}, codes...), c.VenueCodes...)
	for _, a := range AllActions {
		for _, k := range AllResourceKinds {
			for _, v := range venues {
				r := Resource{Kind: k, VenueCode: v}
				if Can(grant, a, r) && !Can(c, a, r) {
					return false
				}
			}
		}
	}
	return true
}
