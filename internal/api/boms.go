package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// bomAPI is the proposals' bills of materials. A role with full cost
// access reads rampart.CostedBOM (unit cost, sourcing, lead time, the
// server's totals); every other reader gets rampart.BOM, a different type
// with none of those fields, and the output filter behind it.
type bomAPI struct{ *Server }

func (s bomAPI) register(r *edge.Router) {
	r.Authed("GET /api/proposals/{id}/bom", s.getBOM)
	edge.AuthedJSON(r, "POST /api/proposals/{id}/bom/lines", s.addLine)
	edge.AuthedJSON(r, "PATCH /api/bom/lines/{id}", s.updateLine)
	r.Authed("DELETE /api/bom/lines/{id}", s.deleteLine)

	line, costed := bomExamples()
	r.Document("GET /api/proposals/{id}/bom", edge.Doc{Summary: "Read a proposal's bill of materials",
		Description: "Roles with full cost access (admin, executive_producer, producer) get each line's cost (unit cost, sourcing, lead time), " +
			"line totals and exact totals per currency; totals_complete is false when a value could not be decrypted (that line has cost_error). " +
			"Every other reader gets the same lines without cost, line_total, totals or totals_complete: a different type, not a filtered one.",
		Example: (rampart.CostedBOM{ProposalID: costed.ProposalID, Lines: []rampart.CostedBOMLine{costed},
			Totals: []rampart.Total{*costed.LineTotal}, TotalsComplete: true})})
	r.Document("POST /api/proposals/{id}/bom/lines", edge.Doc{Summary: "Add a line",
		Description: "Editors of the proposal (technical directors included; venue managers for their venues). cost needs full cost access (403 otherwise, nothing written); it is encrypted before it is stored.",
		Status:      http.StatusCreated, Example: (costed)})
	r.Document("PATCH /api/bom/lines/{id}", edge.Doc{Summary: "Change a line",
		Description: "Sends only the fields to change; clear_cost_fields removes sealed fields. The answer has the caller's type (without cost for roles without full cost access).",
		Example:     (line)})
	r.Document("DELETE /api/bom/lines/{id}", edge.Doc{Summary: "Remove a line", Status: http.StatusNoContent})
}

// bomExamples are the documented answers: a line as a technical director
// reads it, and the same line with its cost.
func bomExamples() (rampart.BOMLine, rampart.CostedBOMLine) {
	id := uuid.MustParse("0b7c2f7e-5d4a-4a51-9a53-3f1f6a2b9c10")
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	l := rampart.BOMLine{OrganizationID: uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), ID: id,
		ProposalID: uuid.MustParse("5a6b7c8d-2222-4e3f-9a0b-1c2d3e4f5a6b"), Item: "Moving head spot", Category: "lighting",
		Quantity: 2500, Unit: "day", CreatedBy: uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d"), CreatedAt: at, UpdatedAt: at}
	l.UpdatedBy = l.CreatedBy
	lead := 21
	cost := rampart.Money{Minor: 48050, Currency: "GBP"}
	c := rampart.Costed(l.ProposalID, []rampart.CostedBOMLine{{BOMLine: l,
		Cost: rampart.LineCost{UnitCost: &cost, Sourcing: "Lite Hire, quote LH-77", LeadTimeDays: &lead}}})
	return l, c.Lines[0]
}

func (s bomAPI) getBOM(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if bom.CostAccess(c) {
		b, err := bom.GetCosted(r.Context(), s.store, c, id)
		if err != nil {
			return err
		}
		return edge.Respond(w, c, http.StatusOK, b)
	}
	b, err := bom.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, b)
}

// quantityNumber is a JSON number kept as written, so 2.675 is read as
// exactly 2.675 (rampart.ParseQuantity), never through a binary float.
type quantityNumber json.Number

// Schema documents it as a number with up to three decimal places.
func (quantityNumber) Schema(huma.Registry) *huma.Schema {
	// No multipleOf: binary floats make 2.5 fail "a multiple of 0.001";
	// ParseQuantity checks the decimal places on the number as written.
	lo, hi := 0.001, 1_000_000.0
	return &huma.Schema{Type: "number", Minimum: &lo, Maximum: &hi,
		Description: "how many units: greater than 0, at most 1000000, up to 3 decimal places", Examples: []any{4, 2.5}}
}

// UnmarshalJSON accepts a JSON number only (the decoder has checked the
// body is valid JSON, so a token starting with '-' or a digit is one).
func (q *quantityNumber) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[float64](), Field: "quantity"}
	}
	*q = quantityNumber(b)
	return nil
}

func (q quantityNumber) parse() (rampart.Quantity, error) {
	s := string(q)
	if strings.ContainsAny(s, "eE+-") {
		return 0, edge.FieldError("quantity", "must be a plain decimal number such as 4 or 2.5")
	}
	return rampart.ParseQuantity("quantity", s)
}

type moneyRequest struct {
	Amount   string `json:"amount" pattern:"^[0-9]{1,15}(\\.[0-9]{1,4})?$" doc:"non-negative decimal with at most the currency's minor digits" example:"1250.00"`
	Currency string `json:"currency" pattern:"^[A-Z]{3}$" doc:"ISO 4217 code" example:"EUR"`
}

// costRequest is the restricted part of a line: only roles with full cost
// access may send it (403 otherwise, nothing written).
type costRequest struct {
	UnitCost     *moneyRequest `json:"unit_cost,omitempty" required:"false"`
	Sourcing     *string       `json:"sourcing,omitempty" required:"false" maxLength:"2000" example:"Hire from Stage Sound Ltd, quote Q-2291"`
	LeadTimeDays *int          `json:"lead_time_days,omitempty" required:"false" minimum:"0" maximum:"3650" example:"14"`
}

func (cr *costRequest) cost() (rampart.LineCost, error) {
	var c rampart.LineCost
	if cr == nil {
		return c, nil
	}
	if cr.UnitCost != nil {
		m, err := rampart.ParseMoney("cost.unit_cost", cr.UnitCost.Amount, cr.UnitCost.Currency)
		if err != nil {
			return c, err
		}
		c.UnitCost = &m
	}
	if cr.Sourcing != nil {
		c.Sourcing = *cr.Sourcing
	}
	c.LeadTimeDays = cr.LeadTimeDays
	return c, nil
}

type bomLineRequest struct {
	Position *int           `json:"position,omitempty" required:"false" minimum:"0" maximum:"9999" doc:"default: after the last line"`
	Item     string         `json:"item" minLength:"1" maxLength:"200" example:"Line array speaker, 12 boxes"`
	Category string         `json:"category" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other" example:"audio"`
	Quantity quantityNumber `json:"quantity"`
	Unit     string         `json:"unit" minLength:"1" maxLength:"24" example:"day"`
	Cost     *costRequest   `json:"cost,omitempty" required:"false" doc:"unit cost, sourcing, lead time: roles with full cost access only"`
}

func (s bomAPI) addLine(w http.ResponseWriter, r *http.Request, c rampart.Claims, req bomLineRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	q, err := req.Quantity.parse()
	if err != nil {
		return err
	}
	cost, err := req.Cost.cost()
	if err != nil {
		return err
	}
	l, err := bom.AddLine(r.Context(), s.store, c, id, bom.LineInput{Position: req.Position, Item: req.Item,
		Category: rampart.BOMCategory(req.Category), Quantity: q, Unit: req.Unit, Cost: cost})
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusCreated, l.Value())
}

// bomLinePatchRequest changes the fields it names. clear_cost_fields
// removes restricted fields ("unit_cost", "sourcing", "lead_time_days").
type bomLinePatchRequest struct {
	Position        *int            `json:"position,omitempty" required:"false" minimum:"0" maximum:"9999"`
	Item            *string         `json:"item,omitempty" required:"false" minLength:"1" maxLength:"200"`
	Category        *string         `json:"category,omitempty" required:"false" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other"`
	Quantity        *quantityNumber `json:"quantity,omitempty" required:"false"`
	Unit            *string         `json:"unit,omitempty" required:"false" minLength:"1" maxLength:"24"`
	Cost            *costRequest    `json:"cost,omitempty" required:"false"`
	ClearCostFields []string        `json:"clear_cost_fields,omitempty" required:"false" maxItems:"3" enum:"unit_cost,sourcing,lead_time_days" example:"[\"lead_time_days\"]"`
}

func (req bomLinePatchRequest) patch() (bom.Patch, error) {
	p := bom.Patch{Position: req.Position, Item: req.Item, Unit: req.Unit}
	if req.Category != nil {
		cat := rampart.BOMCategory(*req.Category)
		p.Category = &cat
	}
	if req.Quantity != nil {
		q, err := req.Quantity.parse()
		if err != nil {
			return p, err
		}
		p.Quantity = &q
	}
	if req.Cost != nil {
		cost, err := req.Cost.cost()
		if err != nil {
			return p, err
		}
		p.UnitCost, p.LeadTimeDays = cost.UnitCost, cost.LeadTimeDays
		if req.Cost.Sourcing != nil {
			p.Sourcing = req.Cost.Sourcing
		}
	}
	for _, f := range req.ClearCostFields {
		switch f {
		case "unit_cost":
			p.ClearUnitCost = p.UnitCost == nil
			if p.UnitCost != nil {
				return p, edge.FieldError("clear_cost_fields", "cannot both set and clear unit_cost")
			}
		case "sourcing":
			if p.Sourcing != nil {
				return p, edge.FieldError("clear_cost_fields", "cannot both set and clear sourcing")
			}
			empty := ""
			p.Sourcing = &empty
		case "lead_time_days":
			if p.LeadTimeDays != nil {
				return p, edge.FieldError("clear_cost_fields", "cannot both set and clear lead_time_days")
			}
			p.ClearLeadTime = true
		default:
			return p, edge.FieldError("clear_cost_fields", "unknown field %q (unit_cost, sourcing, lead_time_days)", f)
		}
	}
	return p, nil
}

func (s bomAPI) updateLine(w http.ResponseWriter, r *http.Request, c rampart.Claims, req bomLinePatchRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	p, err := req.patch()
	if err != nil {
		return err
	}
	l, err := bom.UpdateLine(r.Context(), s.store, c, id, p)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, l.Value())
}

func (s bomAPI) deleteLine(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := bom.DeleteLine(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
