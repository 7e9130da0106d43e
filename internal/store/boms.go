package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/boms.sql.
var (
	sqlListBOMLines       = query("ListBOMLines")
	sqlListCostedBOMLines = query("ListCostedBOMLines")
	sqlProposalVisible    = query("ProposalVisible")
	sqlCountBOMLines      = query("CountBOMLines")
	sqlCreateBOMLine      = query("CreateBOMLine")
	sqlGetBOMLineLocked   = query("GetBOMLineLocked")
	sqlUpdateBOMLine      = query("UpdateBOMLine")
	sqlUpdateBOMLineSeal  = query("UpdateBOMLineSealed")
	sqlDeleteBOMLine      = query("DeleteBOMLine")
	sqlGetBOMLine         = query("GetBOMLine")
)

// The sealed columns of bom_lines: what a fieldcrypt.Binding names.
const (
	tableBOMLines  = "bom_lines"
	colUnitCost    = "unit_cost_enc"
	colSourcing    = "sourcing_enc"
	colLeadTime    = "lead_time_enc"
	sealedColCount = 3
)

// BOMLinesTx is the lines of the organization's bills of materials. Their
// public fields are read by everyone who reads the proposal; the sealed
// ones (cost, sourcing, lead time) are opened, and written, only for roles
// with full cost access: the methods that return or take them refuse the
// others, whatever the caller.
type BOMLinesTx struct{ tenant }

// BOMLines returns the bill-of-materials methods.
func (tx *TenantTx) BOMLines() BOMLinesTx { return BOMLinesTx{tx.tenant} }

// sealedRow is a line's sealed columns as stored.
type sealedRow struct {
	currency                    *string
	unitCost, sourcing, leadTim []byte
	keyID                       *string
}

func bomLineDest(l *rampart.BOMLine) []any {
	return []any{&l.OrganizationID, &l.ID, &l.ProposalID, &l.Position, &l.Item, &l.Category, &l.Quantity, &l.Unit,
		&l.AIGenerated, &l.CreatedBy, &l.UpdatedBy, &l.CreatedAt, &l.UpdatedAt}
}

func (r *sealedRow) dest() []any {
	return []any{&r.currency, &r.unitCost, &r.sourcing, &r.leadTim, &r.keyID}
}

// List returns a proposal's lines without their sealed fields, in
// position order. A proposal the caller cannot see is not found.
func (tx BOMLinesTx) List(ctx context.Context, proposal uuid.UUID) ([]rampart.BOMLine, error) {
	const op = "store.BOMLines"
	rows, err := tx.query(ctx, sqlListBOMLines, tx.tc.OrganizationID, proposal)
	if err != nil {
		return nil, classify(op, err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.BOMLine, error) {
		var l rampart.BOMLine
		return l, r.Scan(bomLineDest(&l)...)
	})
	if err != nil {
		return nil, classify(op, err)
	}
	if len(lines) == 0 {
		return lines, tx.proposalVisible(ctx, op, proposal)
	}
	return lines, nil
}

func (tx BOMLinesTx) proposalVisible(ctx context.Context, op string, proposal uuid.UUID) error {
	var ok bool
	if err := tx.queryRow(ctx, sqlProposalVisible, tx.tc.OrganizationID, proposal).Scan(&ok); err != nil {
		return classify(op, err)
	}
	if !ok {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return nil
}

// costAccess refuses a caller without full cost access: the sealed fields
// are neither opened nor written for them.
func (tx BOMLinesTx) costAccess(op string) error {
	if !access.HasFullCostAccess(tx.tc.Role) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: cost, sourcing and lead time are not available to it.")
	}
	return nil
}

func (tx BOMLinesTx) ring(op string) (*fieldcrypt.Ring, error) {
	if tx.store.keys == nil {
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "field encryption is not configured (RAMPART_FIELD_KEYS)")
	}
	return tx.store.keys, nil
}

// ListCosted returns a proposal's lines with their sealed fields opened,
// for a role with full cost access. A value that fails to open is that
// line's CostError (and an audit event), never an error for the whole
// bill and never an empty field.
func (tx BOMLinesTx) ListCosted(ctx context.Context, proposal uuid.UUID) ([]rampart.CostedBOMLine, error) {
	const op = "store.CostedBOMLines"
	if err := tx.costAccess(op); err != nil {
		return nil, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, sqlListCostedBOMLines, tx.tc.OrganizationID, proposal)
	if err != nil {
		return nil, classify(op, err)
	}
	type raw struct {
		line   rampart.BOMLine
		sealed sealedRow
	}
	raws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (raw, error) {
		var x raw
		return x, r.Scan(append(bomLineDest(&x.line), x.sealed.dest()...)...)
	})
	if err != nil {
		return nil, classify(op, err)
	}
	if len(raws) == 0 {
		return []rampart.CostedBOMLine{}, tx.proposalVisible(ctx, op, proposal)
	}
	out := make([]rampart.CostedBOMLine, len(raws))
	for i, x := range raws {
		if out[i], err = tx.open(ctx, ring, x.line, x.sealed); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// open opens a line's sealed fields. A failure is recorded on the line
// and in the audit log; only a failure to record it is an error.
func (tx BOMLinesTx) open(ctx context.Context, ring *fieldcrypt.Ring, l rampart.BOMLine, s sealedRow) (rampart.CostedBOMLine, error) {
	out := rampart.CostedBOMLine{BOMLine: l}
	cost, col, err := openCost(ring, l, s)
	if err == nil {
		out.Cost = cost
		return out, nil
	}
	out.CostError = fmt.Sprintf("the %s of this line could not be decrypted (%s); an administrator can see why in the audit log", colLabel(col), errClass(err))
	tx.store.log.Error("sealed field unreadable", "table", tableBOMLines, "column", col, "row", l.ID, "err", err)
	kid := ""
	if s.keyID != nil {
		kid = *s.keyID
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionFieldUnreadable,
		TargetType: "bom_line", TargetID: l.ID.String(),
		Metadata: snapshot(map[string]any{"table": tableBOMLines, "column": col, "key_id": kid, "error": errClass(err)})}))
}

func colLabel(col string) string {
	switch col {
	case colUnitCost:
		return "unit cost"
	case colSourcing:
		return "sourcing"
	case colLeadTime:
		return "lead time"
	}
	return col
}

// errClass names a failure without detail that could help an attacker.
func errClass(err error) string {
	switch {
	case errors.Is(err, fieldcrypt.ErrUnknownKey):
		return "its key is not in the key ring"
	case errors.Is(err, fieldcrypt.ErrAuth):
		return "it does not authenticate for this field"
	case errors.Is(err, fieldcrypt.ErrMalformed):
		return "it is not a valid envelope"
	}
	return "its content is invalid"
}

func binding(l rampart.BOMLine, col string) fieldcrypt.Binding {
	return fieldcrypt.Binding{Organization: l.OrganizationID, Table: tableBOMLines, Column: col, Row: l.ID}
}

// openCost opens the sealed columns of one line; on failure it names the
// column.
func openCost(ring *fieldcrypt.Ring, l rampart.BOMLine, s sealedRow) (rampart.LineCost, string, error) {
	var c rampart.LineCost
	if s.unitCost != nil {
		pt, _, err := ring.Open(binding(l, colUnitCost), s.unitCost)
		if err != nil {
			return c, colUnitCost, err
		}
		n, perr := strconv.ParseInt(string(pt), 10, 64)
		if perr != nil || s.currency == nil {
			return c, colUnitCost, fmt.Errorf("unit cost plaintext: %w", errBadPlaintext)
		}
		c.UnitCost = &rampart.Money{Minor: n, Currency: *s.currency}
	}
	if s.sourcing != nil {
		pt, _, err := ring.Open(binding(l, colSourcing), s.sourcing)
		if err != nil {
			return c, colSourcing, err
		}
		c.Sourcing = string(pt)
	}
	if s.leadTim != nil {
		pt, _, err := ring.Open(binding(l, colLeadTime), s.leadTim)
		if err != nil {
			return c, colLeadTime, err
		}
		d, perr := strconv.Atoi(string(pt))
		if perr != nil {
			return c, colLeadTime, fmt.Errorf("lead time plaintext: %w", errBadPlaintext)
		}
		c.LeadTimeDays = &d
	}
	return c, "", rampart.ValidateLineCost(c)
}

var errBadPlaintext = errors.New("invalid plaintext")

// sealCost seals every field of c for line l under the ring's newest key.
func sealCost(ring *fieldcrypt.Ring, l rampart.BOMLine, c rampart.LineCost) (sealedRow, error) {
	var s sealedRow
	var err error
	if c.Empty() {
		return s, nil
	}
	if c.UnitCost != nil {
		cur := c.UnitCost.Currency
		s.currency = &cur
		if s.unitCost, err = ring.Seal(binding(l, colUnitCost), []byte(strconv.FormatInt(c.UnitCost.Minor, 10))); err != nil {
			return s, err
		}
	}
	if c.Sourcing != "" {
		if s.sourcing, err = ring.Seal(binding(l, colSourcing), []byte(c.Sourcing)); err != nil {
			return s, err
		}
	}
	if c.LeadTimeDays != nil {
		if s.leadTim, err = ring.Seal(binding(l, colLeadTime), []byte(strconv.Itoa(*c.LeadTimeDays))); err != nil {
			return s, err
		}
	}
	kid := ring.Newest()
	s.keyID = &kid
	return s, nil
}

// Create adds a line to a proposal's bill of materials, at position when
// one is given (else after the last). cost, when not empty, needs full
// cost access; it is sealed before the statement is built.
func (tx BOMLinesTx) Create(ctx context.Context, proposal uuid.UUID, l rampart.BOMLine, position *int, cost rampart.LineCost) (rampart.BOMLine, error) {
	const op = "store.CreateBOMLine"
	c := tx.tc
	l.ID = uuid.New()
	l.OrganizationID = c.OrganizationID
	if position != nil {
		l.Position = *position
	}
	if err := rampart.ValidateBOMLine(l); err != nil {
		return rampart.BOMLine{}, err
	}
	if err := rampart.ValidateLineCost(cost); err != nil {
		return rampart.BOMLine{}, err
	}
	var s sealedRow
	if !cost.Empty() {
		if err := tx.costAccess(op); err != nil {
			return rampart.BOMLine{}, err
		}
		ring, err := tx.ring(op)
		if err != nil {
			return rampart.BOMLine{}, err
		}
		if s, err = sealCost(ring, l, cost); err != nil {
			return rampart.BOMLine{}, rampart.Wrap(op, rampart.KindInternal, err)
		}
	}
	var n int
	if err := tx.queryRow(ctx, sqlCountBOMLines, c.OrganizationID, proposal).Scan(&n); err != nil {
		return rampart.BOMLine{}, classify(op, err)
	}
	if n >= rampart.MaxBOMLines {
		return rampart.BOMLine{}, rampart.Errorf(op, rampart.KindConflict, "a bill of materials holds at most %d lines", rampart.MaxBOMLines)
	}
	var out rampart.BOMLine
	err := tx.queryRow(ctx, sqlCreateBOMLine, c.OrganizationID, l.ID, proposal, position, l.Item, l.Category, int64(l.Quantity), l.Unit,
		s.currency, s.unitCost, s.sourcing, s.leadTim, s.keyID, c.UserID, l.AIGenerated).Scan(bomLineDest(&out)...)
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionBOMLineCreated,
		TargetType: "bom_line", TargetID: out.ID.String(), After: bomLineSnapshot(out, sealedFields(s))}))
}

// BOMLinePatch changes the fields that are set. The sealed fields need
// full cost access: UnitCost or LeadTimeDays set replace the value, the
// Clear flags remove it, Sourcing set to "" removes the notes.
type BOMLinePatch struct {
	Position *int
	Item     *string
	Category *rampart.BOMCategory
	Quantity *rampart.Quantity
	Unit     *string

	UnitCost      *rampart.Money
	ClearUnitCost bool
	Sourcing      *string
	LeadTimeDays  *int
	ClearLeadTime bool
}

// TouchesCost reports whether the patch changes a sealed field.
func (p BOMLinePatch) TouchesCost() bool {
	return p.UnitCost != nil || p.ClearUnitCost || p.Sourcing != nil || p.LeadTimeDays != nil || p.ClearLeadTime
}

// Update applies a patch to one line. A patch that touches a sealed field
// opens the line's other sealed fields and seals all of them again under
// the newest key (a row's values share one key); a value that cannot be
// opened must be replaced or cleared by the same patch.
func (tx BOMLinesTx) Update(ctx context.Context, id uuid.UUID, p BOMLinePatch) (rampart.BOMLine, error) {
	const op = "store.UpdateBOMLine"
	c := tx.tc
	if p.TouchesCost() {
		if err := tx.costAccess(op); err != nil {
			return rampart.BOMLine{}, err
		}
	}
	var before rampart.BOMLine
	var sealed sealedRow
	if err := tx.queryRow(ctx, sqlGetBOMLineLocked, c.OrganizationID, id).Scan(append(bomLineDest(&before), sealed.dest()...)...); err != nil {
		return rampart.BOMLine{}, classify(op, err)
	}
	l := before
	if p.Position != nil {
		l.Position = *p.Position
	}
	if p.Item != nil {
		l.Item = *p.Item
	}
	if p.Category != nil {
		l.Category = *p.Category
	}
	if p.Quantity != nil {
		l.Quantity = *p.Quantity
	}
	if p.Unit != nil {
		l.Unit = *p.Unit
	}
	if err := rampart.ValidateBOMLine(l); err != nil {
		return rampart.BOMLine{}, err
	}
	var after rampart.BOMLine
	changed := []string{}
	if !p.TouchesCost() {
		if err := tx.queryRow(ctx, sqlUpdateBOMLine, c.OrganizationID, id, l.Position, l.Item, l.Category, int64(l.Quantity), l.Unit, c.UserID).
			Scan(bomLineDest(&after)...); err != nil {
			return after, classify(op, err)
		}
	} else {
		ring, err := tx.ring(op)
		if err != nil {
			return rampart.BOMLine{}, err
		}
		cost, err := tx.reopenForPatch(ring, before, sealed, p)
		if err != nil {
			return rampart.BOMLine{}, err
		}
		if err := rampart.ValidateLineCost(cost); err != nil {
			return rampart.BOMLine{}, err
		}
		s, err := sealCost(ring, before, cost)
		if err != nil {
			return rampart.BOMLine{}, rampart.Wrap(op, rampart.KindInternal, err)
		}
		if err := tx.queryRow(ctx, sqlUpdateBOMLineSeal, c.OrganizationID, id, l.Position, l.Item, l.Category, int64(l.Quantity), l.Unit, c.UserID,
			s.currency, s.unitCost, s.sourcing, s.leadTim, s.keyID).Scan(bomLineDest(&after)...); err != nil {
			return after, classify(op, err)
		}
		changed = p.costFields()
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionBOMLineUpdated,
		TargetType: "bom_line", TargetID: after.ID.String(),
		Before: bomLineSnapshot(before, sealedFields(sealed)),
		After:  bomLineSnapshot(after, nil), Metadata: snapshot(map[string]any{"sealed_fields_changed": changed})}))
}

func (p BOMLinePatch) costFields() []string {
	var f []string
	if p.UnitCost != nil || p.ClearUnitCost {
		f = append(f, "unit_cost")
	}
	if p.Sourcing != nil {
		f = append(f, "sourcing")
	}
	if p.LeadTimeDays != nil || p.ClearLeadTime {
		f = append(f, "lead_time_days")
	}
	return f
}

// reopenForPatch is the line's restricted fields after the patch: the
// ones the patch leaves are opened from their envelopes.
func (tx BOMLinesTx) reopenForPatch(ring *fieldcrypt.Ring, l rampart.BOMLine, s sealedRow, p BOMLinePatch) (rampart.LineCost, error) {
	const op = "store.UpdateBOMLine"
	var c rampart.LineCost
	keep := func(col string, env []byte, replaced bool, use func([]byte) error) error {
		if replaced || env == nil {
			return nil
		}
		pt, _, err := ring.Open(binding(l, col), env)
		if err == nil {
			err = use(pt)
		}
		if err != nil {
			return rampart.Errorf(op, rampart.KindConflict, "the line's %s cannot be decrypted (%s): set or clear it in the same change", colLabel(col), errClass(err))
		}
		return nil
	}
	if err := keep(colUnitCost, s.unitCost, p.UnitCost != nil || p.ClearUnitCost, func(pt []byte) error {
		n, err := strconv.ParseInt(string(pt), 10, 64)
		if err != nil || s.currency == nil {
			return errBadPlaintext
		}
		c.UnitCost = &rampart.Money{Minor: n, Currency: *s.currency}
		return nil
	}); err != nil {
		return c, err
	}
	if err := keep(colSourcing, s.sourcing, p.Sourcing != nil, func(pt []byte) error { c.Sourcing = string(pt); return nil }); err != nil {
		return c, err
	}
	if err := keep(colLeadTime, s.leadTim, p.LeadTimeDays != nil || p.ClearLeadTime, func(pt []byte) error {
		d, err := strconv.Atoi(string(pt))
		if err != nil {
			return errBadPlaintext
		}
		c.LeadTimeDays = &d
		return nil
	}); err != nil {
		return c, err
	}
	if p.UnitCost != nil {
		m := *p.UnitCost
		c.UnitCost = &m
	}
	if p.Sourcing != nil {
		c.Sourcing = *p.Sourcing
	}
	if p.LeadTimeDays != nil {
		d := *p.LeadTimeDays
		c.LeadTimeDays = &d
	}
	return c, nil
}

// Get reads one line's public fields; another organization's or another
// venue's line is not found.
func (tx BOMLinesTx) Get(ctx context.Context, id uuid.UUID) (rampart.BOMLine, error) {
	var l rampart.BOMLine
	err := tx.queryRow(ctx, sqlGetBOMLine, tx.tc.OrganizationID, id).Scan(bomLineDest(&l)...)
	return l, classify("store.BOMLine", err)
}

// GetCosted reads one line with its sealed fields opened, for a role with
// full cost access.
func (tx BOMLinesTx) GetCosted(ctx context.Context, id uuid.UUID) (rampart.CostedBOMLine, error) {
	const op = "store.CostedBOMLine"
	if err := tx.costAccess(op); err != nil {
		return rampart.CostedBOMLine{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return rampart.CostedBOMLine{}, err
	}
	var l rampart.BOMLine
	var s sealedRow
	if err := tx.queryRow(ctx, sqlGetBOMLineLocked, tx.tc.OrganizationID, id).Scan(append(bomLineDest(&l), s.dest()...)...); err != nil {
		return rampart.CostedBOMLine{}, classify(op, err)
	}
	return tx.open(ctx, ring, l, s)
}

// Delete removes one line.
func (tx BOMLinesTx) Delete(ctx context.Context, id uuid.UUID) (rampart.BOMLine, error) {
	const op = "store.DeleteBOMLine"
	var before rampart.BOMLine
	if err := tx.queryRow(ctx, sqlDeleteBOMLine, tx.tc.OrganizationID, id).Scan(bomLineDest(&before)...); err != nil {
		return before, classify(op, err)
	}
	return before, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionBOMLineDeleted,
		TargetType: "bom_line", TargetID: before.ID.String(), Before: bomLineSnapshot(before, nil)}))
}

// sealedFields names the sealed fields a row holds.
func sealedFields(s sealedRow) []string {
	f := []string{}
	if s.unitCost != nil {
		f = append(f, "unit_cost")
	}
	if s.sourcing != nil {
		f = append(f, "sourcing")
	}
	if s.leadTim != nil {
		f = append(f, "lead_time_days")
	}
	return f
}

// bomLineSnapshot is a line in the audit trail: its public fields and the
// names of the sealed fields it holds, never their values (decision 0010:
// the trail is read, exported and kept for two years; cost stays in the
// one place that encrypts it).
func bomLineSnapshot(l rampart.BOMLine, sealed []string) []byte {
	m := map[string]any{
		"id": l.ID, "proposal_id": l.ProposalID, "position": l.Position, "item": l.Item,
		"category": l.Category, "quantity": l.Quantity.String(), "unit": l.Unit, "ai_generated": l.AIGenerated,
	}
	if sealed != nil {
		m["sealed_fields"] = sealed
	}
	return snapshot(m)
}
