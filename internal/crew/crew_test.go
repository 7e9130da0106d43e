package crew_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const keyF2 = "f2:YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODk="

func rate(minor int64) *rampart.Money { return &rampart.Money{Minor: minor, Currency: "EUR"} }

func addCrew(t *testing.T, f *storetest.Fixture, c rampart.Claims, name string, r *rampart.Money, skills ...string) rampart.CrewMember {
	t.Helper()
	m, err := crew.Create(context.Background(), f.Store, c, rampart.CrewMember{Name: name, Skills: skills}, r)
	if err != nil {
		t.Fatal(err)
	}
	if m.Costed != nil {
		return m.Costed.CrewMember
	}
	return *m.Public
}

// TestDayRateIsSealedAndRotated: the day rate is an envelope at rest bound
// to its row (no plaintext in the row or the audit trail), `keys status`
// counts it, and rotation re-seals it under the newest key, after which
// it still opens.
func TestDayRateIsSealedAndRotated(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	m := addCrew(t, f, producer, "Sam", rate(98765), "rigging")
	conn, err := pgx.Connect(ctx, f.DB.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var row, env []byte
	var kid string
	if err := conn.QueryRow(ctx, `SELECT row_to_json(c)::text::bytea, day_rate_enc, field_key_id FROM crew_members c WHERE id = $1`, m.ID).Scan(&row, &env, &kid); err != nil {
		t.Fatal(err)
	}
	if env[0] != 1 || kid != "f1" || bytes.Contains(row, []byte("98765")) || bytes.Contains(row, []byte("987.65")) {
		t.Fatalf("day rate at rest: kid %q, row %s", kid, row)
	}
	var trail string
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(coalesce(before::text, '') || coalesce(after::text, '') || coalesce(metadata::text, ''), '|'), '') FROM audit_events`).Scan(&trail); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(trail, "98765") || strings.Contains(trail, "987.65") || !strings.Contains(trail, "day_rate") {
		t.Fatalf("audit trail: %s", trail)
	}
	// Copied to another row, the envelope does not open (bound to its row).
	other := addCrew(t, f, producer, "Alex", rate(100))
	if _, err := conn.Exec(ctx, `UPDATE crew_members SET day_rate_enc = $1 WHERE id = $2`, env, other.ID); err != nil {
		t.Fatal(err)
	}
	got, err := crew.Get(ctx, f.Store, producer, other.ID)
	if err != nil || got.Costed == nil || got.Costed.DayRate != nil || got.Costed.DayRateError == "" {
		t.Fatalf("a moved envelope: %+v %v", got, err)
	}
	if _, err := conn.Exec(ctx, `UPDATE crew_members SET day_rate_enc = NULL, currency = NULL, field_key_id = NULL WHERE id = $1`, other.ID); err != nil {
		t.Fatal(err)
	}

	use, err := f.Store.FieldKeys().Status(ctx)
	if err != nil || len(use) != 1 || use[0].KeyID != "f1" || use[0].Values != 1 {
		t.Fatalf("keys status before rotation: %+v %v", use, err)
	}
	ring, err := fieldcrypt.ParseRing(keyF2 + "," + storetest.FieldKeySpec)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	st, err := store.Open(ctx, f.DB.AppURL, store.Options{MaxConns: 2, ServiceURL: f.DB.ServiceURL, Audit: k, Actor: "test", FieldKeys: ring})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rot, err := st.FieldKeys().StartRotation(ctx, ring)
	if err != nil || rot.Remaining != 1 {
		t.Fatalf("start: %+v %v", rot, err)
	}
	for {
		_, failed, done, err := rot.Next(ctx, 100)
		if err != nil || failed != 0 {
			t.Fatalf("rotate: %v, %d failed", err, failed)
		}
		if done {
			break
		}
	}
	if err := rot.Finish(ctx); err != nil || rot.Resealed != 1 {
		t.Fatalf("finish: %v, %d re-sealed", err, rot.Resealed)
	}
	use, err = st.FieldKeys().Status(ctx)
	if err != nil || len(use) != 1 || use[0].KeyID != "f2" || use[0].Values != 1 {
		t.Fatalf("keys status after rotation: %+v %v", use, err)
	}
	got, err = crew.Get(ctx, st, producer, m.ID)
	if err != nil || got.Costed == nil || got.Costed.DayRate == nil || got.Costed.DayRate.Minor != 98765 {
		t.Fatalf("after rotation: %+v %v", got, err)
	}
}

// TestCrewAccess: roles without full cost access get the type without a
// day rate and may not set one; only the editing roles add crew; another
// organization's member is not found.
func TestCrewAccess(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	m := addCrew(t, f, f.Acme.As(rampart.RoleProducer), "Sam", rate(42000), "rigging")
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleStakeholder, rampart.RoleViewer} {
		got, err := crew.Get(ctx, f.Store, f.Acme.As(role), m.ID)
		if err != nil || got.Public == nil || got.Costed != nil {
			t.Errorf("%s reads %+v %v, want the public type", role, got, err)
		}
		_, err = crew.Create(ctx, f.Store, f.Acme.As(role), rampart.CrewMember{Name: "X"}, nil)
		storetest.Kind(t, string(role)+" adds crew", err, rampart.KindForbidden)
	}
	_, err := crew.Update(ctx, f.Store, f.Acme.As(rampart.RoleTechnicalDirector), m.ID, crew.Patch{DayRate: rate(1)})
	storetest.Kind(t, "td sets a rate", err, rampart.KindForbidden)
	_, err = crew.Get(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), m.ID)
	storetest.Kind(t, "globex reads acme's member", err, rampart.KindNotFound)
	err = crew.Delete(ctx, f.Store, f.Globex.As(rampart.RoleAdmin), m.ID)
	storetest.Kind(t, "globex deletes acme's member", err, rampart.KindNotFound)
	if n := f.Count(t, `SELECT count(*)::int FROM crew_members`); n != 1 {
		t.Fatalf("%d crew members, want 1", n)
	}
	_, err = crew.Create(ctx, f.Store, f.Acme.As(rampart.RoleProducer), rampart.CrewMember{Name: "Y",
		Availability: []rampart.DateRange{{From: "2027-02-30", To: "2027-03-01"}}}, nil)
	storetest.Kind(t, "an impossible date", err, rampart.KindInvalid)
}

// TestScoreWithoutCostRevealsNothing: without rates the day-rate feature
// is absent, and two members who differ only by day rate score the same.
func TestScoreWithoutCostRevealsNothing(t *testing.T) {
	t.Parallel()
	a := rampart.CrewMember{Name: "A", Skills: []string{"rigging"}}
	b := rampart.CrewMember{Name: "B", Skills: []string{"rigging"}}
	req := rampart.CrewMatchRequest{Skills: []string{"rigging"}}
	w := map[string]float64{"skills": 0.4, "certifications": 0.3, "availability": 0.2, "day_rate": 0.1}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	_, sigs, scores := crew.Score([]rampart.CrewMember{a, b}, nil, nil, req, now, w)
	if scores[0] != scores[1] {
		t.Errorf("public scores differ: %v", scores)
	}
	for _, s := range sigs {
		for _, sg := range s {
			if sg.Name == "day_rate" {
				t.Fatal("a day_rate signal without cost access")
			}
		}
	}
	order, sigs, scores := crew.Score([]rampart.CrewMember{a, b}, []*rampart.Money{rate(50000), rate(30000)}, nil, req, now, w)
	if members := []string{a.Name, b.Name}; members[order[0]] != "B" || scores[0] <= scores[1] {
		t.Errorf("with rates the cheaper member should lead: order %v scores %v", order, scores)
	}
	if sigs[0][len(sigs[0])-1].Name != "day_rate" {
		t.Errorf("costed signals %+v", sigs[0])
	}
}

// TestApplyAssignment: the same check as the manual route in the caller's
// transaction; a stakeholder is refused and nothing is written; claims
// other than the transaction's are refused; an assignment from a match
// teaches the crew_matcher for this organization only.
func TestApplyAssignment(t *testing.T) {
	t.Parallel()
	f := storetest.New(t)
	ctx := context.Background()
	producer := f.Acme.As(rampart.RoleProducer)
	p, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Gala", VenueCode: "HALL-A"})
	if err != nil {
		t.Fatal(err)
	}
	m := addCrew(t, f, producer, "Sam", rate(42000), "rigging")
	a := rampart.CrewAssignment{ProposalID: p.ID, CrewMemberID: m.ID, Dates: rampart.DateRange{From: "2027-03-14", To: "2027-03-16"},
		Request: &rampart.CrewMatchRequest{Skills: []string{"Rigging"}}}
	stakeholder := f.Acme.As(rampart.RoleStakeholder)
	// Called directly (not through the agent router), the matcher makes
	// the agent check itself: a stakeholder runs no agent; the venue
	// manager of HALL-A does, and gets the type without day rates.
	_, err = crew.MatchCrew(ctx, f.Store, stakeholder, p.ID, rampart.CrewMatchRequest{}, time.Now())
	storetest.Kind(t, "stakeholder matches", err, rampart.KindForbidden)
	res, err := crew.MatchCrew(ctx, f.Store, f.Acme.As(rampart.RoleVenueManager), p.ID, rampart.CrewMatchRequest{Skills: []string{"rigging"}}, time.Now())
	if err != nil || res.Public == nil || res.Costed != nil || len(res.Public.Candidates) != 1 {
		t.Fatalf("venue manager matches: %+v %v", res, err)
	}
	err = f.Store.InTenant(ctx, stakeholder, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := crew.ApplyAssignment(ctx, tx, stakeholder, a)
		return err
	})
	storetest.Kind(t, "stakeholder applies", err, rampart.KindForbidden)
	err = f.Store.InTenant(ctx, stakeholder, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := crew.ApplyAssignment(ctx, tx, producer, a)
		return err
	})
	storetest.Kind(t, "producer's claims in a stakeholder's transaction", err, rampart.KindForbidden)
	if n := f.Count(t, `SELECT count(*)::int FROM crew_assignments`); n != 0 {
		t.Fatalf("%d assignments after refusals", n)
	}
	err = f.Store.InTenant(ctx, producer, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := crew.ApplyAssignment(ctx, tx, producer, a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Booked here, Sam is not available for another proposal on those
	// days; for this proposal the assignment is no conflict.
	p2, err := proposal.Create(ctx, f.Store, producer, proposal.Input{Title: "Other gala", VenueCode: "HALL-B"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crew.Update(ctx, f.Store, producer, m.ID, crew.Patch{Availability: &[]rampart.DateRange{{From: "2027-03-01", To: "2027-03-31"}}}); err != nil {
		t.Fatal(err)
	}
	availability := func(pid uuid.UUID) rampart.Signal {
		t.Helper()
		res, err := crew.MatchCrew(ctx, f.Store, producer, pid, rampart.CrewMatchRequest{Dates: &a.Dates}, time.Now())
		if err != nil || res.Costed == nil || len(res.Costed.Candidates) != 1 {
			t.Fatalf("match: %+v %v", res, err)
		}
		return res.Costed.Candidates[0].Signals[2]
	}
	if s := availability(p2.ID); s.Name != "availability" || s.Normalized != 0 || s.Note == "" {
		t.Errorf("another proposal on the booked days: %+v", s)
	}
	if s := availability(p.ID); s.Normalized != 1 || s.Note != "" {
		t.Errorf("the proposal Sam is booked on: %+v", s)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM learned_weights WHERE organization_id = $1 AND ranker = 'crew_matcher'`, f.Acme.Organization.ID); n != 4 {
		t.Errorf("acme learned %d crew features, want 4", n)
	}
	if n := f.Count(t, `SELECT count(*)::int FROM learned_weights WHERE organization_id = $1`, f.Globex.Organization.ID); n != 0 {
		t.Errorf("globex learned %d features from acme's assignment", n)
	}
	// Another organization's proposal is not found.
	gp := f.Globex.As(rampart.RoleProducer)
	err = f.Store.InTenant(ctx, gp, func(ctx context.Context, tx *store.TenantTx) error {
		_, err := crew.ApplyAssignment(ctx, tx, gp, a)
		return err
	})
	storetest.Kind(t, "globex applies to acme's proposal", err, rampart.KindNotFound)
}

// BenchmarkScore matches 1,000 crew members (the list limit) with rates
// against three skills, two certifications and a five-day range.
func BenchmarkScore(b *testing.B) {
	ms := make([]rampart.CrewMember, 1000)
	rs := make([]*rampart.Money, len(ms))
	for i := range ms {
		ms[i] = rampart.CrewMember{Name: "M", Skills: []string{"audio", "rigging", "video"}[:1+i%3],
			Certifications: []rampart.Certification{{Name: "ipaf", ExpiresOn: "2028-01-01"}},
			Availability:   []rampart.DateRange{{From: "2027-03-01", To: "2027-03-12"}, {From: "2027-03-14", To: "2027-03-31"}}}
		rs[i] = rate(int64(30000 + i))
	}
	req := rampart.CrewMatchRequest{Skills: []string{"audio", "rigging", "video"}, Certifications: []string{"ipaf", "first aid"},
		Dates: &rampart.DateRange{From: "2027-03-10", To: "2027-03-14"}}
	w := map[string]float64{"skills": 0.4, "certifications": 0.3, "availability": 0.2, "day_rate": 0.1}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		crew.Score(ms, rs, nil, req, now, w)
	}
}
