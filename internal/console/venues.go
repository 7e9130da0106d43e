package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/venue"
)

// The organization's venues: the list, and the add, edit and remove
// forms. Every form calls the use case POST, PATCH and DELETE
// /api/venues call (venue.*), which checks the role and the venue scope
// (admins edit every venue; a venue manager only those of their codes)
// and writes one audit event. Invalid input re-renders the form with the
// caller's input and the message beside the field (422); nothing is
// written. A venue's code names it in every scope and never changes.

func (s venuePages) register() {
	s.page("GET /venues", s.venuesPage)
	s.page("POST /venues", s.createVenue)
	s.page("GET /venues/{id}", s.venuePage)
	s.page("POST /venues/{id}", s.updateVenue)
	s.page("GET /venues/{id}/delete", s.confirmDeleteVenue)
	s.page("POST /venues/{id}/delete", s.deleteVenue)
}

// venueForm is a venue form's fields as typed, and its field errors.
type venueForm struct {
	Code, Name, City, Capacity, Latitude, Longitude string
	Errors                                          map[string]string
}

var venueFields = []string{"code", "name", "city", "capacity", "location"}

func venueFormOf(v rampart.Venue) venueForm {
	f := venueForm{Code: v.Code, Name: v.Name, City: v.City}
	if v.Capacity != nil {
		f.Capacity = strconv.Itoa(*v.Capacity)
	}
	if v.Location != nil {
		f.Latitude = strconv.FormatFloat(v.Location.Latitude, 'f', -1, 64)
		f.Longitude = strconv.FormatFloat(v.Location.Longitude, 'f', -1, 64)
	}
	return f
}

func readVenueForm(v url.Values) venueForm {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return venueForm{Code: strings.ToUpper(get("code")), Name: get("name"), City: get("city"), Capacity: get("capacity"),
		Latitude: get("latitude"), Longitude: get("longitude")}
}

// input is the use case's input; a malformed number is a field error.
func (f venueForm) input() (venue.Input, error) {
	const op = "console.venue"
	in := venue.Input{Code: f.Code, Name: f.Name, City: f.City}
	if f.Capacity != "" {
		n, err := strconv.Atoi(f.Capacity)
		if err != nil || len(f.Capacity) > 9 {
			return in, rampart.FieldError(op, "capacity", "must be a whole number of people")
		}
		in.Capacity = &n
	}
	switch {
	case f.Latitude == "" && f.Longitude == "":
	case f.Latitude == "" || f.Longitude == "":
		return in, rampart.FieldError(op, "location", "give both the latitude and the longitude, or neither")
	default:
		lat, err1 := strconv.ParseFloat(f.Latitude, 64)
		lon, err2 := strconv.ParseFloat(f.Longitude, 64)
		if err1 != nil || err2 != nil {
			return in, rampart.FieldError(op, "location", "latitude and longitude are decimal degrees such as 51.5072 and -0.1276")
		}
		in.Location = &rampart.GeoPoint{Latitude: lat, Longitude: lon}
	}
	return in, nil
}

// venueErrors places an invalid-input error beside its field: the
// validation names the field first ("capacity must be …", "location: …").
func venueErrors(err error) map[string]string {
	return map[string]string{formField(err, "name", venueFields...): rampart.ErrorMessage(err)}
}

// canEditVenues: the add form is shown (venue.Create checks the code
// against the caller's scope).
func canEditVenues(c rampart.Claims) bool {
	return access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindVenue})
}

type venuesData struct {
	Venues  []rampart.Venue
	CanEdit bool
	Form    venueForm
}

func (s venuePages) venuesPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderVenues(w, r, c, http.StatusOK, venueForm{})
}

func (s venuePages) renderVenues(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f venueForm) error {
	vs, err := venue.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	return s.render(w, r, c, status, "venues", view{Title: "Venues", Section: "venues", Data: venuesData{Venues: vs, CanEdit: canEditVenues(c), Form: f}})
}

// createVenue adds a venue (venue.Create, as POST /api/venues).
func (s venuePages) createVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := readVenueForm(v)
	in, err := f.input()
	if err == nil {
		_, err = venue.Create(r.Context(), s.store, c, in)
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = venueErrors(err)
		return s.renderVenues(w, r, c, http.StatusUnprocessableEntity, f)
	}
	if rampart.ErrorKind(err) == rampart.KindConflict {
		f.Errors = map[string]string{"code": "another venue already has the code " + f.Code}
		return s.renderVenues(w, r, c, http.StatusConflict, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/venues", "created")
}

type venueData struct {
	V       rampart.Venue
	CanEdit bool
	Form    venueForm
}

// venuePage is one venue with its edit form (venue.Get: another
// organization's venue, or one outside the caller's scope, is the 404
// page).
func (s venuePages) venuePage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := venue.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return s.renderVenue(w, r, c, http.StatusOK, v, venueFormOf(v))
}

func (s venuePages) renderVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, v rampart.Venue, f venueForm) error {
	return s.render(w, r, c, status, "venue", view{Title: "Venue · " + v.Code, Section: "venues",
		Data: venueData{V: v, CanEdit: access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindVenue, VenueCode: v.Code}), Form: f}})
}

// updateVenue changes the name, city, capacity and location (venue.Update,
// as PATCH /api/venues/{id}); the code is the venue's own. The venue is
// read first, so another organization's id is the 404 page whatever the
// form holds.
func (s venuePages) updateVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	current, err := venue.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	f := readVenueForm(v)
	f.Code = current.Code
	in, err := f.input()
	if err == nil {
		probe := current
		probe.Name, probe.City, probe.Capacity, probe.Location = in.Name, in.City, in.Capacity, in.Location
		if err = rampart.ValidateVenue(probe); err == nil {
			_, err = venue.Update(r.Context(), s.store, c, id, in)
		}
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = venueErrors(err)
		return s.renderVenue(w, r, c, http.StatusUnprocessableEntity, current, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/venues/"+id.String(), "saved")
}

func (s venuePages) confirmDeleteVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := venue.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	if !access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindVenue, VenueCode: v.Code}) {
		return rampart.Errorf("console.venue", rampart.KindForbidden, "Your role may not remove this venue.")
	}
	return s.render(w, r, c, http.StatusOK, "confirm-delete", view{Title: "Remove " + v.Code, Section: "venues",
		Data: deleteData{What: "venue", Name: v.Code + " " + v.Name, Action: "/venues/" + id.String() + "/delete", Back: "/venues/" + id.String(),
			Consequence: "Proposals keep their venue code; venue managers scoped to it keep the scope until an admin changes it."}})
}

// deleteVenue removes a venue (venue.Delete, as DELETE /api/venues/{id}).
func (s venuePages) deleteVenue(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, _ url.Values) (string, string, error) {
		return "/venues", "deleted", venue.Delete(r.Context(), s.store, c, id)
	})
}
