package api

import (
	"net/http"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/venue"
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

// Venues are scoped twice: the use case checks the role and the venue code
// (access.Check), and row-level security filters venue managers to their
// venue codes whatever the handler does.

func (s venueAPI) listVenues(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	out, err := venue.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, map[string]any{"venues": out})
}

type venueRequest struct {
	Code     string      `json:"code" required:"false" pattern:"^[A-Z0-9][A-Z0-9_-]{0,31}$" doc:"required when creating; cannot change"`
	Name     string      `json:"name" minLength:"1" maxLength:"200"`
	City     string      `json:"city" required:"false" maxLength:"200"`
	Capacity *int        `json:"capacity" required:"false" minimum:"1" maximum:"1000000"`
	Location *geoRequest `json:"location,omitempty" required:"false" doc:"optional coordinates; the vendor ranker measures distances to vendors' depots from them"`
}

func (req venueRequest) input() venue.Input {
	return venue.Input{Code: req.Code, Name: req.Name, City: req.City, Capacity: req.Capacity, Location: req.Location.point()}
}

func (s venueAPI) createVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims, req venueRequest) error {
	v, err := venue.Create(r.Context(), s.store, c, req.input())
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusCreated, v)
}

func (s venueAPI) getVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := venue.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v)
}

func (s venueAPI) updateVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims, req venueRequest) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	v, err := venue.Update(r.Context(), s.store, c, id, req.input())
	if err != nil {
		return err
	}
	return edge.Respond(w, c, http.StatusOK, v)
}

func (s venueAPI) deleteVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := edge.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := venue.Delete(r.Context(), s.store, c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
