package bom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const secretSupplier = "Stage Sound Ltd, quote Q-2291, ask for Priya"

func money(t *testing.T, amount, cur string) *rampart.Money {
	t.Helper()
	m, err := rampart.ParseMoney("unit_cost", amount, cur)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

func qty(t *testing.T, s string) rampart.Quantity {
	t.Helper()
	q, err := rampart.ParseQuantity("quantity", s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func days(n int) *int { return &n }

type fixture struct {
	*storetest.Fixture
	hallA, globexProp rampart.Proposal
	line              bom.Line
}

// setup: a HALL-A proposal of acme with one costed line (1,250.00 EUR ×
// 2.5, sourcing, 14 days), and a globex proposal.
func setup(t *testing.T) fixture {
	t.Helper()
	f := fixture{Fixture: storetest.New(t)}
	ctx := context.Background()
	var err error
	if f.hallA, err = proposal.Create(ctx, f.Store, f.Acme.As(rampart.RoleProducer), proposal.Input{Title: "Gala", VenueCode: "HALL-A"}); err != nil {
		t.Fatal(err)
	}
	if f.globexProp, err = proposal.Create(ctx, f.Store, f.Globex.As(rampart.RoleProducer), proposal.Input{Title: "Theirs"}); err != nil {
		t.Fatal(err)
	}
	f.line, err = bom.AddLine(ctx, f.Store, f.Acme.As(rampart.RoleProducer), f.hallA.ID, bom.LineInput{
		Item: "Line array speaker", Category: "audio", Quantity: qty(t, "2.5"), Unit: "day",
		Cost: rampart.LineCost{UnitCost: money(t, "1250", "EUR"), Sourcing: secretSupplier, LeadTimeDays: days(14)}})
	if err != nil {
		t.Fatal(err)
	}
	if f.line.Costed == nil || f.line.Costed.LineTotal == nil || f.line.Costed.LineTotal.Minor.Int64() != 312500 {
		t.Fatalf("producer's new line = %+v, want a costed line totalling 3125.00", f.line)
	}
	return f
}

func (f fixture) admin(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestRawColumnsHoldCiphertext reads the table as the superuser: the
// sealed columns are envelopes (version 1, key f1) and no plaintext cost,
// sourcing or lead time is anywhere in the row or in the audit trail.
func TestRawColumnsHoldCiphertext(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	conn := f.admin(t)
	var row []byte
	var cost, sourcing, lead []byte
	var kid, currency string
	if err := conn.QueryRow(ctx, `SELECT row_to_json(b)::text::bytea, unit_cost_enc, sourcing_enc, lead_time_enc, field_key_id, currency FROM bom_lines b WHERE id = $1`,
		f.line.Costed.ID).Scan(&row, &cost, &sourcing, &lead, &kid, &currency); err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string][]byte{"unit_cost_enc": cost, "sourcing_enc": sourcing, "lead_time_enc": lead} {
		if len(env) < 31 || env[0] != 1 || string(env[2:2+int(env[1])]) != "f1" {
			t.Errorf("%s = %x, want a version-1 envelope under f1", name, env)
		}
	}
	if kid != "f1" || currency != "EUR" {
		t.Errorf("field_key_id %q currency %q", kid, currency)
	}
	var trail []byte
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(coalesce(before::text,'') || coalesce(after::text,'') || coalesce(metadata::text,''), ' '), '')::bytea FROM audit_events`).Scan(&trail); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"125000", "1250.00", "Stage Sound", "Priya", "Q-2291", `"14"`, "lead_time_days\":14"} {
		if bytes.Contains(row, []byte(plain)) {
			t.Errorf("the raw row holds %q", plain)
		}
		if bytes.Contains(trail, []byte(plain)) {
			t.Errorf("the audit trail holds %q", plain)
		}
	}
	if !bytes.Contains(trail, []byte(`"sealed_fields":["unit_cost","sourcing","lead_time_days"]`)) {
		t.Errorf("the creation event does not name the sealed fields: %s", trail)
	}
}

// TestRolesWithoutCostAccessSeeNoCost: the bill a technical director,
// venue manager, stakeholder or viewer reads is a rampart.BOM whose JSON has
// no cost, sourcing or lead-time field at any depth; GetCosted refuses them.
// The roles with full cost access read the costs and the server's totals.
func TestRolesWithoutCostAccessSeeNoCost(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		c := f.Acme.As(role)
		b, err := bom.Get(ctx, f.Store, c, f.hallA.ID)
		if err != nil || len(b.Lines) != 1 || b.Lines[0].Item != "Line array speaker" {
			t.Errorf("%s reads %+v, %v", role, b, err)
			continue
		}
		js, _ := json.Marshal(b)
		for _, leak := range []string{"cost", "sourcing", "lead", "total", "1250.00", "3125.00", "EUR", "Stage Sound", "currency"} {
			if strings.Contains(strings.ToLower(string(js)), strings.ToLower(leak)) {
				t.Errorf("%s's bill contains %q: %s", role, leak, js)
			}
		}
		_, err = bom.GetCosted(ctx, f.Store, c, f.hallA.ID)
		storetest.Kind(t, string(role)+" reads costs", err, rampart.KindForbidden)
	}
	for _, role := range []rampart.Role{rampart.RoleAdmin, rampart.RoleExecutiveProducer, rampart.RoleProducer} {
		b, err := bom.GetCosted(ctx, f.Store, f.Acme.As(role), f.hallA.ID)
		if err != nil || len(b.Lines) != 1 {
			t.Fatalf("%s: %+v %v", role, b, err)
		}
		l := b.Lines[0]
		if l.Cost.UnitCost == nil || l.Cost.UnitCost.Amount() != "1250.00" || l.Cost.Sourcing != secretSupplier || *l.Cost.LeadTimeDays != 14 {
			t.Errorf("%s reads cost %+v", role, l.Cost)
		}
		js, _ := json.Marshal(b)
		if !strings.Contains(string(js), `"totals":[{"amount":"3125.00","currency":"EUR"}]`) || !b.TotalsComplete {
			t.Errorf("%s's totals: %s", role, js)
		}
	}
}

// TestWhoMayEdit: technical directors edit lines but not their sealed
// fields; venue managers only their venues; stakeholders and viewers not
// at all; another organization's proposal or line is not found. Every
// refusal writes nothing.
func TestWhoMayEdit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	count := func() int { return f.Count(t, `SELECT count(*) FROM bom_lines`) }
	lines, events := count(), f.Count(t, `SELECT count(*) FROM audit_events WHERE action LIKE 'bom.%'`)
	td, vm := f.Acme.As(rampart.RoleTechnicalDirector), f.Acme.As(rampart.RoleVenueManager)
	plain := bom.LineInput{Item: "Truss 3m", Category: "rigging", Quantity: qty(t, "8"), Unit: "piece"}
	withCost := plain
	withCost.Cost = rampart.LineCost{UnitCost: money(t, "12", "EUR")}
	hallB, err := proposal.Create(ctx, f.Store, f.Acme.As(rampart.RoleProducer), proposal.Input{Title: "Hall B", VenueCode: "HALL-B"})
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		err  error
		want rampart.Kind
	}{}
	try := func(name string, want rampart.Kind, fn func() error) {
		refusals = append(refusals, struct {
			name string
			err  error
			want rampart.Kind
		}{name, fn(), want})
	}
	try("technical director sets a cost", rampart.KindForbidden, func() error {
		_, err := bom.AddLine(ctx, f.Store, td, f.hallA.ID, withCost)
		return err
	})
	newCost := money(t, "1", "EUR")
	try("technical director changes a cost", rampart.KindForbidden, func() error {
		_, err := bom.UpdateLine(ctx, f.Store, td, f.line.Costed.ID, bom.Patch{UnitCost: newCost})
		return err
	})
	try("technical director clears a lead time", rampart.KindForbidden, func() error {
		_, err := bom.UpdateLine(ctx, f.Store, td, f.line.Costed.ID, bom.Patch{ClearLeadTime: true})
		return err
	})
	for _, role := range []rampart.Role{rampart.RoleStakeholder, rampart.RoleViewer} {
		try(string(role)+" adds a line", rampart.KindForbidden, func() error {
			_, err := bom.AddLine(ctx, f.Store, f.Acme.As(role), f.hallA.ID, plain)
			return err
		})
		try(string(role)+" deletes a line", rampart.KindForbidden, func() error {
			return bom.DeleteLine(ctx, f.Store, f.Acme.As(role), f.line.Costed.ID)
		})
	}
	try("venue manager edits another venue's bill", rampart.KindNotFound, func() error {
		_, err := bom.AddLine(ctx, f.Store, vm, hallB.ID, plain)
		return err
	})
	try("another organization adds to acme's bill", rampart.KindNotFound, func() error {
		_, err := bom.AddLine(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), f.hallA.ID, plain)
		return err
	})
	try("another organization reads acme's bill", rampart.KindNotFound, func() error {
		_, err := bom.GetCosted(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), f.hallA.ID)
		return err
	})
	item := "pwned"
	try("another organization changes acme's line", rampart.KindNotFound, func() error {
		_, err := bom.UpdateLine(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), f.line.Costed.ID, bom.Patch{Item: &item})
		return err
	})
	try("another organization deletes acme's line", rampart.KindNotFound, func() error {
		return bom.DeleteLine(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), f.line.Costed.ID)
	})
	try("an unknown proposal", rampart.KindNotFound, func() error {
		_, err := bom.AddLine(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), uuid.New(), plain)
		return err
	})
	bad := map[string]bom.LineInput{
		"zero quantity":       {Item: "x", Category: "audio", Quantity: 0, Unit: "day"},
		"unknown category":    {Item: "x", Category: "weapons", Quantity: qty(t, "1"), Unit: "day"},
		"blank item":          {Item: "  ", Category: "audio", Quantity: qty(t, "1"), Unit: "day"},
		"control in item":     {Item: "a\x1b[2Jb", Category: "audio", Quantity: qty(t, "1"), Unit: "day"},
		"negative lead time":  {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Cost: rampart.LineCost{LeadTimeDays: days(-1)}},
		"absurd lead time":    {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Cost: rampart.LineCost{LeadTimeDays: days(100000)}},
		"bidi in sourcing":    {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Cost: rampart.LineCost{Sourcing: "a\u202eb"}},
		"negative unit cost":  {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Cost: rampart.LineCost{UnitCost: &rampart.Money{Minor: -1, Currency: "EUR"}}},
		"unknown currency":    {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Cost: rampart.LineCost{UnitCost: &rampart.Money{Minor: 1, Currency: "XXX"}}},
		"absurd position":     {Item: "x", Category: "audio", Quantity: qty(t, "1"), Unit: "day", Position: days(100000)},
		"quantity over limit": {Item: "x", Category: "audio", Quantity: rampart.MaxQuantity + 1, Unit: "day"},
	}
	for name, in := range bad {
		try(name, rampart.KindInvalid, func() error {
			_, err := bom.AddLine(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), f.hallA.ID, in)
			return err
		})
	}
	for _, r := range refusals {
		storetest.Kind(t, r.name, r.err, r.want)
	}
	if n := count(); n != lines {
		t.Errorf("refused writes left %d lines, want %d", n, lines)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action LIKE 'bom.%'`); n != events {
		t.Errorf("refused writes left %d bom events, want %d", n, events)
	}
	// What they may do: a technical director adds a line without cost and
	// changes quantities; a venue manager edits their venue's bill.
	l, err := bom.AddLine(ctx, f.Store, td, f.hallA.ID, plain)
	if err != nil || l.Public == nil || l.Costed != nil {
		t.Fatalf("technical director adds a line: %+v %v", l, err)
	}
	q := qty(t, "3")
	if _, err := bom.UpdateLine(ctx, f.Store, td, f.line.Costed.ID, bom.Patch{Quantity: &q}); err != nil {
		t.Fatalf("technical director changes a quantity: %v", err)
	}
	if _, err := bom.AddLine(ctx, f.Store, vm, f.hallA.ID, plain); err != nil {
		t.Fatalf("venue manager adds to their venue's bill: %v", err)
	}
	if err := bom.DeleteLine(ctx, f.Store, vm, l.Public.ID); err != nil {
		t.Fatalf("venue manager deletes from their venue's bill: %v", err)
	}
	// The quantity change kept the sealed values (and their key) as they were.
	b, err := bom.GetCosted(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), f.hallA.ID)
	if err != nil || b.Totals[0].Minor.Int64() != 375000 {
		t.Fatalf("after the quantity change: %+v %v", b, err)
	}
}

// TestMovedCiphertextFailsToOpen: an envelope copied to another row, or to
// another column of the same row, does not open there. The read reports
// the failure for that line (never an empty field or a crash), leaves it
// out of the totals, says so, and audits it.
func TestMovedCiphertextFailsToOpen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	admin := f.Acme.As(rampart.RoleAdmin)
	other, err := bom.AddLine(ctx, f.Store, admin, f.hallA.ID, bom.LineInput{Item: "Spare", Category: "other", Quantity: qty(t, "1"), Unit: "piece",
		Cost: rampart.LineCost{UnitCost: money(t, "1", "EUR")}})
	if err != nil {
		t.Fatal(err)
	}
	conn := f.admin(t)
	// Another row: the expensive line's cost pasted onto the spare.
	if _, err := conn.Exec(ctx, `UPDATE bom_lines SET unit_cost_enc = (SELECT unit_cost_enc FROM bom_lines WHERE id = $1) WHERE id = $2`,
		f.line.Costed.ID, other.Costed.ID); err != nil {
		t.Fatal(err)
	}
	b, err := bom.GetCosted(ctx, f.Store, admin, f.hallA.ID)
	if err != nil {
		t.Fatal(err)
	}
	var moved rampart.CostedBOMLine
	for _, l := range b.Lines {
		if l.ID == other.Costed.ID {
			moved = l
		}
	}
	if moved.CostError == "" || moved.Cost.UnitCost != nil || b.TotalsComplete || b.Totals[0].Minor.Int64() != 312500 {
		t.Fatalf("a cost moved to another row: line %+v, totals %+v complete %v", moved, b.Totals, b.TotalsComplete)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'fieldcrypt.value_unreadable' AND target_id = $1`, other.Costed.ID.String()); n != 1 {
		t.Errorf("%d unreadable-value events, want 1", n)
	}
	// Another column of the same row: sourcing's envelope in lead time's place.
	if _, err := conn.Exec(ctx, `UPDATE bom_lines SET lead_time_enc = sourcing_enc WHERE id = $1`, f.line.Costed.ID); err != nil {
		t.Fatal(err)
	}
	b, err = bom.GetCosted(ctx, f.Store, admin, f.hallA.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range b.Lines {
		if l.ID == f.line.Costed.ID && (l.CostError == "" || !strings.Contains(l.CostError, "lead time")) {
			t.Errorf("a value moved to another column: %+v", l)
		}
	}
	// A patch that leaves an unreadable value is refused; one that replaces it works.
	item := "renamed"
	_, err = bom.UpdateLine(ctx, f.Store, admin, f.line.Costed.ID, bom.Patch{Item: &item, UnitCost: money(t, "2", "EUR")})
	storetest.Kind(t, "a patch keeping an unreadable value", err, rampart.KindConflict)
	if _, err := bom.UpdateLine(ctx, f.Store, admin, f.line.Costed.ID, bom.Patch{LeadTimeDays: days(3)}); err != nil {
		t.Fatalf("replacing the unreadable value: %v", err)
	}
}

// TestVenueMoveCarriesTheBill: moving a proposal to another venue moves
// its lines, so the old venue's manager no longer sees them.
func TestVenueMoveCarriesTheBill(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	vm := f.Acme.As(rampart.RoleVenueManager)
	if b, err := bom.Get(ctx, f.Store, vm, f.hallA.ID); err != nil || len(b.Lines) != 1 {
		t.Fatalf("before the move: %+v %v", b, err)
	}
	hallB := "HALL-B"
	if _, err := proposal.Update(ctx, f.Store, f.Acme.As(rampart.RoleProducer), f.hallA.ID, proposal.Patch{VenueCode: &hallB}); err != nil {
		t.Fatal(err)
	}
	_, err := bom.Get(ctx, f.Store, vm, f.hallA.ID)
	storetest.Kind(t, "the old venue's manager reads the moved bill", err, rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*) FROM bom_lines WHERE venue_code = 'HALL-B'`); n != 1 {
		t.Errorf("%d lines moved to HALL-B, want 1", n)
	}
}

// TestStoreRefusesSealedFieldsWithoutCostAccess: the store itself refuses
// to open or write the sealed fields for a role without full cost access,
// whichever use case calls it.
func TestStoreRefusesSealedFieldsWithoutCostAccess(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	td := f.Acme.As(rampart.RoleTechnicalDirector)
	err := f.Store.InTenant(ctx, td, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := tx.BOMLines().ListCosted(ctx, f.hallA.ID)
		return err
	})
	storetest.Kind(t, "ListCosted for a technical director", err, rampart.KindForbidden)
	err = f.Store.InTenant(ctx, td, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := tx.BOMLines().Create(ctx, f.hallA.ID, rampart.BOMLine{Item: "x", Category: "audio", Quantity: 1000, Unit: "day"}, nil,
			rampart.LineCost{Sourcing: "cheap"})
		return err
	})
	storetest.Kind(t, "Create with sealed fields for a technical director", err, rampart.KindForbidden)
}
