package finance_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func eur(minor int64) rampart.Money { return rampart.Money{Minor: minor, Currency: "EUR"} }

type fixture struct {
	*storetest.Fixture
	p rampart.Proposal
}

func setup(t *testing.T) fixture {
	t.Helper()
	f := fixture{Fixture: storetest.New(t)}
	var err error
	if f.p, err = proposal.Create(context.Background(), f.Store, f.Acme.As(rampart.RoleProducer), proposal.Input{Title: "Gala", VenueCode: "HALL-A"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// events returns the finance events in order with their reason, before and after.
type event struct {
	action, reason string
	before, after  map[string]any
}

func (f fixture) events(t *testing.T, target string) []event {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT action, coalesce(reason, ''), coalesce(before::text, 'null'), coalesce(after::text, 'null')
FROM audit_events WHERE target_id = $1 ORDER BY occurred_at, event_key`, target)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for rows.Next() {
		var e event
		var before, after string
		if err := rows.Scan(&e.action, &e.reason, &before, &after); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(before), &e.before)
		_ = json.Unmarshal([]byte(after), &e.after)
		out = append(out, e)
	}
	return out
}

// TestSOWSignOff: a producer drafts a statement of work; only an admin or
// executive producer signs it; a producer's unsign attempt is refused with
// 403 and recorded; unsign needs a reason and restores the draft, with
// before and after in the audit event; invalid transitions are conflicts
// that write nothing.
func TestSOWSignOff(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer, ep, admin := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleExecutiveProducer), f.Acme.As(rampart.RoleAdmin)
	s, err := finance.CreateSOW(ctx, f.Store, producer, f.p.ID, finance.SOWInput{Title: "Gala SOW", Terms: "50% on signature", Amount: eur(4_500_000)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = finance.CreateSOW(ctx, f.Store, producer, f.p.ID, finance.SOWInput{Title: "Second", Amount: eur(1)})
	storetest.Kind(t, "a second statement for the proposal", err, rampart.KindConflict)

	_, err = finance.Sign(ctx, f.Store, producer, s.ID)
	storetest.Kind(t, "a producer signs", err, rampart.KindForbidden)
	signed, err := finance.Sign(ctx, f.Store, ep, s.ID)
	if err != nil || signed.Status != rampart.SOWSigned || signed.SignedBy == nil || *signed.SignedBy != ep.UserID {
		t.Fatalf("executive producer signs: %+v %v", signed, err)
	}
	_, err = finance.Sign(ctx, f.Store, admin, s.ID)
	storetest.Kind(t, "signing a signed statement", err, rampart.KindConflict)
	title := "Changed after signing"
	_, err = finance.UpdateSOW(ctx, f.Store, producer, s.ID, &title, nil, nil)
	storetest.Kind(t, "editing a signed statement", err, rampart.KindConflict)

	_, err = finance.Unsign(ctx, f.Store, producer, s.ID, "client asked")
	storetest.Kind(t, "a producer unsigns", err, rampart.KindForbidden)
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'finance.denied' AND target_id = $1 AND metadata->>'attempted' = 'sow.unsign'
AND actor_id = $2`, s.ID.String(), producer.UserID.String()); n != 1 {
		t.Errorf("the refused unsign wrote %d denial events, want 1", n)
	}
	for _, reason := range []string{"", "   ", strings.Repeat("x", 2001), "a\x00b"} {
		_, err = finance.Unsign(ctx, f.Store, admin, s.ID, reason)
		storetest.Kind(t, "unsign with reason "+strings.TrimSpace(reason[:min(len(reason), 8)]), err, rampart.KindInvalid)
	}
	if n := f.Count(t, `SELECT count(*) FROM sows WHERE id = $1 AND status = 'signed'`, s.ID); n != 1 {
		t.Fatal("a refused unsign changed the statement")
	}
	back, err := finance.Unsign(ctx, f.Store, admin, s.ID, "Client changed the date; re-sign after the new quote")
	if err != nil || back.Status != rampart.SOWDraft || back.SignedBy != nil || back.Amount != s.Amount || back.Title != s.Title {
		t.Fatalf("unsign: %+v %v", back, err)
	}
	var unsign *event
	for _, e := range f.events(t, s.ID.String()) {
		if e.action == "sow.unsigned" {
			unsign = &e
		}
	}
	if unsign == nil || unsign.reason != "Client changed the date; re-sign after the new quote" ||
		unsign.before["status"] != "signed" || unsign.after["status"] != "draft" {
		t.Fatalf("unsign event: %+v", unsign)
	}
	_, err = finance.Unsign(ctx, f.Store, admin, s.ID, "again")
	storetest.Kind(t, "unsigning a draft", err, rampart.KindConflict)
}

// TestBudgetActualize: planned → actualized by an admin or executive
// producer only; un-actualize needs a reason and restores the plan.
func TestBudgetActualize(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer, ep := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleExecutiveProducer)
	l, err := finance.AddBudgetLine(ctx, f.Store, producer, f.p.ID, finance.BudgetInput{Category: "audio", Description: "PA hire", Planned: eur(250_000)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = finance.Actualize(ctx, f.Store, producer, l.ID, eur(260_000))
	storetest.Kind(t, "a producer actualizes", err, rampart.KindForbidden)
	_, err = finance.Actualize(ctx, f.Store, ep, l.ID, rampart.Money{Minor: 1, Currency: "USD"})
	storetest.Kind(t, "actual in another currency", err, rampart.KindInvalid)
	a, err := finance.Actualize(ctx, f.Store, ep, l.ID, eur(260_000))
	if err != nil || a.Status != rampart.BudgetActualized || a.Actual == nil || a.Actual.Minor != 260_000 {
		t.Fatalf("actualize: %+v %v", a, err)
	}
	_, err = finance.Unactualize(ctx, f.Store, ep, l.ID, "")
	storetest.Kind(t, "un-actualize without a reason", err, rampart.KindInvalid)
	_, err = finance.Unactualize(ctx, f.Store, producer, l.ID, "wrong invoice")
	storetest.Kind(t, "a producer un-actualizes", err, rampart.KindForbidden)
	b, err := finance.Unactualize(ctx, f.Store, ep, l.ID, "Invoice was for the other show")
	if err != nil || b.Status != rampart.BudgetPlanned || b.Actual != nil || b.Planned.Minor != 250_000 {
		t.Fatalf("un-actualize: %+v %v", b, err)
	}
	_, err = finance.Unactualize(ctx, f.Store, ep, l.ID, "again")
	storetest.Kind(t, "un-actualizing a planned line", err, rampart.KindConflict)
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'budget.line.unactualized' AND reason = 'Invoice was for the other show'
AND before->>'status' = 'actualized' AND after->>'status' = 'planned'`); n != 1 {
		t.Errorf("%d un-actualize events with reason, before and after; want 1", n)
	}
}

// TestChangeOrders: a change to a signed statement is a request; an admin
// or executive producer approves it (the amount moves, both audited) or
// rejects it; a decided order cannot be decided again.
func TestChangeOrders(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer, admin := f.Acme.As(rampart.RoleProducer), f.Acme.As(rampart.RoleAdmin)
	s, err := finance.CreateSOW(ctx, f.Store, producer, f.p.ID, finance.SOWInput{Title: "SOW", Amount: eur(100_000)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = finance.RequestChange(ctx, f.Store, producer, s.ID, "Extra day", eur(20_000))
	storetest.Kind(t, "a change order on a draft", err, rampart.KindConflict)
	if _, err := finance.Sign(ctx, f.Store, admin, s.ID); err != nil {
		t.Fatal(err)
	}
	co, err := finance.RequestChange(ctx, f.Store, producer, s.ID, "Extra day of rigging", eur(20_000))
	if err != nil || co.Status != rampart.ChangeRequested {
		t.Fatalf("request: %+v %v", co, err)
	}
	_, err = finance.Decide(ctx, f.Store, producer, co.ID, true, "fine")
	storetest.Kind(t, "a producer approves", err, rampart.KindForbidden)
	ok, err := finance.Decide(ctx, f.Store, admin, co.ID, true, "Agreed with the client")
	if err != nil || ok.Status != rampart.ChangeApproved {
		t.Fatalf("approve: %+v %v", ok, err)
	}
	after, err := finance.PricedSOW(ctx, f.Store, admin, f.p.ID)
	if err != nil || after.Amount.Minor != 120_000 || after.Status != rampart.SOWSigned {
		t.Fatalf("after approval: %+v %v", after, err)
	}
	_, err = finance.Decide(ctx, f.Store, admin, co.ID, false, "changed my mind")
	storetest.Kind(t, "deciding twice", err, rampart.KindConflict)
	cut, err := finance.RequestChange(ctx, f.Store, producer, s.ID, "Refund everything and more", eur(-500_000))
	if err != nil {
		t.Fatal(err)
	}
	_, err = finance.Decide(ctx, f.Store, admin, cut.ID, true, "oops")
	storetest.Kind(t, "approving a change below zero", err, rampart.KindConflict)
	if _, err := finance.Decide(ctx, f.Store, admin, cut.ID, false, "Not agreed"); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'change_order.approved' AND reason = 'Agreed with the client'
AND before->'sow'->'amount'->>'amount' = '1000.00' AND after->'sow'->'amount'->>'amount' = '1200.00' AND after->'change_order'->>'status' = 'approved'`); n != 1 {
		t.Errorf("%d approval events with the statement before and after, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'change_order.rejected'`); n != 1 {
		t.Errorf("%d rejection events, want 1", n)
	}
}

// TestFinanceVisibility: roles without full cost access read no amounts
// (a type without them) and write nothing; another organization's ids are
// not found; a venue manager sees only their venues' finance.
func TestFinanceVisibility(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	s, err := finance.CreateSOW(ctx, f.Store, producer, f.p.ID, finance.SOWInput{Title: "SOW", Terms: "Net 30", Amount: eur(777_777)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := finance.AddBudgetLine(ctx, f.Store, producer, f.p.ID, finance.BudgetInput{Category: "video", Description: "LED wall", Planned: eur(333_333)})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleVenueManager, rampart.RoleStakeholder, rampart.RoleViewer} {
		c := f.Acme.As(role)
		sow, err := finance.SOW(ctx, f.Store, c, f.p.ID)
		budget, berr := finance.Budget(ctx, f.Store, c, f.p.ID)
		if err != nil || berr != nil || sow.ID != s.ID || len(budget) != 1 {
			t.Fatalf("%s reads: %v %v", role, err, berr)
		}
		js, _ := json.Marshal(map[string]any{"sow": sow, "budget": budget})
		for _, leak := range []string{"7777.77", "3333.33", "amount", "planned\":{", "EUR"} {
			if strings.Contains(string(js), leak) {
				t.Errorf("%s reads %q: %s", role, leak, js)
			}
		}
		_, err = finance.PricedSOW(ctx, f.Store, c, f.p.ID)
		storetest.Kind(t, string(role)+" reads the amount", err, rampart.KindForbidden)
		_, err = finance.AddBudgetLine(ctx, f.Store, c, f.p.ID, finance.BudgetInput{Category: "video", Description: "x", Planned: eur(1)})
		storetest.Kind(t, string(role)+" adds a budget line", err, rampart.KindForbidden)
	}
	globex := f.Globex.As(rampart.RoleAdmin)
	_, err = finance.PricedSOW(ctx, f.Store, globex, f.p.ID)
	storetest.Kind(t, "another organization reads the statement", err, rampart.KindNotFound)
	_, err = finance.Sign(ctx, f.Store, globex, s.ID)
	storetest.Kind(t, "another organization signs", err, rampart.KindNotFound)
	_, err = finance.Actualize(ctx, f.Store, globex, l.ID, eur(1))
	storetest.Kind(t, "another organization actualizes", err, rampart.KindNotFound)
	_, err = finance.Sign(ctx, f.Store, f.Acme.As(rampart.RoleAdmin), uuid.New())
	storetest.Kind(t, "an unknown statement", err, rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'finance.denied'`); n != 0 {
		t.Errorf("%d denial events for objects the caller cannot see; want none (they are not found)", n)
	}
	// The venue moves, and its finance with it.
	hallB := "HALL-B"
	if _, err := proposal.Update(ctx, f.Store, producer, f.p.ID, proposal.Patch{VenueCode: &hallB}); err != nil {
		t.Fatal(err)
	}
	_, err = finance.SOW(ctx, f.Store, f.Acme.As(rampart.RoleVenueManager), f.p.ID)
	storetest.Kind(t, "the old venue's manager reads the moved statement", err, rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*) FROM sows WHERE venue_code = 'HALL-B'`) + f.Count(t, `SELECT count(*) FROM budget_lines WHERE venue_code = 'HALL-B'`); n != 2 {
		t.Errorf("%d finance rows moved, want 2", n)
	}
}
