package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/finance.sql.
var (
	sqlGetSOWByProposal      = query("GetSOWByProposal")
	sqlGetSOWLocked          = query("GetSOWLocked")
	sqlCreateSOW             = query("CreateSOW")
	sqlUpdateSOW             = query("UpdateSOW")
	sqlSignSOW               = query("SignSOW")
	sqlUnsignSOW             = query("UnsignSOW")
	sqlAdjustSOWAmount       = query("AdjustSOWAmount")
	sqlListBudgetLines       = query("ListBudgetLines")
	sqlGetBudgetLineLocked   = query("GetBudgetLineLocked")
	sqlCreateBudgetLine      = query("CreateBudgetLine")
	sqlUpdateBudgetLine      = query("UpdateBudgetLine")
	sqlActualizeBudgetLine   = query("ActualizeBudgetLine")
	sqlUnactualizeBudgetLine = query("UnactualizeBudgetLine")
	sqlListChangeOrders      = query("ListChangeOrders")
	sqlGetChangeOrderLocked  = query("GetChangeOrderLocked")
	sqlCreateChangeOrder     = query("CreateChangeOrder")
	sqlDecideChangeOrder     = query("DecideChangeOrder")
)

// FinanceTx is the organization's statements of work, budget lines and
// change orders. It records amounts as they are; which roles may sign,
// actualize, reverse or decide is the finance use cases' rule (and RLS
// keeps the readers from writing at all). Every mutation goes through
// write: one audited path, with before, after and the reason.
type FinanceTx struct{ tenant }

// Finance returns the finance methods.
func (tx *TenantTx) Finance() FinanceTx { return FinanceTx{tx.tenant} }

func sowDest(s *rampart.PricedSOW) []any {
	return []any{&s.OrganizationID, &s.ID, &s.ProposalID, &s.VenueCode, &s.Title, &s.Terms, &s.Status, &s.SignedBy, &s.SignedAt,
		&s.CreatedBy, &s.CreatedAt, &s.UpdatedAt, &s.Amount.Minor, &s.Amount.Currency}
}

func scanSOW(r pgx.Row) (rampart.PricedSOW, error) {
	var s rampart.PricedSOW
	return s, r.Scan(sowDest(&s)...)
}

func scanBudget(r pgx.Row) (rampart.PricedBudgetLine, error) {
	var l rampart.PricedBudgetLine
	var actual *int64
	err := r.Scan(&l.OrganizationID, &l.ID, &l.ProposalID, &l.Category, &l.Description, &l.Status, &l.ActualizedBy, &l.ActualizedAt,
		&l.CreatedBy, &l.CreatedAt, &l.UpdatedAt, &l.Planned.Minor, &l.Planned.Currency, &actual)
	if actual != nil {
		l.Actual = &rampart.Money{Minor: *actual, Currency: l.Planned.Currency}
	}
	return l, err
}

func scanChangeOrder(r pgx.Row) (rampart.PricedChangeOrder, error) {
	var c rampart.PricedChangeOrder
	err := r.Scan(&c.OrganizationID, &c.ID, &c.SOWID, &c.Description, &c.Status, &c.RequestedBy, &c.DecidedBy, &c.DecidedAt,
		&c.DecisionReason, &c.CreatedAt, &c.AmountDelta.Minor)
	return c, err
}

// write is the one path of every finance mutation: mutate changes the
// row and returns its new state; the audit event (before, after, reason)
// joins the same transaction.
func write[T any](ctx context.Context, tx FinanceTx, op, action, target string, id uuid.UUID, reason string, before *T, mutate func() (T, error)) (T, error) {
	after, err := mutate()
	if err != nil {
		return after, classify(op, err)
	}
	ev := audit.Event{Action: action, TargetType: target, TargetID: id.String(), Reason: reason, After: snapshot(after)}
	if before != nil {
		ev.Before = snapshot(*before)
	}
	return after, tx.recordAudit(ctx, tx.userEvent(ev))
}

// conflict is a transition the row's state does not allow.
func conflict(op, format string, args ...any) error {
	return rampart.Errorf(op, rampart.KindConflict, format, args...)
}

// SOWForProposal reads a proposal's statement of work.
func (tx FinanceTx) SOWForProposal(ctx context.Context, proposal uuid.UUID) (rampart.PricedSOW, error) {
	s, err := scanSOW(tx.queryRow(ctx, sqlGetSOWByProposal, tx.tc.OrganizationID, proposal))
	return s, classify("store.SOW", err)
}

// SOW reads one statement of work, locked for a change.
func (tx FinanceTx) SOW(ctx context.Context, id uuid.UUID) (rampart.PricedSOW, error) {
	s, err := scanSOW(tx.queryRow(ctx, sqlGetSOWLocked, tx.tc.OrganizationID, id))
	return s, classify("store.SOW", err)
}

// CreateSOW adds a proposal's statement of work, as a draft. A proposal
// has at most one (a second is a conflict).
func (tx FinanceTx) CreateSOW(ctx context.Context, proposal uuid.UUID, s rampart.PricedSOW) (rampart.PricedSOW, error) {
	const op = "store.CreateSOW"
	if err := rampart.ValidateSOW(s); err != nil {
		return s, err
	}
	id := uuid.New()
	return write(ctx, tx, op, audit.ActionSOWCreated, "sow", id, "", nil, func() (rampart.PricedSOW, error) {
		return scanSOW(tx.queryRow(ctx, sqlCreateSOW, tx.tc.OrganizationID, id, proposal, s.Title, s.Terms, s.Amount.Minor, s.Amount.Currency, tx.tc.UserID))
	})
}

// UpdateSOW changes a draft's title, terms and amount; a signed statement
// changes only through change orders.
func (tx FinanceTx) UpdateSOW(ctx context.Context, id uuid.UUID, change func(*rampart.PricedSOW)) (rampart.PricedSOW, error) {
	const op = "store.UpdateSOW"
	before, err := tx.SOW(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.SOWDraft {
		return before, conflict(op, "the statement of work is signed: change it with a change order, or unsign it first")
	}
	s := before
	change(&s)
	if err := rampart.ValidateSOW(s); err != nil {
		return before, err
	}
	return write(ctx, tx, op, audit.ActionSOWUpdated, "sow", id, "", &before, func() (rampart.PricedSOW, error) {
		return scanSOW(tx.queryRow(ctx, sqlUpdateSOW, tx.tc.OrganizationID, id, s.Title, s.Terms, s.Amount.Minor, s.Amount.Currency))
	})
}

// SignSOW signs a draft.
func (tx FinanceTx) SignSOW(ctx context.Context, id uuid.UUID) (rampart.PricedSOW, error) {
	const op = "store.SignSOW"
	before, err := tx.SOW(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.SOWDraft {
		return before, conflict(op, "the statement of work is already signed")
	}
	return write(ctx, tx, op, audit.ActionSOWSigned, "sow", id, "", &before, func() (rampart.PricedSOW, error) {
		return scanSOW(tx.queryRow(ctx, sqlSignSOW, tx.tc.OrganizationID, id, tx.tc.UserID))
	})
}

// UnsignSOW returns a signed statement to draft, with a reason.
func (tx FinanceTx) UnsignSOW(ctx context.Context, id uuid.UUID, reason string) (rampart.PricedSOW, error) {
	const op = "store.UnsignSOW"
	reason, err := rampart.ValidateFinanceReason(op, reason)
	if err != nil {
		return rampart.PricedSOW{}, err
	}
	before, err := tx.SOW(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.SOWSigned {
		return before, conflict(op, "only a signed statement of work can be unsigned (this one is a draft)")
	}
	return write(ctx, tx, op, audit.ActionSOWUnsigned, "sow", id, reason, &before, func() (rampart.PricedSOW, error) {
		return scanSOW(tx.queryRow(ctx, sqlUnsignSOW, tx.tc.OrganizationID, id))
	})
}

// BudgetLines lists a proposal's budget lines.
func (tx FinanceTx) BudgetLines(ctx context.Context, proposal uuid.UUID) ([]rampart.PricedBudgetLine, error) {
	rows, err := tx.query(ctx, sqlListBudgetLines, tx.tc.OrganizationID, proposal)
	if err != nil {
		return nil, classify("store.BudgetLines", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.PricedBudgetLine, error) { return scanBudget(r) })
	return out, classify("store.BudgetLines", err)
}

// BudgetLine reads one budget line, locked for a change.
func (tx FinanceTx) BudgetLine(ctx context.Context, id uuid.UUID) (rampart.PricedBudgetLine, error) {
	l, err := scanBudget(tx.queryRow(ctx, sqlGetBudgetLineLocked, tx.tc.OrganizationID, id))
	return l, classify("store.BudgetLine", err)
}

// CreateBudgetLine adds a planned line to a proposal's budget.
func (tx FinanceTx) CreateBudgetLine(ctx context.Context, proposal uuid.UUID, l rampart.PricedBudgetLine) (rampart.PricedBudgetLine, error) {
	const op = "store.CreateBudgetLine"
	if err := rampart.ValidateBudgetLine(l); err != nil {
		return l, err
	}
	id := uuid.New()
	return write(ctx, tx, op, audit.ActionBudgetLineCreated, "budget_line", id, "", nil, func() (rampart.PricedBudgetLine, error) {
		return scanBudget(tx.queryRow(ctx, sqlCreateBudgetLine, tx.tc.OrganizationID, id, proposal, l.Category, l.Description,
			l.Planned.Currency, l.Planned.Minor, tx.tc.UserID))
	})
}

// UpdateBudgetLine changes a planned line.
func (tx FinanceTx) UpdateBudgetLine(ctx context.Context, id uuid.UUID, change func(*rampart.PricedBudgetLine)) (rampart.PricedBudgetLine, error) {
	const op = "store.UpdateBudgetLine"
	before, err := tx.BudgetLine(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.BudgetPlanned {
		return before, conflict(op, "the budget line is actualized: un-actualize it (with a reason) before changing it")
	}
	l := before
	change(&l)
	if err := rampart.ValidateBudgetLine(l); err != nil {
		return before, err
	}
	return write(ctx, tx, op, audit.ActionBudgetLineUpdated, "budget_line", id, "", &before, func() (rampart.PricedBudgetLine, error) {
		return scanBudget(tx.queryRow(ctx, sqlUpdateBudgetLine, tx.tc.OrganizationID, id, l.Category, l.Description, l.Planned.Currency, l.Planned.Minor))
	})
}

// Actualize records a planned line's actual amount (in its currency).
func (tx FinanceTx) Actualize(ctx context.Context, id uuid.UUID, actual rampart.Money) (rampart.PricedBudgetLine, error) {
	const op = "store.Actualize"
	before, err := tx.BudgetLine(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.BudgetPlanned {
		return before, conflict(op, "the budget line is already actualized")
	}
	if actual.Currency != before.Planned.Currency {
		return before, rampart.FieldError(op, "actual.currency", "must be the line's currency, %s", before.Planned.Currency)
	}
	if err := rampart.ValidateAmount(op, "actual", actual, false); err != nil {
		return before, err
	}
	return write(ctx, tx, op, audit.ActionBudgetActualized, "budget_line", id, "", &before, func() (rampart.PricedBudgetLine, error) {
		return scanBudget(tx.queryRow(ctx, sqlActualizeBudgetLine, tx.tc.OrganizationID, id, actual.Minor, tx.tc.UserID))
	})
}

// Unactualize returns an actualized line to planned, with a reason.
func (tx FinanceTx) Unactualize(ctx context.Context, id uuid.UUID, reason string) (rampart.PricedBudgetLine, error) {
	const op = "store.Unactualize"
	reason, err := rampart.ValidateFinanceReason(op, reason)
	if err != nil {
		return rampart.PricedBudgetLine{}, err
	}
	before, err := tx.BudgetLine(ctx, id)
	if err != nil {
		return before, err
	}
	if before.Status != rampart.BudgetActualized {
		return before, conflict(op, "only an actualized budget line can be un-actualized (this one is planned)")
	}
	return write(ctx, tx, op, audit.ActionBudgetUnactualized, "budget_line", id, reason, &before, func() (rampart.PricedBudgetLine, error) {
		return scanBudget(tx.queryRow(ctx, sqlUnactualizeBudgetLine, tx.tc.OrganizationID, id))
	})
}

// ChangeOrders lists a statement of work's change orders.
func (tx FinanceTx) ChangeOrders(ctx context.Context, sow uuid.UUID) ([]rampart.PricedChangeOrder, error) {
	rows, err := tx.query(ctx, sqlListChangeOrders, tx.tc.OrganizationID, sow)
	if err != nil {
		return nil, classify("store.ChangeOrders", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.PricedChangeOrder, error) { return scanChangeOrder(r) })
	return out, classify("store.ChangeOrders", err)
}

// ChangeOrder reads one change order, locked for a decision.
func (tx FinanceTx) ChangeOrder(ctx context.Context, id uuid.UUID) (rampart.PricedChangeOrder, error) {
	c, err := scanChangeOrder(tx.queryRow(ctx, sqlGetChangeOrderLocked, tx.tc.OrganizationID, id))
	return c, classify("store.ChangeOrder", err)
}

// RequestChange asks for a change to a signed statement of work.
func (tx FinanceTx) RequestChange(ctx context.Context, sowID uuid.UUID, description string, delta rampart.Money) (rampart.PricedChangeOrder, error) {
	const op = "store.RequestChange"
	s, err := tx.SOW(ctx, sowID)
	if err != nil {
		return rampart.PricedChangeOrder{}, err
	}
	if s.Status != rampart.SOWSigned {
		return rampart.PricedChangeOrder{}, conflict(op, "change orders are for signed statements of work; edit the draft instead")
	}
	if delta.Currency != s.Amount.Currency {
		return rampart.PricedChangeOrder{}, rampart.FieldError(op, "amount_delta.currency", "must be the statement's currency, %s", s.Amount.Currency)
	}
	if err := rampart.ValidateAmount(op, "amount_delta", delta, true); err != nil {
		return rampart.PricedChangeOrder{}, err
	}
	if err := validDescription(op, description); err != nil {
		return rampart.PricedChangeOrder{}, err
	}
	id := uuid.New()
	c, err := write(ctx, tx, op, audit.ActionChangeOrderRequested, "change_order", id, "", nil, func() (rampart.PricedChangeOrder, error) {
		return scanChangeOrder(tx.queryRow(ctx, sqlCreateChangeOrder, tx.tc.OrganizationID, id, sowID, description, delta.Minor, tx.tc.UserID))
	})
	c.AmountDelta.Currency = s.Amount.Currency
	return c, err
}

func validDescription(op, s string) error {
	_, err := rampart.ValidateFinanceReason(op, s)
	if err != nil {
		return rampart.FieldError(op, "description", "is required, at most %d characters, without control characters", rampart.MaxReasonChars)
	}
	return nil
}

// DecideChange approves (applying the delta to the statement's amount) or
// rejects a requested change, with a reason. Both writes are audited.
func (tx FinanceTx) DecideChange(ctx context.Context, id uuid.UUID, approve bool, reason string) (rampart.PricedChangeOrder, rampart.PricedSOW, error) {
	const op = "store.DecideChange"
	reason, err := rampart.ValidateFinanceReason(op, reason)
	if err != nil {
		return rampart.PricedChangeOrder{}, rampart.PricedSOW{}, err
	}
	before, err := tx.ChangeOrder(ctx, id)
	if err != nil {
		return before, rampart.PricedSOW{}, err
	}
	s, err := tx.SOW(ctx, before.SOWID)
	if err != nil {
		return before, s, err
	}
	before.AmountDelta.Currency = s.Amount.Currency
	if before.Status != rampart.ChangeRequested {
		return before, s, conflict(op, "the change order was already %s", before.Status)
	}
	status, action := rampart.ChangeRejected, audit.ActionChangeOrderRejected
	if approve {
		status, action = rampart.ChangeApproved, audit.ActionChangeOrderApproved
		if s.Status != rampart.SOWSigned {
			return before, s, conflict(op, "the statement of work is no longer signed: the change cannot apply")
		}
		if n := s.Amount.Minor + before.AmountDelta.Minor; n < 0 || n > rampart.MaxFinanceMinor {
			return before, s, conflict(op, "the change would make the statement's amount %s", rampart.Money{Minor: n, Currency: s.Amount.Currency}.Amount())
		}
	}
	// One event records the decision and, for an approval, the amount it
	// moved: before and after hold both the change order and the statement.
	after, err := scanChangeOrder(tx.queryRow(ctx, sqlDecideChangeOrder, tx.tc.OrganizationID, id, status, tx.tc.UserID, reason))
	if err != nil {
		return after, s, classify(op, err)
	}
	after.AmountDelta.Currency = s.Amount.Currency
	sBefore := s
	if approve {
		if s, err = scanSOW(tx.queryRow(ctx, sqlAdjustSOWAmount, tx.tc.OrganizationID, s.ID, before.AmountDelta.Minor)); err != nil {
			return after, s, classify(op, err)
		}
	}
	return after, s, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: action, TargetType: "change_order", TargetID: id.String(), Reason: reason,
		Before: snapshot(map[string]any{"change_order": before, "sow": sBefore}),
		After:  snapshot(map[string]any{"change_order": after, "sow": s})}))
}
