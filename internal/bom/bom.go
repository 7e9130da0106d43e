package bom

import (
	"context"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// LineInput is a new line. Cost is the restricted part: leave it empty
// unless the caller has full cost access.
type LineInput struct {
	Position *int
	Item     string
	Category rampart.BOMCategory
	Quantity rampart.Quantity
	Unit     string
	Cost     rampart.LineCost
}

// Patch changes the fields that are set (see store.BOMLinePatch).
type Patch = store.BOMLinePatch

func resource(p rampart.ProposalSummary) access.Resource {
	r := proposal.Resource(p)
	r.Kind = access.KindBOM
	return r
}

// CostAccess reports whether the caller reads and writes cost, sourcing
// and lead time: the API and the console choose Get or GetCosted by it.
func CostAccess(c rampart.Claims) bool { return access.HasFullCostAccess(c.Role) }

func forbiddenCost(op string) error {
	return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: it may not read or set cost, sourcing or lead time.")
}

// Get returns a proposal's bill of materials without cost, sourcing or
// lead time: what every reader of the proposal may see.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) (rampart.BOM, error) {
	const op = "bom.Get"
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.BOM, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return rampart.BOM{}, err
		}
		lines, err := tx.BOMLines().List(ctx, proposalID)
		return rampart.BOM{ProposalID: proposalID, Lines: lines}, err
	})
}

// GetCosted returns the bill with cost, sourcing, lead time and the
// server's totals per currency, for a role with full cost access.
func GetCosted(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) (rampart.CostedBOM, error) {
	const op = "bom.GetCosted"
	if !CostAccess(c) {
		return rampart.CostedBOM{}, forbiddenCost(op)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.CostedBOM, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return rampart.CostedBOM{}, err
		}
		lines, err := tx.BOMLines().ListCosted(ctx, proposalID)
		if err != nil {
			return rampart.CostedBOM{}, err
		}
		return rampart.Costed(proposalID, lines), nil
	})
}

// editable loads the proposal and checks the caller may edit its bill.
func editable(ctx context.Context, tx *store.TenantTx, op string, id uuid.UUID) error {
	p, err := proposal.Readable(ctx, tx, op, id)
	if err != nil {
		return err
	}
	return access.Check(tx.Claims(), access.ActionEdit, resource(p))
}

// Line is a line as the caller may see it: the costed line for a role with
// full cost access, the public line otherwise.
type Line struct {
	Public *rampart.BOMLine
	Costed *rampart.CostedBOMLine
}

// Value is what a response carries.
func (l Line) Value() any {
	if l.Costed != nil {
		return *l.Costed
	}
	return *l.Public
}

// view reads the line back as the caller may see it.
func view(ctx context.Context, tx *store.TenantTx, l rampart.BOMLine) (Line, error) {
	if !CostAccess(tx.Claims()) {
		return Line{Public: &l}, nil
	}
	cl, err := tx.BOMLines().GetCosted(ctx, l.ID)
	if err != nil {
		return Line{}, err
	}
	all := rampart.Costed(l.ProposalID, []rampart.CostedBOMLine{cl})
	return Line{Costed: &all.Lines[0]}, nil
}

// AddLine adds a line to a proposal's bill of materials.
func AddLine(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, in LineInput) (Line, error) {
	if err := checkLine(c, proposalID, in); err != nil {
		return Line{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Line, error) {
		return AddLineIn(ctx, tx, proposalID, in, false)
	})
}

func checkLine(c rampart.Claims, proposalID uuid.UUID, in LineInput) error {
	const op = "bom.AddLine"
	l := rampart.BOMLine{Item: in.Item, Category: in.Category, Quantity: in.Quantity, Unit: in.Unit, ProposalID: proposalID}
	if in.Position != nil {
		l.Position = *in.Position
	}
	if err := rampart.ValidateBOMLine(l); err != nil {
		return err
	}
	if err := rampart.ValidateLineCost(in.Cost); err != nil {
		return err
	}
	if !in.Cost.Empty() && !CostAccess(c) {
		return forbiddenCost(op)
	}
	return nil
}

// AddLineIn adds a line in the caller's transaction, with the same checks
// as AddLine: approving an agent's drafted lines applies them this way,
// as the approver (aiGenerated marks them as an agent's).
func AddLineIn(ctx context.Context, tx *store.TenantTx, proposalID uuid.UUID, in LineInput, aiGenerated bool) (Line, error) {
	const op = "bom.AddLine"
	if err := checkLine(tx.Claims(), proposalID, in); err != nil {
		return Line{}, err
	}
	if err := editable(ctx, tx, op, proposalID); err != nil {
		return Line{}, err
	}
	l := rampart.BOMLine{Item: in.Item, Category: in.Category, Quantity: in.Quantity, Unit: in.Unit, AIGenerated: aiGenerated}
	created, err := tx.BOMLines().Create(ctx, proposalID, l, in.Position, in.Cost)
	if err != nil {
		return Line{}, err
	}
	return view(ctx, tx, created)
}

// UpdateLine changes one line of a bill the caller may edit.
func UpdateLine(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, p Patch) (Line, error) {
	const op = "bom.UpdateLine"
	if p.TouchesCost() && !CostAccess(c) {
		return Line{}, forbiddenCost(op)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Line, error) {
		proposalID, err := lineProposal(ctx, tx, id)
		if err != nil {
			return Line{}, err
		}
		if err := editable(ctx, tx, op, proposalID); err != nil {
			return Line{}, err
		}
		after, err := tx.BOMLines().Update(ctx, id, p)
		if err != nil {
			return Line{}, err
		}
		return view(ctx, tx, after)
	})
}

// DeleteLine removes one line of a bill the caller may edit.
func DeleteLine(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	const op = "bom.DeleteLine"
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		proposalID, err := lineProposal(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := editable(ctx, tx, op, proposalID); err != nil {
			return err
		}
		_, err = tx.BOMLines().Delete(ctx, id)
		return err
	})
}

// lineProposal is the proposal a visible line belongs to.
func lineProposal(ctx context.Context, tx *store.TenantTx, id uuid.UUID) (uuid.UUID, error) {
	l, err := tx.BOMLines().Get(ctx, id)
	return l.ProposalID, err
}
