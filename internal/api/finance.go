package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// financeAPI is statements of work, budget lines and change orders. Roles
// with full cost access read and write them with amounts; the others read
// the same objects without amounts (different types) and write nothing.
type financeAPI struct{ *Server }

func (s financeAPI) register(r *edge.Router) {
	r.Authed("GET /api/proposals/{id}/sow", s.getSOW)
	edge.AuthedJSON(r, "POST /api/proposals/{id}/sow", s.createSOW)
	edge.AuthedJSON(r, "PATCH /api/sows/{id}", s.updateSOW)
	r.Authed("POST /api/sows/{id}/sign", s.signSOW)
	edge.AuthedJSON(r, "POST /api/sows/{id}/unsign", s.unsignSOW)
	r.Authed("GET /api/sows/{id}/change-orders", s.listChanges)
	edge.AuthedJSON(r, "POST /api/sows/{id}/change-orders", s.requestChange)
	edge.AuthedJSON(r, "POST /api/change-orders/{id}/approve", s.approveChange)
	edge.AuthedJSON(r, "POST /api/change-orders/{id}/reject", s.rejectChange)
	r.Authed("GET /api/proposals/{id}/budget", s.getBudget)
	edge.AuthedJSON(r, "POST /api/proposals/{id}/budget/lines", s.addBudgetLine)
	edge.AuthedJSON(r, "POST /api/budgets/{id}/actualize", s.actualize)
	edge.AuthedJSON(r, "POST /api/budgets/{id}/un-actualize", s.unactualize)

	sow, line, co := financeExamples()
	signed := sow
	signed.Status, signed.SignedBy, signed.SignedAt = rampart.SOWSigned, &sow.CreatedBy, &sow.UpdatedAt
	actual := line
	actual.Status, actual.ActualizedBy, actual.ActualizedAt = rampart.BudgetActualized, &line.CreatedBy, &line.UpdatedAt
	a := rampart.Money{Minor: 262000, Currency: "EUR"}
	actual.Actual = &a
	costNote := " Roles without full cost access get the same object without amounts; only admins, executive producers and producers write finance."
	for _, d := range []struct {
		pattern, summary, desc string
		status                 int
		ex                     any
	}{
		{"GET /api/proposals/{id}/sow", "Read a proposal's statement of work", "404 when the proposal has none." + costNote, 0, sow},
		{"POST /api/proposals/{id}/sow", "Draft the statement of work", "One per proposal (409 for a second)." + costNote, http.StatusCreated, sow},
		{"PATCH /api/sows/{id}", "Change a draft", "A signed statement changes only through change orders (409)." + costNote, 0, sow},
		{"POST /api/sows/{id}/sign", "Sign a draft", "Admins and executive producers; a refused attempt is 403 and audited (finance.denied).", 0, signed},
		{"POST /api/sows/{id}/unsign", "Unsign, with a reason", "Admins and executive producers; the reason (1–2000 characters) is recorded in the audit event with before and after. 409 for a draft.", 0, sow},
		{"GET /api/sows/{id}/change-orders", "List change orders", "With amounts: full cost access only.", 0, map[string]any{"change_orders": []rampart.PricedChangeOrder{co}}},
		{"POST /api/sows/{id}/change-orders", "Request a change to a signed statement", "amount_delta may be negative (\"-150.00\"). 409 on a draft.", http.StatusCreated, co},
		{"POST /api/change-orders/{id}/approve", "Approve a change", "Admins and executive producers, with a reason; the statement's amount moves in the same transaction. 409 when already decided or when the amount would leave its range.", 0, co},
		{"POST /api/change-orders/{id}/reject", "Reject a change", "Admins and executive producers, with a reason. 409 when already decided.", 0, co},
		{"GET /api/proposals/{id}/budget", "Read a proposal's budget", costNote[1:], 0, map[string]any{"lines": []rampart.PricedBudgetLine{line}}},
		{"POST /api/proposals/{id}/budget/lines", "Add a planned line", costNote[1:], http.StatusCreated, line},
		{"POST /api/budgets/{id}/actualize", "Record the actual amount", "Admins and executive producers; the actual is in the line's currency. 409 when already actualized.", 0, actual},
		{"POST /api/budgets/{id}/un-actualize", "Return to planned, with a reason", "Admins and executive producers; the reason is recorded with before and after. 409 when planned.", 0, line},
	} {
		r.Document(d.pattern, edge.Doc{Summary: d.summary, Description: d.desc, Status: d.status, Example: d.ex})
	}
}

func financeExamples() (rampart.PricedSOW, rampart.PricedBudgetLine, rampart.PricedChangeOrder) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	org, user := uuid.MustParse("7f3e1c2a-1111-4c5d-8e9f-0a1b2c3d4e5f"), uuid.MustParse("3c4d5e6f-3333-4a7b-8c9d-0e1f2a3b4c5d")
	prop := uuid.MustParse("5a6b7c8d-2222-4e3f-9a0b-1c2d3e4f5a6b")
	venue := "HALL-A"
	sow := rampart.PricedSOW{SOW: rampart.SOW{OrganizationID: org, ID: uuid.MustParse("9d8c7b6a-4444-4f5e-8d7c-6b5a4f3e2d1c"), ProposalID: prop,
		VenueCode: &venue, Title: "Spring gala production", Terms: "50% on signature, 50% on delivery; net 30.", Status: rampart.SOWDraft,
		CreatedBy: user, CreatedAt: at, UpdatedAt: at}, Amount: rampart.Money{Minor: 4_500_000, Currency: "EUR"}}
	line := rampart.PricedBudgetLine{BudgetLine: rampart.BudgetLine{OrganizationID: org, ID: uuid.MustParse("1a2b3c4d-5555-4e6f-9a8b-7c6d5e4f3a2b"),
		ProposalID: prop, Category: "audio", Description: "PA hire, two days", Status: rampart.BudgetPlanned, CreatedBy: user, CreatedAt: at, UpdatedAt: at},
		Planned: rampart.Money{Minor: 250000, Currency: "EUR"}}
	co := rampart.PricedChangeOrder{ChangeOrder: rampart.ChangeOrder{OrganizationID: org, ID: uuid.MustParse("2b3c4d5e-6666-4f7a-8b9c-0d1e2f3a4b5c"),
		SOWID: sow.ID, Description: "Extra rigging day", Status: rampart.ChangeRequested, RequestedBy: user, CreatedAt: at},
		AmountDelta: rampart.Money{Minor: 150000, Currency: "EUR"}}
	return sow, line, co
}

// signedMoneyRequest is an amount that may be negative (a change order's).
type signedMoneyRequest struct {
	Amount   string `json:"amount" pattern:"^-?[0-9]{1,15}(\\.[0-9]{1,4})?$" example:"-150.00"`
	Currency string `json:"currency" pattern:"^[A-Z]{3}$" example:"EUR"`
}

func (m signedMoneyRequest) money(field string) (rampart.Money, error) {
	neg := strings.HasPrefix(m.Amount, "-")
	v, err := rampart.ParseMoney(field, strings.TrimPrefix(m.Amount, "-"), m.Currency)
	if neg {
		v.Minor = -v.Minor
	}
	return v, err
}

func (m moneyRequest) money(field string) (rampart.Money, error) {
	return rampart.ParseMoney(field, m.Amount, m.Currency)
}

type sowRequest struct {
	Title  string       `json:"title" minLength:"1" maxLength:"200" example:"Spring gala production"`
	Terms  string       `json:"terms,omitempty" required:"false" maxLength:"20000" example:"50% on signature, 50% on delivery"`
	Amount moneyRequest `json:"amount"`
}

type sowPatchRequest struct {
	Title  *string       `json:"title,omitempty" required:"false" minLength:"1" maxLength:"200"`
	Terms  *string       `json:"terms,omitempty" required:"false" maxLength:"20000"`
	Amount *moneyRequest `json:"amount,omitempty" required:"false"`
}

type reasonRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"2000" doc:"why; recorded in the audit event" example:"Client moved the date; re-sign after the new quote"`
}

type changeRequest struct {
	Description string             `json:"description" minLength:"1" maxLength:"2000" example:"Extra rigging day"`
	AmountDelta signedMoneyRequest `json:"amount_delta"`
}

type budgetLineRequest struct {
	Category    string       `json:"category" enum:"audio,lighting,video,rigging,staging,power,backline,furniture,decor,catering,transport,crew,venue,other" example:"audio"`
	Description string       `json:"description" minLength:"1" maxLength:"200" example:"PA hire, two days"`
	Planned     moneyRequest `json:"planned"`
}

type actualRequest struct {
	Actual moneyRequest `json:"actual"`
}

func (s financeAPI) getSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if finance.CostAccess(c) {
		v, err := finance.PricedSOW(r.Context(), s.store, c, id)
		return respondOr(w, c, http.StatusOK, v, err)
	}
	v, err := finance.SOW(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, v, err)
}

// respondOr answers v, or the error.
func respondOr(w http.ResponseWriter, c rampart.Claims, status int, v any, err error) error {
	if err != nil {
		return err
	}
	return edge.Respond(w, c, status, v)
}

func (s financeAPI) createSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims, req sowRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	amount, err := req.Amount.money("amount")
	if err != nil {
		return err
	}
	v, err := finance.CreateSOW(r.Context(), s.store, c, id, finance.SOWInput{Title: req.Title, Terms: req.Terms, Amount: amount})
	return respondOr(w, c, http.StatusCreated, v, err)
}

func (s financeAPI) updateSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims, req sowPatchRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	var amount *rampart.Money
	if req.Amount != nil {
		m, err := req.Amount.money("amount")
		if err != nil {
			return err
		}
		amount = &m
	}
	v, err := finance.UpdateSOW(r.Context(), s.store, c, id, req.Title, req.Terms, amount)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s financeAPI) signSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := finance.Sign(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s financeAPI) unsignSOW(w http.ResponseWriter, r *http.Request, c rampart.Claims, req reasonRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := finance.Unsign(r.Context(), s.store, c, id, req.Reason)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s financeAPI) listChanges(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := finance.ChangeOrders(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, map[string]any{"change_orders": v}, err)
}

func (s financeAPI) requestChange(w http.ResponseWriter, r *http.Request, c rampart.Claims, req changeRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	delta, err := req.AmountDelta.money("amount_delta")
	if err != nil {
		return err
	}
	v, err := finance.RequestChange(r.Context(), s.store, c, id, req.Description, delta)
	return respondOr(w, c, http.StatusCreated, v, err)
}

func (s financeAPI) decide(w http.ResponseWriter, r *http.Request, c rampart.Claims, approve bool, reason string) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := finance.Decide(r.Context(), s.store, c, id, approve, reason)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s financeAPI) approveChange(w http.ResponseWriter, r *http.Request, c rampart.Claims, req reasonRequest) error {
	return s.decide(w, r, c, true, req.Reason)
}

func (s financeAPI) rejectChange(w http.ResponseWriter, r *http.Request, c rampart.Claims, req reasonRequest) error {
	return s.decide(w, r, c, false, req.Reason)
}

func (s financeAPI) getBudget(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if finance.CostAccess(c) {
		v, err := finance.PricedBudget(r.Context(), s.store, c, id)
		return respondOr(w, c, http.StatusOK, map[string]any{"lines": v}, err)
	}
	v, err := finance.Budget(r.Context(), s.store, c, id)
	return respondOr(w, c, http.StatusOK, map[string]any{"lines": v}, err)
}

func (s financeAPI) addBudgetLine(w http.ResponseWriter, r *http.Request, c rampart.Claims, req budgetLineRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	planned, err := req.Planned.money("planned")
	if err != nil {
		return err
	}
	v, err := finance.AddBudgetLine(r.Context(), s.store, c, id, finance.BudgetInput{Category: rampart.BOMCategory(req.Category), Description: req.Description, Planned: planned})
	return respondOr(w, c, http.StatusCreated, v, err)
}

func (s financeAPI) actualize(w http.ResponseWriter, r *http.Request, c rampart.Claims, req actualRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	actual, err := req.Actual.money("actual")
	if err != nil {
		return err
	}
	v, err := finance.Actualize(r.Context(), s.store, c, id, actual)
	return respondOr(w, c, http.StatusOK, v, err)
}

func (s financeAPI) unactualize(w http.ResponseWriter, r *http.Request, c rampart.Claims, req reasonRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := finance.Unactualize(r.Context(), s.store, c, id, req.Reason)
	return respondOr(w, c, http.StatusOK, v, err)
}
