package api

import (
	"context"
	"net/http"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// venueAPI is the organization's venues.
type venueAPI struct{ *Server }

func (s venueAPI) register(r *edge.Router) {
	r.Authed("GET /api/venues", s.listVenues)
	edge.AuthedJSON(r, "POST /api/venues", s.createVenue)
	r.Authed("GET /api/venues/{id}", s.getVenue)
	edge.AuthedJSON(r, "PATCH /api/venues/{id}", s.updateVenue)
	r.Authed("DELETE /api/venues/{id}", s.deleteVenue)
}

// Venues are scoped twice: the handler checks the role and the venue code
// (access.Check), and row-level security filters venue managers to their
// venue codes whatever the handler does.

func (s venueAPI) listVenues(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	all, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) ([]rampart.Venue, error) {
		return tx.Venues(ctx, c.OrganizationID)
	})
	if err != nil {
		return err
	}
	out := make([]rampart.Venue, 0, len(all))
	for _, v := range all {
		if access.Can(c, access.ActionRead, access.Resource{Kind: access.KindVenue, VenueCode: v.Code}) {
			out = append(out, v)
		}
	}
	return respond(w, c, http.StatusOK, map[string]any{"venues": out})
}

type venueRequest struct {
	Code     string `json:"code" required:"false" pattern:"^[A-Z0-9][A-Z0-9_-]{0,31}$" doc:"required when creating; cannot change"`
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	City     string `json:"city" required:"false" maxLength:"200"`
	Capacity *int   `json:"capacity" required:"false" minimum:"1" maximum:"1000000"`
}

func (s venueAPI) createVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims, req venueRequest) error {
	v := rampart.Venue{OrganizationID: c.OrganizationID, Code: req.Code, Name: req.Name, City: req.City, Capacity: req.Capacity}
	if err := rampart.ValidateVenue(v); err != nil {
		return err
	}
	if err := access.Check(c, access.ActionEdit, access.Resource{Kind: access.KindVenue, VenueCode: v.Code}); err != nil {
		return err
	}
	err := s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		var err error
		v, err = tx.CreateVenue(ctx, v)
		return err
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusCreated, v)
}

func (s venueAPI) getVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := store.InTenantValue(r.Context(), s.store, c, func(ctx context.Context, tx *store.Tx) (rampart.Venue, error) {
		return tx.Venue(ctx, c.OrganizationID, id)
	})
	if err != nil {
		return err
	}
	if !access.Can(c, access.ActionRead, access.Resource{Kind: access.KindVenue, VenueCode: v.Code}) {
		return rampart.Errorf("api.getVenue", rampart.KindNotFound, "not found")
	}
	return respond(w, c, http.StatusOK, v)
}

func (s venueAPI) updateVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims, req venueRequest) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var v rampart.Venue
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.Venue(ctx, c.OrganizationID, id)
		if err != nil {
			return err
		}
		if req.Code != "" && req.Code != cur.Code {
			return fieldError("code", "cannot be changed")
		}
		if err := access.Check(c, access.ActionEdit, access.Resource{Kind: access.KindVenue, VenueCode: cur.Code}); err != nil {
			return err
		}
		cur.Name, cur.City, cur.Capacity = req.Name, req.City, req.Capacity
		v, err = tx.UpdateVenue(ctx, cur)
		return err
	})
	if err != nil {
		return err
	}
	return respond(w, c, http.StatusOK, v)
}

func (s venueAPI) deleteVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = s.store.InTenant(r.Context(), c, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.Venue(ctx, c.OrganizationID, id)
		if err != nil {
			return err
		}
		if err := access.Check(c, access.ActionEdit, access.Resource{Kind: access.KindVenue, VenueCode: cur.Code}); err != nil {
			return err
		}
		return tx.DeleteVenue(ctx, c.OrganizationID, id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
