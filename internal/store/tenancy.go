package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The SQL of organizations, users, memberships and venues. Every tenant
// query also filters by organization_id (index use, defence in depth); RLS
// is what makes it safe. From queries/tenancy.sql.
var (
	sqlCreateOrganization = query("CreateOrganization")
	sqlGetOrganization    = query("GetOrganization")
	sqlUpsertUser         = query("UpsertUser")
	sqlAddMembership      = query("AddMembership")
	sqlListMembers        = query("ListMembers")
)

// The venue statements, from queries/venues.sql.
var (
	sqlCreateVenue = query("CreateVenue")
	sqlListVenues  = query("ListVenues")
	sqlGetVenue    = query("GetVenue")
	sqlUpdateVenue = query("UpdateVenue")
	sqlDeleteVenue = query("DeleteVenue")
)

// CreateOrganization creates a tenant. Only the service path may: a tenant
// transaction has no INSERT privilege on organizations.
func (tx ProvisionTx) CreateOrganization(ctx context.Context, name, slug string) (rampart.Organization, error) {
	const op = "store.CreateOrganization"
	if err := rampart.ValidateOrganization(name, slug); err != nil {
		return rampart.Organization{}, err
	}
	var o rampart.Organization
	err := tx.queryRow(ctx, sqlCreateOrganization, name, slug).Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt)
	if err != nil {
		return o, classify(op, err)
	}
	return o, tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &o.ID,
		Action: audit.ActionOrganizationCreated, TargetType: "organization", TargetID: o.ID.String(), After: snapshot(o)}))
}

// Organization reads the tenant's own organization.
func (tx *TenantTx) Organization(ctx context.Context) (rampart.Organization, error) {
	return tx.organization(ctx, tx.tc.OrganizationID)
}

// Organization reads any organization.
func (tx ProvisionTx) Organization(ctx context.Context, id uuid.UUID) (rampart.Organization, error) {
	return tx.organization(ctx, id)
}

func (tx *txn) organization(ctx context.Context, id uuid.UUID) (rampart.Organization, error) {
	var o rampart.Organization
	err := tx.queryRow(ctx, sqlGetOrganization, id).Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt)
	return o, classify("store.Organization", err)
}

// UpsertUser returns the user with email, creating it if needed (service path).
func (tx ProvisionTx) UpsertUser(ctx context.Context, email, displayName string) (rampart.User, error) {
	const op = "store.UpsertUser"
	email, err := rampart.NormalizeEmail(email)
	if err != nil {
		return rampart.User{}, err
	}
	var u rampart.User
	err = tx.queryRow(ctx, sqlUpsertUser, email, displayName).Scan(&u.ID, &u.Email, &u.DisplayName, &u.CreatedAt)
	return u, classify(op, err)
}

// AddMembership adds a user to an organization with a role.
func (tx ProvisionTx) AddMembership(ctx context.Context, m rampart.Membership) error {
	const op = "store.AddMembership"
	c := rampart.Claims{OrganizationID: m.OrganizationID, UserID: m.UserID, Role: m.Role, VenueCodes: m.VenueCodes}
	if err := c.Validate(); err != nil {
		return &rampart.Error{Op: op, Kind: rampart.KindInvalid, Message: rampart.ErrorMessage(err), Err: err}
	}
	codes := m.VenueCodes
	if codes == nil {
		codes = []string{}
	}
	if _, err := tx.exec(ctx, sqlAddMembership, m.OrganizationID, m.UserID, string(m.Role), codes); err != nil {
		return classify(op, err)
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &m.OrganizationID,
		Action: audit.ActionMembershipCreated, TargetType: "membership", TargetID: m.UserID.String(), After: snapshot(m)}))
}

// List lists the organization's memberships.
func (tx MembersTx) List(ctx context.Context) ([]rampart.Membership, error) {
	rows, err := tx.query(ctx, sqlListMembers, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify("store.Members", err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Membership, error) {
		var m rampart.Membership
		var role string
		err := r.Scan(&m.OrganizationID, &m.UserID, &role, &m.VenueCodes)
		m.Role = rampart.Role(role)
		return m, err
	})
	return ms, classify("store.Members", err)
}

// Create adds a venue to the tenant's organization.
func (tx VenuesTx) Create(ctx context.Context, v rampart.Venue) (rampart.Venue, error) {
	v.OrganizationID = tx.tc.OrganizationID
	return tx.createVenue(ctx, v)
}

// CreateVenue adds a venue to v's organization (seeding).
func (tx ProvisionTx) CreateVenue(ctx context.Context, v rampart.Venue) (rampart.Venue, error) {
	return tx.createVenue(ctx, v)
}

func (tx *txn) createVenue(ctx context.Context, v rampart.Venue) (rampart.Venue, error) {
	const op = "store.CreateVenue"
	if err := rampart.ValidateVenue(v); err != nil {
		return rampart.Venue{}, err
	}
	out, err := scanVenue(tx.queryRow(ctx, sqlCreateVenue, append([]any{v.OrganizationID, v.Code, v.Name, v.City, v.Capacity}, locationArgs(v.Location)...)...))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &out.OrganizationID,
		Action: audit.ActionVenueCreated, TargetType: "venue", TargetID: out.ID.String(), After: snapshot(out)}))
}

// List lists the organization's venues the tenant context may see.
func (tx VenuesTx) List(ctx context.Context) ([]rampart.Venue, error) {
	rows, err := tx.query(ctx, sqlListVenues, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify("store.Venues", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Venue, error) { return scanVenue(r) })
	return vs, classify("store.Venues", err)
}

// Get reads one venue; another tenant's venue is not found.
func (tx VenuesTx) Get(ctx context.Context, id uuid.UUID) (rampart.Venue, error) {
	v, err := scanVenue(tx.queryRow(ctx, sqlGetVenue, tx.tc.OrganizationID, id))
	return v, classify("store.Venue", err)
}

// Update changes a venue's name, city and capacity.
func (tx VenuesTx) Update(ctx context.Context, v rampart.Venue) (rampart.Venue, error) {
	const op = "store.UpdateVenue"
	v.OrganizationID = tx.tc.OrganizationID
	if err := rampart.ValidateVenue(v); err != nil {
		return rampart.Venue{}, err
	}
	before, err := tx.Get(ctx, v.ID)
	if err != nil {
		return rampart.Venue{}, err
	}
	after, err := scanVenue(tx.queryRow(ctx, sqlUpdateVenue, append([]any{v.OrganizationID, v.ID, v.Name, v.City, v.Capacity}, locationArgs(v.Location)...)...))
	if err != nil {
		return after, classify(op, err)
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &after.OrganizationID,
		Action: audit.ActionVenueUpdated, TargetType: "venue", TargetID: after.ID.String(), Before: snapshot(before), After: snapshot(after)}))
}

// Delete removes a venue; another tenant's venue is not found.
func (tx VenuesTx) Delete(ctx context.Context, id uuid.UUID) error {
	const op = "store.DeleteVenue"
	orgID := tx.tc.OrganizationID
	before, err := tx.Get(ctx, id)
	if err != nil {
		return err
	}
	tag, err := tx.exec(ctx, sqlDeleteVenue, orgID, id)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &orgID,
		Action: audit.ActionVenueDeleted, TargetType: "venue", TargetID: id.String(), Before: snapshot(before)}))
}

func scanVenue(r pgx.Row) (rampart.Venue, error) {
	var v rampart.Venue
	var lat, lon *float64
	err := r.Scan(&v.OrganizationID, &v.ID, &v.Code, &v.Name, &v.City, &v.Capacity, &v.CreatedAt, &v.UpdatedAt, &lat, &lon)
	if lat != nil && lon != nil {
		v.Location = &rampart.GeoPoint{Latitude: *lat, Longitude: *lon}
	}
	return v, err
}

// locationArgs are a location's latitude and longitude parameters (both
// nil for none).
func locationArgs(p *rampart.GeoPoint) []any {
	lat, lon := depotArgs(p)
	return []any{lat, lon}
}

// actorType and actorID name who acts in this transaction for audit events.
func (tx *txn) actorType() audit.ActorType {
	if tx.claims == nil {
		return audit.ActorService
	}
	if tx.claims.ViaToken() {
		return audit.ActorAPIToken
	}
	return audit.ActorUser
}

func (tx *txn) actorID() string {
	if tx.claims == nil {
		return tx.service
	}
	return tx.claims.UserID.String()
}

// snapshot is the before/after JSON of an audit event, with secret fields
// replaced by a marker (audit.Redact).
func snapshot(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	return audit.Redact(b)
}

// sqlOrganizationBySlug is in queries/tenancy.sql.
var sqlOrganizationBySlug = query("OrganizationBySlug")

// OrganizationBySlug finds an organization by its slug (service path: a
// tenant only ever sees its own organization anyway).
func (tx ProvisionTx) OrganizationBySlug(ctx context.Context, slug string) (rampart.Organization, error) {
	var o rampart.Organization
	err := tx.queryRow(ctx, sqlOrganizationBySlug, slug).Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt)
	return o, classify("store.OrganizationBySlug", err)
}
