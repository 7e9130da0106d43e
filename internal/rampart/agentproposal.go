package rampart

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Agent proposals (issue 15): what an agent would change, waiting for a
// person. An agent never changes a bill of materials, a budget or a
// choice of vendor itself; it records one of these, and the change is
// applied only when someone who could make it by hand approves it.

// AgentProposalLifetime is how long a proposal waits for a decision: after
// it, it expires and cannot be approved.
const AgentProposalLifetime = 7 * 24 * time.Hour

// AgentProposalKind is what an agent proposal would change.
type AgentProposalKind string

// The kinds of change an agent may propose.
const (
	ProposeBOMLines       AgentProposalKind = "bom_lines"
	ProposeBudgetLines    AgentProposalKind = "budget_lines"
	ProposeVendorChoice   AgentProposalKind = "vendor_choice"
	ProposeCrewAssignment AgentProposalKind = "crew_assignment"
)

// AgentProposalStatus is an agent proposal's state: pending → approved,
// rejected or expired, each final.
type AgentProposalStatus string

// The agent-proposal states.
const (
	AgentProposalPending  AgentProposalStatus = "pending"
	AgentProposalApproved AgentProposalStatus = "approved"
	AgentProposalRejected AgentProposalStatus = "rejected"
	AgentProposalExpired  AgentProposalStatus = "expired"
)

// MaxProposedLines bounds the lines one agent proposal may carry.
const MaxProposedLines = 100

// ProposedBOMLine is a line an agent would add to a bill of materials. It
// has no cost, sourcing or lead time: the drafter proposes what is needed;
// prices come from suppliers and are entered by people with cost access.
type ProposedBOMLine struct {
	Item     string      `json:"item"`
	Category BOMCategory `json:"category"`
	Quantity Quantity    `json:"quantity"`
	Unit     string      `json:"unit"`
}

// ProposedBudgetLine is a budget line an agent would add, without its
// amount (AgentChangeCost holds the amounts).
type ProposedBudgetLine struct {
	Category    BOMCategory `json:"category"`
	Description string      `json:"description"`
}

// AgentChange is the part of a proposed change every reader of the
// proposal may see: exactly one of its fields is set, the one of the
// proposal's kind.
type AgentChange struct {
	BOMLines       []ProposedBOMLine    `json:"bom_lines,omitempty"`
	BudgetLines    []ProposedBudgetLine `json:"budget_lines,omitempty"`
	VendorChoice   *VendorChoice        `json:"vendor_choice,omitempty"`
	CrewAssignment *CrewAssignment      `json:"crew_assignment,omitempty"`
	// Signals are the features behind a proposed crew assignment that
	// every reader may see (never the day rate).
	Signals []Signal `json:"signals,omitempty"`
}

// AgentChangeCost is the restricted part of a proposed change: the planned
// amount of each proposed budget line, in order. Only roles with full cost
// access are given it.
type AgentChangeCost struct {
	Planned []Money `json:"planned,omitempty"`
	// Signals are the ranker's signals behind a proposed choice when they
	// may only reach roles with full cost access: a vendor's (the vendor
	// directory is cost data), or a crew match's with the day rate.
	Signals []Signal `json:"signals,omitempty"`
}

// AgentProposal is an agent's proposed change as every reader of the
// proposal may see it. AIGenerated is always true and Review says whether
// a person has looked at it: everything an agent wrote is labelled until
// someone approves it.
type AgentProposal struct {
	OrganizationID uuid.UUID           `json:"organization_id"`
	ID             uuid.UUID           `json:"id"`
	ProposalID     uuid.UUID           `json:"proposal_id"`
	VenueCode      *string             `json:"venue_code,omitempty"`
	JobID          *uuid.UUID          `json:"job_id,omitempty"`
	AgentType      string              `json:"agent_type"`
	Kind           AgentProposalKind   `json:"kind"`
	Change         AgentChange         `json:"change"`
	Rationale      string              `json:"rationale"`
	Status         AgentProposalStatus `json:"status"`
	AIGenerated    bool                `json:"ai_generated"`
	Review         string              `json:"review"` // "pending review" until decided
	RequestedBy    uuid.UUID           `json:"requested_by"`
	CreatedAt      time.Time           `json:"created_at"`
	ExpiresAt      time.Time           `json:"expires_at"`
	DecidedBy      *uuid.UUID          `json:"decided_by,omitempty"`
	DecidedAt      *time.Time          `json:"decided_at,omitempty"`
	DecisionReason *string             `json:"decision_reason,omitempty"`
	// Applied names what approval created (the new lines' ids).
	Applied   *AgentApplied `json:"applied,omitempty"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// AgentApplied is what approving a proposal created.
type AgentApplied struct {
	BOMLines       []uuid.UUID `json:"bom_lines,omitempty"`
	BudgetLines    []uuid.UUID `json:"budget_lines,omitempty"`
	VendorChoice   *uuid.UUID  `json:"vendor_choice,omitempty"`
	CrewAssignment *uuid.UUID  `json:"crew_assignment,omitempty"`
}

// PricedAgentProposal is an agent proposal with the amounts of its change.
type PricedAgentProposal struct {
	AgentProposal
	Cost AgentChangeCost `json:"cost"`
}

// Labels sets the review label from the status.
func (p *AgentProposal) Labels() {
	p.AIGenerated = true
	switch p.Status {
	case AgentProposalApproved:
		p.Review = "approved by a person"
	case AgentProposalRejected:
		p.Review = "rejected by a person"
	case AgentProposalExpired:
		p.Review = "expired without review"
	default:
		p.Review = "pending review"
	}
}

// NewAgentProposal is what an agent records: the change, its amounts
// (budget lines only) and why.
type NewAgentProposal struct {
	ProposalID uuid.UUID
	JobID      *uuid.UUID
	AgentType  string
	Kind       AgentProposalKind
	Change     AgentChange
	Cost       AgentChangeCost
	Rationale  string
	// At is when the proposal is made; it expires AgentProposalLifetime later.
	At time.Time
}

// ValidateAgentProposal checks a new proposal: its kind matches its
// change, every line is valid, amounts go with budget lines only.
func ValidateAgentProposal(p NewAgentProposal) error {
	const op = "rampart.ValidateAgentProposal"
	if p.ProposalID == uuid.Nil {
		return Errorf(op, KindInvalid, "an agent proposal needs the proposal it is about")
	}
	if p.At.IsZero() {
		return Errorf(op, KindInvalid, "an agent proposal needs its time")
	}
	if err := validText(op, "rationale", p.Rationale, 4000, true); err != nil {
		return err
	}
	if strings.TrimSpace(p.Rationale) == "" {
		return FieldError(op, "rationale", "is required")
	}
	switch p.Kind {
	case ProposeBOMLines:
		if len(p.Change.BOMLines) == 0 || len(p.Change.BudgetLines) > 0 || len(p.Cost.Planned) > 0 {
			return Errorf(op, KindInvalid, "a bom_lines proposal carries bill-of-materials lines only")
		}
		if len(p.Change.BOMLines) > MaxProposedLines {
			return Errorf(op, KindInvalid, "at most %d lines per proposal", MaxProposedLines)
		}
		for _, l := range p.Change.BOMLines {
			if err := ValidateBOMLine(BOMLine{Item: l.Item, Category: l.Category, Quantity: l.Quantity, Unit: l.Unit}); err != nil {
				return err
			}
		}
	case ProposeBudgetLines:
		if len(p.Change.BudgetLines) == 0 || len(p.Change.BOMLines) > 0 {
			return Errorf(op, KindInvalid, "a budget_lines proposal carries budget lines only")
		}
		if len(p.Change.BudgetLines) > MaxProposedLines {
			return Errorf(op, KindInvalid, "at most %d lines per proposal", MaxProposedLines)
		}
		if len(p.Cost.Planned) != len(p.Change.BudgetLines) {
			return Errorf(op, KindInvalid, "every proposed budget line needs its planned amount")
		}
		for i, l := range p.Change.BudgetLines {
			if err := ValidateBudgetLine(PricedBudgetLine{BudgetLine: BudgetLine{Category: l.Category, Description: l.Description},
				Planned: p.Cost.Planned[i]}); err != nil {
				return err
			}
		}
	case ProposeVendorChoice:
		if p.Change.VendorChoice == nil || len(p.Change.BOMLines)+len(p.Change.BudgetLines) > 0 || p.Change.CrewAssignment != nil ||
			len(p.Cost.Planned) > 0 || p.Change.VendorChoice.ProposalID != p.ProposalID {
			return Errorf(op, KindInvalid, "a vendor_choice proposal carries one vendor choice for its proposal")
		}
		return p.Change.VendorChoice.Validate()
	case ProposeCrewAssignment:
		if p.Change.CrewAssignment == nil || len(p.Change.BOMLines)+len(p.Change.BudgetLines) > 0 || p.Change.VendorChoice != nil ||
			len(p.Cost.Planned) > 0 || p.Change.CrewAssignment.ProposalID != p.ProposalID {
			return Errorf(op, KindInvalid, "a crew_assignment proposal carries one crew assignment for its proposal")
		}
		for _, s := range p.Change.Signals {
			if s.Name == "day_rate" {
				return Errorf(op, KindInvalid, "a crew proposal's public signals never include the day rate")
			}
		}
		return p.Change.CrewAssignment.Validate()
	default:
		return Errorf(op, KindInvalid, "kind: unknown agent proposal kind %q", p.Kind)
	}
	return nil
}
