package rampart

import (
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// BOMCategory groups the lines of a bill of materials.
type BOMCategory string

// BOMCategories are the categories a line may have (the database's CHECK
// holds the same list).
var BOMCategories = []BOMCategory{"audio", "lighting", "video", "rigging", "staging", "power",
	"backline", "furniture", "decor", "catering", "transport", "crew", "venue", "other"}

// Valid reports whether c is one of BOMCategories.
func (c BOMCategory) Valid() bool { return slices.Contains(BOMCategories, c) }

// BOMLine is one line of a proposal's bill of materials as every reader of
// the proposal may see it. It has no cost, sourcing or lead-time field at
// all: those are LineCost, which only CostedBOMLine carries, and only
// roles with full cost access are ever given one (store.BOMLinesTx).
type BOMLine struct {
	OrganizationID uuid.UUID   `json:"organization_id"`
	ID             uuid.UUID   `json:"id"`
	ProposalID     uuid.UUID   `json:"proposal_id"`
	Position       int         `json:"position"`
	Item           string      `json:"item"`
	Category       BOMCategory `json:"category"`
	Quantity       Quantity    `json:"quantity"`
	Unit           string      `json:"unit"`
	// AIGenerated marks a line an agent wrote (pending review until a
	// person approves it).
	AIGenerated bool      `json:"ai_generated"`
	CreatedBy   uuid.UUID `json:"created_by"`
	UpdatedBy   uuid.UUID `json:"updated_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// LineCost is the restricted part of a line: its unit cost, sourcing notes
// and lead time. It is stored only sealed (internal/fieldcrypt) and shown
// only to roles with full cost access. Every field is optional.
type LineCost struct {
	UnitCost     *Money `json:"unit_cost,omitempty"`
	Sourcing     string `json:"sourcing,omitempty"`
	LeadTimeDays *int   `json:"lead_time_days,omitempty"`
}

// Empty reports whether c holds nothing.
func (c LineCost) Empty() bool { return c.UnitCost == nil && c.Sourcing == "" && c.LeadTimeDays == nil }

// MaxLeadTimeDays bounds a lead time: ten years.
const MaxLeadTimeDays = 3650

// MaxSourcingChars bounds sourcing notes.
const MaxSourcingChars = 2000

// ValidateLineCost checks the restricted fields.
func ValidateLineCost(c LineCost) error {
	const op = "rampart.LineCost"
	if c.UnitCost != nil && (!ValidCurrency(c.UnitCost.Currency) || c.UnitCost.Minor < 0 || c.UnitCost.Minor > MaxUnitCostMinor) {
		return FieldError(op, "unit_cost", "must be a non-negative amount of at most %d minor units in an ISO 4217 currency", int64(MaxUnitCostMinor))
	}
	if c.LeadTimeDays != nil && (*c.LeadTimeDays < 0 || *c.LeadTimeDays > MaxLeadTimeDays) {
		return FieldError(op, "lead_time_days", "must be a whole number of days from 0 to %d", MaxLeadTimeDays)
	}
	if err := validText(op, "sourcing", c.Sourcing, MaxSourcingChars, true); err != nil {
		return err
	}
	return nil
}

// CostedBOMLine is a line with its restricted part, for roles with full
// cost access. CostError is set instead of Cost when a sealed value could
// not be opened (a retired key, a moved or altered value): the error is for
// that value, never a silent empty field.
type CostedBOMLine struct {
	BOMLine
	Cost      LineCost `json:"cost"`
	LineTotal *Total   `json:"line_total,omitempty"`
	CostError string   `json:"cost_error,omitempty"`
}

// BOM is a proposal's bill of materials as every reader sees it.
type BOM struct {
	ProposalID uuid.UUID `json:"proposal_id"`
	Lines      []BOMLine `json:"lines"`
}

// CostedBOM is a bill of materials with its costs and the server's totals,
// one per currency. TotalsComplete is false when a line's cost could not
// be opened: the totals then leave it out, and say so.
type CostedBOM struct {
	ProposalID     uuid.UUID       `json:"proposal_id"`
	Lines          []CostedBOMLine `json:"lines"`
	Totals         []Total         `json:"totals"`
	TotalsComplete bool            `json:"totals_complete"`
}

// Costed totals the lines by currency, in currency order.
func Costed(proposal uuid.UUID, lines []CostedBOMLine) CostedBOM {
	out := CostedBOM{ProposalID: proposal, Lines: lines, Totals: []Total{}, TotalsComplete: true}
	sums := map[string]*big.Int{}
	for i := range lines {
		l := &lines[i]
		if l.CostError != "" {
			out.TotalsComplete = false
			continue
		}
		if l.Cost.UnitCost == nil {
			continue
		}
		t := l.Quantity.Times(*l.Cost.UnitCost)
		l.LineTotal = &t
		if sums[t.Currency] == nil {
			sums[t.Currency] = new(big.Int)
		}
		sums[t.Currency].Add(sums[t.Currency], t.Minor)
	}
	for cur, n := range sums {
		out.Totals = append(out.Totals, Total{Minor: n, Currency: cur})
	}
	slices.SortFunc(out.Totals, func(a, b Total) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}

// MaxBOMLines bounds a bill of materials.
const MaxBOMLines = 1000

// ValidateBOMLine checks a line's public fields before the database does.
func ValidateBOMLine(l BOMLine) error {
	const op = "rampart.BOMLine"
	if err := validText(op, "item", l.Item, 200, false); err != nil {
		return err
	}
	if !l.Category.Valid() {
		names := make([]string, len(BOMCategories))
		for i, c := range BOMCategories {
			names[i] = string(c)
		}
		return FieldError(op, "category", "must be one of %s", strings.Join(names, ", "))
	}
	if l.Quantity <= 0 || l.Quantity > MaxQuantity {
		return FieldError(op, "quantity", "must be greater than 0 and at most 1000000")
	}
	if err := validText(op, "unit", l.Unit, 24, false); err != nil {
		return err
	}
	if l.Position < 0 || l.Position > 9999 {
		return FieldError(op, "position", "must be from 0 to 9999")
	}
	return nil
}

// validText checks a single-line (or, for multiline, a plain) text field:
// valid UTF-8, no control or format characters except newlines and tabs in
// multiline text, at most max characters, and not blank unless optional.
func validText(op, field, s string, max int, optional bool) error {
	if !utf8.ValidString(s) {
		return FieldError(op, field, "must be valid UTF-8")
	}
	if !optional && strings.TrimSpace(s) == "" {
		return FieldError(op, field, "is required")
	}
	if utf8.RuneCountInString(s) > max {
		return FieldError(op, field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if optional && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return FieldError(op, field, "must not contain control or invisible formatting characters (U+%04X)", r)
		}
	}
	return nil
}
