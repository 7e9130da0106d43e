package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/staffing.sql.
var (
	sqlListCrew             = query("ListCrew")
	sqlListCrewSealed       = query("ListCrewSealed")
	sqlGetCrew              = query("GetCrew")
	sqlGetCrewLocked        = query("GetCrewLocked")
	sqlCreateCrew           = query("CreateCrew")
	sqlUpdateCrew           = query("UpdateCrew")
	sqlUpdateCrewSealed     = query("UpdateCrewSealed")
	sqlDeleteCrew           = query("DeleteCrew")
	sqlCreateCrewAssignment = query("CreateCrewAssignment")
	sqlListCrewAssignments  = query("ListCrewAssignments")
	sqlGetCrewAssignment    = query("GetCrewAssignment")
	sqlDeleteCrewAssignment = query("DeleteCrewAssignment")
	sqlBusyCrew             = query("BusyCrew")
)

// The sealed column of crew_members.
const (
	tableCrewMembers = "crew_members"
	colDayRate       = "day_rate_enc"
)

// CrewTx is the organization's crew members and their assignments to
// proposals. Every member reads the public fields; the day rate is sealed
// (internal/fieldcrypt) and opened, or written, only for roles with full
// cost access, whatever the caller (decision 0010, 0016).
type CrewTx struct{ tenant }

// Crew returns the crew methods.
func (tx *TenantTx) Crew() CrewTx { return CrewTx{tx.tenant} }

type crewSealed struct {
	currency *string
	dayRate  []byte
	keyID    *string
}

func (s *crewSealed) dest() []any { return []any{&s.currency, &s.dayRate, &s.keyID} }

func crewDest(m *rampart.CrewMember, certs, avail *[]byte) []any {
	return []any{&m.OrganizationID, &m.ID, &m.Name, &m.Skills, certs, avail, &m.CreatedBy, &m.CreatedAt, &m.UpdatedAt}
}

// scanCrew reads the public columns (and, when s is not nil, the sealed ones).
func scanCrew(r pgx.Row, s *crewSealed) (rampart.CrewMember, error) {
	var m rampart.CrewMember
	var certs, avail []byte
	dest := crewDest(&m, &certs, &avail)
	if s != nil {
		dest = append(dest, s.dest()...)
	}
	if err := r.Scan(dest...); err != nil {
		return m, err
	}
	if err := json.Unmarshal(certs, &m.Certifications); err != nil {
		return m, fmt.Errorf("crew certifications: %w", err)
	}
	if err := json.Unmarshal(avail, &m.Availability); err != nil {
		return m, fmt.Errorf("crew availability: %w", err)
	}
	if m.Skills == nil {
		m.Skills = []string{}
	}
	return m, nil
}

func crewJSON(m rampart.CrewMember) (certs, avail []byte) {
	certs, _ = json.Marshal(m.Certifications)
	avail, _ = json.Marshal(m.Availability)
	return certs, avail
}

func (tx CrewTx) costAccess(op string) error {
	if !access.HasFullCostAccess(tx.tc.Role) {
		return rampart.Errorf(op, rampart.KindForbidden, "Your role does not have full cost access: the day rate is not available to it.")
	}
	return nil
}

func (tx CrewTx) ring(op string) (*fieldcrypt.Ring, error) {
	if tx.store.keys == nil {
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "field encryption is not configured (RAMPART_FIELD_KEYS)")
	}
	return tx.store.keys, nil
}

func crewBinding(org, id uuid.UUID) fieldcrypt.Binding {
	return fieldcrypt.Binding{Organization: org, Table: tableCrewMembers, Column: colDayRate, Row: id}
}

// sealDayRate seals rate for the row under the ring's newest key (all
// nil for no rate).
func sealDayRate(ring *fieldcrypt.Ring, org, id uuid.UUID, rate *rampart.Money) (crewSealed, error) {
	var s crewSealed
	if rate == nil {
		return s, nil
	}
	env, err := ring.Seal(crewBinding(org, id), []byte(strconv.FormatInt(rate.Minor, 10)))
	if err != nil {
		return s, err
	}
	cur, kid := rate.Currency, ring.Newest()
	return crewSealed{currency: &cur, dayRate: env, keyID: &kid}, nil
}

// openDayRate opens a row's day rate (nil when it has none).
func openDayRate(ring *fieldcrypt.Ring, m rampart.CrewMember, s crewSealed) (*rampart.Money, error) {
	if s.dayRate == nil {
		return nil, nil
	}
	pt, _, err := ring.Open(crewBinding(m.OrganizationID, m.ID), s.dayRate)
	if err != nil {
		return nil, err
	}
	n, perr := strconv.ParseInt(string(pt), 10, 64)
	if perr != nil || s.currency == nil {
		return nil, fmt.Errorf("day rate plaintext: %w", errBadPlaintext)
	}
	rate := &rampart.Money{Minor: n, Currency: *s.currency}
	return rate, rampart.ValidateDayRate(rate)
}

// open turns a sealed row into a costed crew member; a rate that does not
// open is the member's DayRateError and an audit event, never an error
// for the whole list.
func (tx CrewTx) open(ctx context.Context, ring *fieldcrypt.Ring, m rampart.CrewMember, s crewSealed) (rampart.CostedCrewMember, error) {
	out := rampart.CostedCrewMember{CrewMember: m}
	rate, err := openDayRate(ring, m, s)
	if err == nil {
		out.DayRate = rate
		return out, nil
	}
	out.DayRateError = fmt.Sprintf("the day rate could not be decrypted (%s); an administrator can see why in the audit log", errClass(err))
	tx.store.log.Error("sealed field unreadable", "table", tableCrewMembers, "column", colDayRate, "row", m.ID, "err", err)
	kid := ""
	if s.keyID != nil {
		kid = *s.keyID
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionFieldUnreadable,
		TargetType: "crew_member", TargetID: m.ID.String(),
		Metadata: snapshot(map[string]any{"table": tableCrewMembers, "column": colDayRate, "key_id": kid, "error": errClass(err)})}))
}

// List returns the organization's crew without day rates, by name.
func (tx CrewTx) List(ctx context.Context) ([]rampart.CrewMember, error) {
	const op = "store.Crew"
	rows, err := tx.query(ctx, sqlListCrew, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.CrewMember, error) { return scanCrew(r, nil) })
	return out, classify(op, err)
}

// ListCosted returns the crew with their day rates opened, for a role
// with full cost access.
func (tx CrewTx) ListCosted(ctx context.Context) ([]rampart.CostedCrewMember, error) {
	const op = "store.CostedCrew"
	if err := tx.costAccess(op); err != nil {
		return nil, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, sqlListCrewSealed, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify(op, err)
	}
	type raw struct {
		m rampart.CrewMember
		s crewSealed
	}
	raws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (raw, error) {
		var x raw
		var err error
		x.m, err = scanCrew(r, &x.s)
		return x, err
	})
	if err != nil {
		return nil, classify(op, err)
	}
	out := make([]rampart.CostedCrewMember, len(raws))
	for i, x := range raws {
		if out[i], err = tx.open(ctx, ring, x.m, x.s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get reads one crew member's public fields.
func (tx CrewTx) Get(ctx context.Context, id uuid.UUID) (rampart.CrewMember, error) {
	m, err := scanCrew(tx.queryRow(ctx, sqlGetCrew, tx.tc.OrganizationID, id), nil)
	return m, classify("store.CrewMember", err)
}

// GetCosted reads one crew member with the day rate, for a role with full
// cost access.
func (tx CrewTx) GetCosted(ctx context.Context, id uuid.UUID) (rampart.CostedCrewMember, error) {
	const op = "store.CostedCrewMember"
	if err := tx.costAccess(op); err != nil {
		return rampart.CostedCrewMember{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return rampart.CostedCrewMember{}, err
	}
	var s crewSealed
	m, err := scanCrew(tx.queryRow(ctx, sqlGetCrewLocked, tx.tc.OrganizationID, id), &s)
	if err != nil {
		return rampart.CostedCrewMember{}, classify(op, err)
	}
	return tx.open(ctx, ring, m, s)
}

// crewSnapshot is a crew member in the audit trail: public fields and
// whether a day rate is held, never its value.
func crewSnapshot(m rampart.CrewMember, hasRate bool) []byte {
	return snapshot(map[string]any{"id": m.ID, "name": m.Name, "skills": m.Skills, "certifications": m.Certifications,
		"availability": m.Availability, "sealed_fields": sealedNames(hasRate)})
}

func sealedNames(hasRate bool) []string {
	if hasRate {
		return []string{"day_rate"}
	}
	return []string{}
}

// Create adds a crew member. rate, when not nil, needs full cost access;
// it is sealed before the statement is built.
func (tx CrewTx) Create(ctx context.Context, m rampart.CrewMember, rate *rampart.Money) (rampart.CrewMember, error) {
	const op = "store.CreateCrewMember"
	if err := rampart.ValidateCrewMember(&m); err != nil {
		return m, err
	}
	if err := rampart.ValidateDayRate(rate); err != nil {
		return m, err
	}
	id := uuid.New()
	var s crewSealed
	if rate != nil {
		if err := tx.costAccess(op); err != nil {
			return m, err
		}
		ring, err := tx.ring(op)
		if err != nil {
			return m, err
		}
		if s, err = sealDayRate(ring, tx.tc.OrganizationID, id, rate); err != nil {
			return m, rampart.Wrap(op, rampart.KindInternal, err)
		}
	}
	certs, avail := crewJSON(m)
	out, err := scanCrew(tx.queryRow(ctx, sqlCreateCrew, tx.tc.OrganizationID, id, m.Name, m.Skills, certs, avail,
		s.currency, s.dayRate, s.keyID, tx.tc.UserID), nil)
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionCrewMemberCreated,
		TargetType: "crew_member", TargetID: id.String(), After: crewSnapshot(out, rate != nil)}))
}

// CrewPatch changes the fields that are set. DayRate set replaces the
// rate, ClearDayRate removes it; both need full cost access.
type CrewPatch struct {
	Name           *string
	Skills         *[]string
	Certifications *[]rampart.Certification
	Availability   *[]rampart.DateRange
	DayRate        *rampart.Money
	ClearDayRate   bool
}

// TouchesCost reports whether the patch changes the day rate.
func (p CrewPatch) TouchesCost() bool { return p.DayRate != nil || p.ClearDayRate }

// Update applies a patch to one crew member, audited with before and after.
func (tx CrewTx) Update(ctx context.Context, id uuid.UUID, p CrewPatch) (rampart.CrewMember, error) {
	const op = "store.UpdateCrewMember"
	if p.TouchesCost() {
		if err := tx.costAccess(op); err != nil {
			return rampart.CrewMember{}, err
		}
		if err := rampart.ValidateDayRate(p.DayRate); err != nil {
			return rampart.CrewMember{}, err
		}
	}
	var sealed crewSealed
	before, err := scanCrew(tx.queryRow(ctx, sqlGetCrewLocked, tx.tc.OrganizationID, id), &sealed)
	if err != nil {
		return before, classify(op, err)
	}
	m := before
	if p.Name != nil {
		m.Name = *p.Name
	}
	if p.Skills != nil {
		m.Skills = *p.Skills
	}
	if p.Certifications != nil {
		m.Certifications = *p.Certifications
	}
	if p.Availability != nil {
		m.Availability = *p.Availability
	}
	if err := rampart.ValidateCrewMember(&m); err != nil {
		return before, err
	}
	certs, avail := crewJSON(m)
	var after rampart.CrewMember
	hasRate := sealed.dayRate != nil
	if !p.TouchesCost() {
		after, err = scanCrew(tx.queryRow(ctx, sqlUpdateCrew, tx.tc.OrganizationID, id, m.Name, m.Skills, certs, avail), nil)
	} else {
		var s crewSealed
		if p.DayRate != nil {
			ring, rerr := tx.ring(op)
			if rerr != nil {
				return before, rerr
			}
			if s, err = sealDayRate(ring, tx.tc.OrganizationID, id, p.DayRate); err != nil {
				return before, rampart.Wrap(op, rampart.KindInternal, err)
			}
		}
		hasRate = p.DayRate != nil
		after, err = scanCrew(tx.queryRow(ctx, sqlUpdateCrewSealed, tx.tc.OrganizationID, id, m.Name, m.Skills, certs, avail,
			s.currency, s.dayRate, s.keyID), nil)
	}
	if err != nil {
		return after, classify(op, err)
	}
	changed := []string{}
	if p.TouchesCost() {
		changed = []string{"day_rate"}
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionCrewMemberUpdated,
		TargetType: "crew_member", TargetID: id.String(), Before: crewSnapshot(before, sealed.dayRate != nil),
		After: crewSnapshot(after, hasRate), Metadata: snapshot(map[string]any{"sealed_fields_changed": changed})}))
}

// Delete removes a crew member (and their assignments).
func (tx CrewTx) Delete(ctx context.Context, id uuid.UUID) error {
	const op = "store.DeleteCrewMember"
	before, err := scanCrew(tx.queryRow(ctx, sqlDeleteCrew, tx.tc.OrganizationID, id), nil)
	if err != nil {
		return classify(op, err)
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionCrewMemberDeleted,
		TargetType: "crew_member", TargetID: id.String(), Before: crewSnapshot(before, false)}))
}

func scanAssignment(r pgx.Row) (rampart.CrewAssignmentRecord, error) {
	var a rampart.CrewAssignmentRecord
	return a, r.Scan(&a.OrganizationID, &a.ID, &a.ProposalID, &a.CrewMemberID, &a.Dates.From, &a.Dates.To, &a.CrewMemberName,
		&a.AssignedBy, &a.CreatedAt)
}

// Assign assigns a crew member to a proposal for a date range. A proposal
// or crew member the caller cannot see is not found; the same member
// twice on one proposal is a conflict.
func (tx CrewTx) Assign(ctx context.Context, a rampart.CrewAssignment) (rampart.CrewAssignmentRecord, error) {
	const op = "store.AssignCrew"
	if err := a.Validate(); err != nil {
		return rampart.CrewAssignmentRecord{}, err
	}
	out, err := scanAssignment(tx.queryRow(ctx, sqlCreateCrewAssignment, tx.tc.OrganizationID, uuid.New(), a.ProposalID, a.CrewMemberID,
		string(a.Dates.From), string(a.Dates.To), tx.tc.UserID))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionCrewAssigned,
		TargetType: "crew_assignment", TargetID: out.ID.String(), After: snapshot(out)}))
}

// Assignments lists a proposal's crew assignments.
func (tx CrewTx) Assignments(ctx context.Context, proposal uuid.UUID) ([]rampart.CrewAssignmentRecord, error) {
	const op = "store.CrewAssignments"
	rows, err := tx.query(ctx, sqlListCrewAssignments, tx.tc.OrganizationID, proposal)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.CrewAssignmentRecord, error) { return scanAssignment(r) })
	return out, classify(op, err)
}

// Assignment reads one assignment.
func (tx CrewTx) Assignment(ctx context.Context, id uuid.UUID) (rampart.CrewAssignmentRecord, error) {
	a, err := scanAssignment(tx.queryRow(ctx, sqlGetCrewAssignment, tx.tc.OrganizationID, id))
	return a, classify("store.CrewAssignment", err)
}

// Unassign removes an assignment.
func (tx CrewTx) Unassign(ctx context.Context, id uuid.UUID) error {
	const op = "store.UnassignCrew"
	before, err := tx.Assignment(ctx, id)
	if err != nil {
		return err
	}
	tag, err := tx.exec(ctx, sqlDeleteCrewAssignment, tx.tc.OrganizationID, id)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionCrewUnassigned,
		TargetType: "crew_assignment", TargetID: id.String(), Before: snapshot(before)}))
}

// Busy returns, per crew member, the date ranges they are assigned to
// proposals other than proposal within dates (as far as row-level
// security lets the caller see: a venue manager sees their venues').
func (tx CrewTx) Busy(ctx context.Context, proposal uuid.UUID, dates rampart.DateRange) (map[uuid.UUID][]rampart.DateRange, error) {
	const op = "store.BusyCrew"
	rows, err := tx.query(ctx, sqlBusyCrew, tx.tc.OrganizationID, proposal, string(dates.From), string(dates.To))
	if err != nil {
		return nil, classify(op, err)
	}
	out := map[uuid.UUID][]rampart.DateRange{}
	var id uuid.UUID
	var r rampart.DateRange
	_, err = pgx.ForEachRow(rows, []any{&id, &r.From, &r.To}, func() error {
		out[id] = append(out[id], r)
		return nil
	})
	return out, classify(op, err)
}
