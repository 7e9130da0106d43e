package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/staffing.sql.
var (
	sqlListVendors       = query("ListVendors")
	sqlGetVendor         = query("GetVendor")
	sqlGetVendorLocked   = query("GetVendorLocked")
	sqlCreateVendor      = query("CreateVendor")
	sqlUpdateVendor      = query("UpdateVendor")
	sqlDeleteVendor      = query("DeleteVendor")
	sqlVenueCoordinates  = query("VenueCoordinates")
	sqlGetVendorChoice   = query("GetVendorChoiceLocked")
	sqlUpsertVendorChoic = query("UpsertVendorChoice")
	sqlListVendorChoices = query("ListVendorChoices")
	sqlGetVendorChoiceID = query("GetVendorChoiceByID")
	sqlDeleteVendorChoic = query("DeleteVendorChoice")
)

// VendorsTx is the organization's vendor directory and the vendors chosen
// for its proposals. The directory is sourcing information: row-level
// security shows it only to the roles with full cost access.
type VendorsTx struct{ tenant }

// Vendors returns the vendor methods.
func (tx *TenantTx) Vendors() VendorsTx { return VendorsTx{tx.tenant} }

func scanVendor(r pgx.Row) (rampart.Vendor, error) {
	var v rampart.Vendor
	var lat, lon *float64
	err := r.Scan(&v.OrganizationID, &v.ID, &v.Name, &v.Category, &v.PriceBand, &v.LeadTimeDays, &v.OnTimeCount, &v.LateCount,
		&lat, &lon, &v.CreatedBy, &v.CreatedAt, &v.UpdatedAt)
	if lat != nil && lon != nil {
		v.Depot = &rampart.GeoPoint{Latitude: *lat, Longitude: *lon}
	}
	return v, err
}

func depotArgs(p *rampart.GeoPoint) (lat, lon *float64) {
	if p == nil {
		return nil, nil
	}
	a, b := p.Latitude, p.Longitude
	return &a, &b
}

// List returns the organization's vendors, of one category when category
// is not empty, by category and name (at most 1,000).
func (tx VendorsTx) List(ctx context.Context, category rampart.BOMCategory) ([]rampart.Vendor, error) {
	const op = "store.Vendors"
	var cat *string
	if category != "" {
		s := string(category)
		cat = &s
	}
	rows, err := tx.query(ctx, sqlListVendors, tx.tc.OrganizationID, cat)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Vendor, error) { return scanVendor(r) })
	return out, classify(op, err)
}

// Get reads one vendor; another organization's is not found.
func (tx VendorsTx) Get(ctx context.Context, id uuid.UUID) (rampart.Vendor, error) {
	v, err := scanVendor(tx.queryRow(ctx, sqlGetVendor, tx.tc.OrganizationID, id))
	return v, classify("store.Vendor", err)
}

// Create adds a vendor.
func (tx VendorsTx) Create(ctx context.Context, v rampart.Vendor) (rampart.Vendor, error) {
	const op = "store.CreateVendor"
	if err := rampart.ValidateVendor(v); err != nil {
		return v, err
	}
	lat, lon := depotArgs(v.Depot)
	out, err := scanVendor(tx.queryRow(ctx, sqlCreateVendor, tx.tc.OrganizationID, uuid.New(), v.Name, v.Category, v.PriceBand,
		v.LeadTimeDays, v.OnTimeCount, v.LateCount, lat, lon, tx.tc.UserID))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionVendorCreated,
		TargetType: "vendor", TargetID: out.ID.String(), After: snapshot(out)}))
}

// Update changes a vendor: change edits a copy of the current row, which
// is then validated and written, with before and after audited.
func (tx VendorsTx) Update(ctx context.Context, id uuid.UUID, change func(*rampart.Vendor)) (rampart.Vendor, error) {
	const op = "store.UpdateVendor"
	before, err := scanVendor(tx.queryRow(ctx, sqlGetVendorLocked, tx.tc.OrganizationID, id))
	if err != nil {
		return before, classify(op, err)
	}
	v := before
	change(&v)
	if err := rampart.ValidateVendor(v); err != nil {
		return before, err
	}
	lat, lon := depotArgs(v.Depot)
	after, err := scanVendor(tx.queryRow(ctx, sqlUpdateVendor, tx.tc.OrganizationID, id, v.Name, v.Category, v.PriceBand,
		v.LeadTimeDays, v.OnTimeCount, v.LateCount, lat, lon))
	if err != nil {
		return after, classify(op, err)
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionVendorUpdated,
		TargetType: "vendor", TargetID: id.String(), Before: snapshot(before), After: snapshot(after)}))
}

// Delete removes a vendor (and the choices of it).
func (tx VendorsTx) Delete(ctx context.Context, id uuid.UUID) error {
	const op = "store.DeleteVendor"
	before, err := scanVendor(tx.queryRow(ctx, sqlDeleteVendor, tx.tc.OrganizationID, id))
	if err != nil {
		return classify(op, err)
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionVendorDeleted,
		TargetType: "vendor", TargetID: id.String(), Before: snapshot(before)}))
}

// VenueLocation returns the coordinates of the venue with code, nil when
// it has none (or is not visible to the caller).
func (tx VendorsTx) VenueLocation(ctx context.Context, code string) (*rampart.GeoPoint, error) {
	var lat, lon *float64
	err := tx.queryRow(ctx, sqlVenueCoordinates, tx.tc.OrganizationID, code).Scan(&lat, &lon)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, classify("store.VenueLocation", err)
	}
	if lat == nil || lon == nil {
		return nil, nil
	}
	return &rampart.GeoPoint{Latitude: *lat, Longitude: *lon}, nil
}

func scanVendorChoice(r pgx.Row) (rampart.VendorChoiceRecord, error) {
	var c rampart.VendorChoiceRecord
	return c, r.Scan(&c.OrganizationID, &c.ID, &c.ProposalID, &c.Category, &c.VendorID, &c.VendorName, &c.ChosenBy, &c.CreatedAt, &c.UpdatedAt)
}

// Choose records the vendor chosen for a proposal's category, replacing
// an earlier choice (audited with before and after). A proposal or vendor
// the caller cannot see, or a vendor of another category, is not found.
func (tx VendorsTx) Choose(ctx context.Context, c rampart.VendorChoice) (rampart.VendorChoiceRecord, error) {
	const op = "store.ChooseVendor"
	if err := c.Validate(); err != nil {
		return rampart.VendorChoiceRecord{}, err
	}
	var before *rampart.VendorChoiceRecord
	prev, err := scanVendorChoice(tx.queryRow(ctx, sqlGetVendorChoice, tx.tc.OrganizationID, c.ProposalID, c.Category))
	switch {
	case err == nil:
		before = &prev
	case err != pgx.ErrNoRows:
		return prev, classify(op, err)
	}
	after, err := scanVendorChoice(tx.queryRow(ctx, sqlUpsertVendorChoic, tx.tc.OrganizationID, uuid.New(), c.ProposalID, c.Category, c.VendorID, tx.tc.UserID))
	if err != nil {
		return after, classify(op, err)
	}
	ev := audit.Event{Action: audit.ActionVendorChosen, TargetType: "vendor_choice", TargetID: after.ID.String(), After: snapshot(after)}
	if before != nil {
		ev.Before = snapshot(*before)
	}
	return after, tx.recordAudit(ctx, tx.userEvent(ev))
}

// Choices lists the vendors chosen for a proposal, by category.
func (tx VendorsTx) Choices(ctx context.Context, proposal uuid.UUID) ([]rampart.VendorChoiceRecord, error) {
	const op = "store.VendorChoices"
	rows, err := tx.query(ctx, sqlListVendorChoices, tx.tc.OrganizationID, proposal)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.VendorChoiceRecord, error) { return scanVendorChoice(r) })
	return out, classify(op, err)
}

// Choice reads one vendor choice.
func (tx VendorsTx) Choice(ctx context.Context, id uuid.UUID) (rampart.VendorChoiceRecord, error) {
	c, err := scanVendorChoice(tx.queryRow(ctx, sqlGetVendorChoiceID, tx.tc.OrganizationID, id))
	return c, classify("store.VendorChoice", err)
}

// Unchoose removes a vendor choice (audited with its before).
func (tx VendorsTx) Unchoose(ctx context.Context, id uuid.UUID) error {
	const op = "store.UnchooseVendor"
	before, err := tx.Choice(ctx, id)
	if err != nil {
		return err
	}
	tag, err := tx.exec(ctx, sqlDeleteVendorChoic, tx.tc.OrganizationID, id)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionVendorUnchosen,
		TargetType: "vendor_choice", TargetID: id.String(), Before: snapshot(before)}))
}
