package venue

import (
	"context"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Input is a venue as a caller gives it. Code is required to create and
// cannot change afterwards.
type Input struct {
	Code     string
	Name     string
	City     string
	Capacity *int
	// Location is optional (the vendor ranker's distance signal).
	Location *rampart.GeoPoint
}

func resource(code string) access.Resource {
	return access.Resource{Kind: access.KindVenue, VenueCode: code}
}

// List returns the organization's venues the caller may read.
func List(ctx context.Context, st *store.Store, c rampart.Claims) ([]rampart.Venue, error) {
	all, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Venue, error) {
		return tx.Venues().List(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make([]rampart.Venue, 0, len(all))
	for _, v := range all {
		if access.Can(c, access.ActionRead, resource(v.Code)) {
			out = append(out, v)
		}
	}
	return out, nil
}

// Create adds a venue; the caller must be able to edit its code.
func Create(ctx context.Context, st *store.Store, c rampart.Claims, in Input) (rampart.Venue, error) {
	v := rampart.Venue{OrganizationID: c.OrganizationID, Code: in.Code, Name: in.Name, City: in.City, Capacity: in.Capacity, Location: in.Location}
	if err := rampart.ValidateVenue(v); err != nil {
		return rampart.Venue{}, err
	}
	if err := access.Check(c, access.ActionEdit, resource(v.Code)); err != nil {
		return rampart.Venue{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Venue, error) {
		return tx.Venues().Create(ctx, v)
	})
}

// Get reads one venue; one the caller may not read is not found.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.Venue, error) {
	v, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Venue, error) {
		return tx.Venues().Get(ctx, id)
	})
	if err != nil {
		return rampart.Venue{}, err
	}
	if !access.Can(c, access.ActionRead, resource(v.Code)) {
		return rampart.Venue{}, rampart.Errorf("venue.Get", rampart.KindNotFound, "not found")
	}
	return v, nil
}

// Update changes a venue's name, city, capacity and location. A code in the input
// must be the venue's own: codes never change.
func Update(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, in Input) (rampart.Venue, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Venue, error) {
		cur, err := tx.Venues().Get(ctx, id)
		if err != nil {
			return rampart.Venue{}, err
		}
		if in.Code != "" && in.Code != cur.Code {
			return rampart.Venue{}, rampart.FieldError("venue.Update", "code", "cannot be changed")
		}
		if err := access.Check(c, access.ActionEdit, resource(cur.Code)); err != nil {
			return rampart.Venue{}, err
		}
		cur.Name, cur.City, cur.Capacity, cur.Location = in.Name, in.City, in.Capacity, in.Location
		return tx.Venues().Update(ctx, cur)
	})
}

// Delete removes a venue the caller may edit.
func Delete(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) error {
	return st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		cur, err := tx.Venues().Get(ctx, id)
		if err != nil {
			return err
		}
		if err := access.Check(c, access.ActionEdit, resource(cur.Code)); err != nil {
			return err
		}
		return tx.Venues().Delete(ctx, id)
	})
}
