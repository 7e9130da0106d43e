package finance

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// CostAccess reports whether the caller reads amounts and writes finance.
func CostAccess(c rampart.Claims) bool { return access.HasFullCostAccess(c.Role) }

func resource(kind access.ResourceKind, venue *string) access.Resource {
	r := access.Resource{Kind: kind}
	if venue != nil {
		r.VenueCode = *venue
	}
	return r
}

func notFound(op string) error { return rampart.Errorf(op, rampart.KindNotFound, "not found") }

// needCost refuses a caller without full cost access to any finance write.
func needCost(op string, c rampart.Claims) error {
	if !CostAccess(c) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: finance is not available to it.")
	}
	return nil
}

// denied is a refusal of a sign-off action on an object the caller can
// see: it is answered 403 and recorded (finance.denied) in a transaction of
// its own, since the refused one rolls back.
type denied struct {
	err       error
	attempted string
	target    string
	id        uuid.UUID
}

func (d *denied) Error() string { return d.err.Error() }
func (d *denied) Unwrap() error { return d.err }

// guard checks a sign-off action; a refusal becomes a *denied.
func guard(c rampart.Claims, act access.Action, r access.Resource, attempted, target string, id uuid.UUID) error {
	if err := access.Check(c, act, r); err != nil {
		return &denied{err: err, attempted: attempted, target: target, id: id}
	}
	return nil
}

// run is InTenant for finance: a *denied refusal is recorded after the
// rollback, and the caller gets the 403.
func run[T any](ctx context.Context, st *store.Store, c rampart.Claims, fn func(context.Context, *store.TenantTx) (T, error)) (T, error) {
	v, err := store.InTenantValue(ctx, st, c, fn)
	var d *denied
	if errors.As(err, &d) {
		meta, _ := json.Marshal(map[string]string{"attempted": d.attempted})
		rerr := st.InTenant(context.WithoutCancel(ctx), c, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: c.UserID.String(), Action: audit.ActionFinanceDenied,
				TargetType: d.target, TargetID: d.id.String(), Metadata: meta})
		})
		if rerr != nil {
			return v, rerr
		}
		return v, d.err
	}
	return v, err
}

// SOWInput is a statement of work's fields.
type SOWInput struct {
	Title  string
	Terms  string
	Amount rampart.Money
}

// SOW reads a proposal's statement of work without its amount.
func SOW(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) (rampart.SOW, error) {
	s, err := pricedSOW(ctx, st, c, "finance.SOW", proposalID)
	return s.SOW, err
}

// PricedSOW reads a proposal's statement of work with its amount.
func PricedSOW(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) (rampart.PricedSOW, error) {
	const op = "finance.PricedSOW"
	if err := needCost(op, c); err != nil {
		return rampart.PricedSOW{}, err
	}
	return pricedSOW(ctx, st, c, op, proposalID)
}

func pricedSOW(ctx context.Context, st *store.Store, c rampart.Claims, op string, proposalID uuid.UUID) (rampart.PricedSOW, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedSOW, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return rampart.PricedSOW{}, err
		}
		return tx.Finance().SOWForProposal(ctx, proposalID)
	})
}

// CreateSOW adds a proposal's statement of work as a draft.
func CreateSOW(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, in SOWInput) (rampart.PricedSOW, error) {
	const op = "finance.CreateSOW"
	s := rampart.PricedSOW{SOW: rampart.SOW{Title: in.Title, Terms: in.Terms}, Amount: in.Amount}
	if err := rampart.ValidateSOW(s); err != nil {
		return s, err
	}
	if err := needCost(op, c); err != nil {
		return s, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedSOW, error) {
		p, err := proposal.Readable(ctx, tx, op, proposalID)
		if err != nil {
			return rampart.PricedSOW{}, err
		}
		if err := access.Check(c, access.ActionEdit, resource(access.KindSOW, p.VenueCode)); err != nil {
			return rampart.PricedSOW{}, err
		}
		if _, err := tx.Finance().SOWForProposal(ctx, proposalID); err == nil {
			return rampart.PricedSOW{}, rampart.Errorf(op, rampart.KindConflict, "the proposal already has a statement of work")
		} else if rampart.ErrorKind(err) != rampart.KindNotFound {
			return rampart.PricedSOW{}, err
		}
		return tx.Finance().CreateSOW(ctx, proposalID, s)
	})
}

// sowInTx loads a statement of work the caller can read.
func sowInTx(ctx context.Context, tx *store.TenantTx, op string, id uuid.UUID) (rampart.PricedSOW, error) {
	s, err := tx.Finance().SOW(ctx, id)
	if err != nil {
		return s, err
	}
	if !access.Can(tx.Claims(), access.ActionRead, resource(access.KindSOW, s.VenueCode)) {
		return s, notFound(op)
	}
	return s, nil
}

// UpdateSOW changes a draft's fields (the ones set).
func UpdateSOW(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, title, terms *string, amount *rampart.Money) (rampart.PricedSOW, error) {
	const op = "finance.UpdateSOW"
	if err := needCost(op, c); err != nil {
		return rampart.PricedSOW{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedSOW, error) {
		s, err := sowInTx(ctx, tx, op, id)
		if err != nil {
			return s, err
		}
		if err := access.Check(c, access.ActionEdit, resource(access.KindSOW, s.VenueCode)); err != nil {
			return s, err
		}
		return tx.Finance().UpdateSOW(ctx, id, func(s *rampart.PricedSOW) {
			if title != nil {
				s.Title = *title
			}
			if terms != nil {
				s.Terms = *terms
			}
			if amount != nil {
				s.Amount = *amount
			}
		})
	})
}

// Sign signs a draft statement of work (admin or executive producer).
func Sign(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.PricedSOW, error) {
	const op = "finance.Sign"
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedSOW, error) {
		s, err := sowInTx(ctx, tx, op, id)
		if err != nil {
			return s, err
		}
		if err := guard(c, access.ActionSignSOW, resource(access.KindSOW, s.VenueCode), "sow.sign", "sow", id); err != nil {
			return s, err
		}
		return tx.Finance().SignSOW(ctx, id)
	})
}

// Unsign returns a signed statement of work to draft, with a reason
// (admin or executive producer).
func Unsign(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, reason string) (rampart.PricedSOW, error) {
	const op = "finance.Unsign"
	if _, err := rampart.ValidateFinanceReason(op, reason); err != nil {
		return rampart.PricedSOW{}, err
	}
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedSOW, error) {
		s, err := sowInTx(ctx, tx, op, id)
		if err != nil {
			return s, err
		}
		if err := guard(c, access.ActionUnsignSOW, resource(access.KindSOW, s.VenueCode), "sow.unsign", "sow", id); err != nil {
			return s, err
		}
		return tx.Finance().UnsignSOW(ctx, id, reason)
	})
}

// BudgetInput is a budget line's fields.
type BudgetInput struct {
	Category    rampart.BOMCategory
	Description string
	Planned     rampart.Money
}

// Budget lists a proposal's budget lines without amounts.
func Budget(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.BudgetLine, error) {
	lines, err := pricedBudget(ctx, st, c, "finance.Budget", proposalID)
	out := make([]rampart.BudgetLine, len(lines))
	for i, l := range lines {
		out[i] = l.BudgetLine
	}
	return out, err
}

// PricedBudget lists a proposal's budget lines with their amounts.
func PricedBudget(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.PricedBudgetLine, error) {
	const op = "finance.PricedBudget"
	if err := needCost(op, c); err != nil {
		return nil, err
	}
	return pricedBudget(ctx, st, c, op, proposalID)
}

func pricedBudget(ctx context.Context, st *store.Store, c rampart.Claims, op string, proposalID uuid.UUID) ([]rampart.PricedBudgetLine, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.PricedBudgetLine, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return nil, err
		}
		return tx.Finance().BudgetLines(ctx, proposalID)
	})
}

// AddBudgetLine adds a planned line to a proposal's budget.
func AddBudgetLine(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, in BudgetInput) (rampart.PricedBudgetLine, error) {
	if err := checkBudgetLine(c, in); err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedBudgetLine, error) {
		return AddBudgetLineIn(ctx, tx, proposalID, in)
	})
}

func checkBudgetLine(c rampart.Claims, in BudgetInput) error {
	const op = "finance.AddBudgetLine"
	l := rampart.PricedBudgetLine{BudgetLine: rampart.BudgetLine{Category: in.Category, Description: in.Description}, Planned: in.Planned}
	if err := rampart.ValidateBudgetLine(l); err != nil {
		return err
	}
	return needCost(op, c)
}

// AddBudgetLineIn adds a planned line in the caller's transaction, with
// the same checks as AddBudgetLine: a person approving a budget analyst's
// proposal applies it this way, as themselves. Agents cannot call it (an
// agent transaction is not a TenantTx, and agent packages may not import
// this package).
func AddBudgetLineIn(ctx context.Context, tx *store.TenantTx, proposalID uuid.UUID, in BudgetInput) (rampart.PricedBudgetLine, error) {
	const op = "finance.AddBudgetLine"
	c := tx.Claims()
	if err := checkBudgetLine(c, in); err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	p, err := proposal.Readable(ctx, tx, op, proposalID)
	if err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	if err := access.Check(c, access.ActionEdit, resource(access.KindBudget, p.VenueCode)); err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	l := rampart.PricedBudgetLine{BudgetLine: rampart.BudgetLine{Category: in.Category, Description: in.Description}, Planned: in.Planned}
	return tx.Finance().CreateBudgetLine(ctx, proposalID, l)
}

func budgetInTx(ctx context.Context, tx *store.TenantTx, op string, id uuid.UUID) (rampart.PricedBudgetLine, *string, error) {
	l, err := tx.Finance().BudgetLine(ctx, id)
	if err != nil {
		return l, nil, err
	}
	p, err := proposal.Readable(ctx, tx, op, l.ProposalID)
	if err != nil {
		return l, nil, err
	}
	return l, p.VenueCode, nil
}

// Actualize records a planned line's actual amount (admin or executive
// producer).
func Actualize(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, actual rampart.Money) (rampart.PricedBudgetLine, error) {
	const op = "finance.Actualize"
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedBudgetLine, error) {
		l, venue, err := budgetInTx(ctx, tx, op, id)
		if err != nil {
			return l, err
		}
		if err := guard(c, access.ActionActualizeBudget, resource(access.KindBudget, venue), "budget.actualize", "budget_line", id); err != nil {
			return l, err
		}
		return tx.Finance().Actualize(ctx, id, actual)
	})
}

// Unactualize returns an actualized line to planned, with a reason (admin
// or executive producer).
func Unactualize(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, reason string) (rampart.PricedBudgetLine, error) {
	const op = "finance.Unactualize"
	if _, err := rampart.ValidateFinanceReason(op, reason); err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedBudgetLine, error) {
		l, venue, err := budgetInTx(ctx, tx, op, id)
		if err != nil {
			return l, err
		}
		if err := guard(c, access.ActionActualizeBudget, resource(access.KindBudget, venue), "budget.unactualize", "budget_line", id); err != nil {
			return l, err
		}
		return tx.Finance().Unactualize(ctx, id, reason)
	})
}

// RequestChange asks for a change to a signed statement of work (the
// roles that edit finance may ask; admins and executive producers decide).
func RequestChange(ctx context.Context, st *store.Store, c rampart.Claims, sowID uuid.UUID, description string, delta rampart.Money) (rampart.PricedChangeOrder, error) {
	const op = "finance.RequestChange"
	if err := needCost(op, c); err != nil {
		return rampart.PricedChangeOrder{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedChangeOrder, error) {
		s, err := sowInTx(ctx, tx, op, sowID)
		if err != nil {
			return rampart.PricedChangeOrder{}, err
		}
		if err := access.Check(c, access.ActionEdit, resource(access.KindSOW, s.VenueCode)); err != nil {
			return rampart.PricedChangeOrder{}, err
		}
		return tx.Finance().RequestChange(ctx, sowID, description, delta)
	})
}

// ChangeOrders lists a statement of work's change orders with amounts.
func ChangeOrders(ctx context.Context, st *store.Store, c rampart.Claims, sowID uuid.UUID) ([]rampart.PricedChangeOrder, error) {
	const op = "finance.ChangeOrders"
	if err := needCost(op, c); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.PricedChangeOrder, error) {
		s, err := sowInTx(ctx, tx, op, sowID)
		if err != nil {
			return nil, err
		}
		out, err := tx.Finance().ChangeOrders(ctx, sowID)
		for i := range out {
			out[i].AmountDelta.Currency = s.Amount.Currency
		}
		return out, err
	})
}

// Decide approves or rejects a requested change, with a reason (admin or
// executive producer); approval applies it to the statement's amount.
func Decide(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, approve bool, reason string) (rampart.PricedChangeOrder, error) {
	const op = "finance.Decide"
	if _, err := rampart.ValidateFinanceReason(op, reason); err != nil {
		return rampart.PricedChangeOrder{}, err
	}
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.PricedChangeOrder, error) {
		co, err := tx.Finance().ChangeOrder(ctx, id)
		if err != nil {
			return co, err
		}
		s, err := sowInTx(ctx, tx, op, co.SOWID)
		if err != nil {
			return co, err
		}
		if err := guard(c, access.ActionSignSOW, resource(access.KindSOW, s.VenueCode), "change_order.decide", "change_order", id); err != nil {
			return co, err
		}
		after, _, err := tx.Finance().DecideChange(ctx, id, approve, reason)
		return after, err
	})
}
