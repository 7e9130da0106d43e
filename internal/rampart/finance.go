package rampart

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Finance (issue 15): a statement of work per proposal, budget lines and
// change orders. Each comes as two types: the public one every reader of
// the proposal may see, and the priced one (amounts) that only roles with
// full cost access are given.

// SOWStatus is a statement of work's state.
type SOWStatus string

// The statement-of-work states: draft → signed, and back only by an
// audited unsign with a reason.
const (
	SOWDraft  SOWStatus = "draft"
	SOWSigned SOWStatus = "signed"
)

// SOW is a proposal's statement of work without its amount.
type SOW struct {
	OrganizationID uuid.UUID  `json:"organization_id"`
	ID             uuid.UUID  `json:"id"`
	ProposalID     uuid.UUID  `json:"proposal_id"`
	VenueCode      *string    `json:"venue_code,omitempty"`
	Title          string     `json:"title"`
	Terms          string     `json:"terms"`
	Status         SOWStatus  `json:"status"`
	SignedBy       *uuid.UUID `json:"signed_by,omitempty"`
	SignedAt       *time.Time `json:"signed_at,omitempty"`
	CreatedBy      uuid.UUID  `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// PricedSOW is a statement of work with its amount.
type PricedSOW struct {
	SOW
	Amount Money `json:"amount"`
}

// BudgetStatus is a budget line's state.
type BudgetStatus string

// The budget-line states: planned → actualized, and back only by an
// audited un-actualize with a reason.
const (
	BudgetPlanned    BudgetStatus = "planned"
	BudgetActualized BudgetStatus = "actualized"
)

// BudgetLine is a line of a proposal's budget without its amounts.
type BudgetLine struct {
	OrganizationID uuid.UUID    `json:"organization_id"`
	ID             uuid.UUID    `json:"id"`
	ProposalID     uuid.UUID    `json:"proposal_id"`
	Category       BOMCategory  `json:"category"`
	Description    string       `json:"description"`
	Status         BudgetStatus `json:"status"`
	ActualizedBy   *uuid.UUID   `json:"actualized_by,omitempty"`
	ActualizedAt   *time.Time   `json:"actualized_at,omitempty"`
	CreatedBy      uuid.UUID    `json:"created_by"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// PricedBudgetLine is a budget line with its planned and actual amounts.
type PricedBudgetLine struct {
	BudgetLine
	Planned Money  `json:"planned"`
	Actual  *Money `json:"actual,omitempty"`
}

// ChangeOrderStatus is a change order's state.
type ChangeOrderStatus string

// The change-order states: requested → approved or rejected, once.
const (
	ChangeRequested ChangeOrderStatus = "requested"
	ChangeApproved  ChangeOrderStatus = "approved"
	ChangeRejected  ChangeOrderStatus = "rejected"
)

// ChangeOrder is a requested change to a signed statement of work,
// without its amount.
type ChangeOrder struct {
	OrganizationID uuid.UUID         `json:"organization_id"`
	ID             uuid.UUID         `json:"id"`
	SOWID          uuid.UUID         `json:"sow_id"`
	Description    string            `json:"description"`
	Status         ChangeOrderStatus `json:"status"`
	RequestedBy    uuid.UUID         `json:"requested_by"`
	DecidedBy      *uuid.UUID        `json:"decided_by,omitempty"`
	DecidedAt      *time.Time        `json:"decided_at,omitempty"`
	DecisionReason string            `json:"decision_reason,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
}

// PricedChangeOrder is a change order with the change to the amount
// (negative to lower it).
type PricedChangeOrder struct {
	ChangeOrder
	AmountDelta Money `json:"amount_delta"`
}

// MaxFinanceMinor bounds amounts: 10^14 minor units.
const MaxFinanceMinor = 100_000_000_000_000

// MaxReasonChars bounds the reason of a reversal or a decision.
const MaxReasonChars = 2000

// ValidateFinanceReason checks the mandatory reason of a reversal or a decision:
// present, at most MaxReasonChars, no control characters.
func ValidateFinanceReason(op, reason string) (string, error) {
	r := strings.TrimSpace(reason)
	if r == "" {
		return "", FieldError(op, "reason", "is required: say why")
	}
	if utf8.RuneCountInString(r) > MaxReasonChars {
		return "", FieldError(op, "reason", "must be at most %d characters", MaxReasonChars)
	}
	if err := validText(op, "reason", r, MaxReasonChars, true); err != nil {
		return "", err
	}
	return r, nil
}

// ValidateAmount checks a finance amount (a change order's may be negative).
func ValidateAmount(op, field string, m Money, signed bool) error {
	if !ValidCurrency(m.Currency) {
		return FieldError(op, field+".currency", "%q is not an ISO 4217 currency code", m.Currency)
	}
	if m.Minor > MaxFinanceMinor || m.Minor < -MaxFinanceMinor || (!signed && m.Minor < 0) {
		return FieldError(op, field+".amount", "is out of range")
	}
	return nil
}

// ValidateSOW checks a statement of work's fields.
func ValidateSOW(s PricedSOW) error {
	const op = "rampart.SOW"
	if err := validText(op, "title", s.Title, 200, false); err != nil {
		return err
	}
	if err := validText(op, "terms", s.Terms, 20000, true); err != nil {
		return err
	}
	return ValidateAmount(op, "amount", s.Amount, false)
}

// ValidateBudgetLine checks a budget line's fields.
func ValidateBudgetLine(l PricedBudgetLine) error {
	const op = "rampart.BudgetLine"
	if !l.Category.Valid() {
		return FieldError(op, "category", "is not a known category")
	}
	if err := validText(op, "description", l.Description, 200, false); err != nil {
		return err
	}
	return ValidateAmount(op, "planned", l.Planned, false)
}
