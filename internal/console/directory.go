package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// The vendor directory and the crew list: the lists, and the add, edit
// and delete forms. Every form calls the use case the JSON API's POST,
// PATCH and DELETE call (vendors.*, crew.*), which does the role checks
// and writes one audit event; the pages only decide which forms to show.
// Invalid input re-renders the form with the caller's input and the
// message beside the field (422), and nothing is written. A delete is
// confirmed on a page of its own (GET …/delete), so it is confirmed
// without JavaScript too.
//
// The day rate is a cost field: the crew pages of a role without full
// cost access are built from the use case's view without it, their forms
// have no rate field, and an edit whose form carries no rate leaves the
// stored rate as it is (crewPatch never clears a rate it was not asked
// to clear).

func (s directoryPages) register() {
	s.page("GET /vendors", s.vendorsPage)
	s.page("POST /vendors", s.createVendor)
	s.page("GET /vendors/{id}", s.vendorPage)
	s.page("POST /vendors/{id}", s.updateVendor)
	s.page("GET /vendors/{id}/delete", s.confirmDeleteVendor)
	s.page("POST /vendors/{id}/delete", s.deleteVendor)
	s.page("GET /crew", s.crewPage)
	s.page("POST /crew", s.createCrew)
	s.page("GET /crew/{id}", s.memberPage)
	s.page("POST /crew/{id}", s.updateCrew)
	s.page("GET /crew/{id}/delete", s.confirmDeleteCrew)
	s.page("POST /crew/{id}/delete", s.deleteCrew)
}

// vendorForm is a vendor form's fields as typed, and its field errors.
type vendorForm struct {
	Name, Category, PriceBand, LeadTimeDays, OnTimeCount, LateCount, Latitude, Longitude string
	Errors                                                                               map[string]string
}

func vendorFormOf(v rampart.Vendor) vendorForm {
	f := vendorForm{Name: v.Name, Category: string(v.Category), PriceBand: strconv.Itoa(v.PriceBand), LeadTimeDays: strconv.Itoa(v.LeadTimeDays),
		OnTimeCount: strconv.Itoa(v.OnTimeCount), LateCount: strconv.Itoa(v.LateCount)}
	if v.Depot != nil {
		f.Latitude = strconv.FormatFloat(v.Depot.Latitude, 'f', -1, 64)
		f.Longitude = strconv.FormatFloat(v.Depot.Longitude, 'f', -1, 64)
	}
	return f
}

// readVendorForm reads the posted fields (has: which were in the form).
func readVendorForm(v url.Values) (f vendorForm, has map[string]bool) {
	has = map[string]bool{}
	get := func(k string) string {
		_, has[k] = v[k]
		return strings.TrimSpace(v.Get(k))
	}
	f = vendorForm{Name: get("name"), Category: get("category"), PriceBand: get("price_band"), LeadTimeDays: get("lead_time_days"),
		OnTimeCount: get("on_time_count"), LateCount: get("late_count"), Latitude: get("depot_latitude"), Longitude: get("depot_longitude")}
	return f, has
}

// apply sets the fields of v the form carried; a malformed number is a
// field error (nothing is written).
func (f vendorForm) apply(v *rampart.Vendor, has map[string]bool) error {
	const op = "console.vendor"
	if has["name"] {
		v.Name = f.Name
	}
	if has["category"] {
		v.Category = rampart.BOMCategory(f.Category)
	}
	for _, n := range []struct {
		field, text string
		to          *int
	}{{"price_band", f.PriceBand, &v.PriceBand}, {"lead_time_days", f.LeadTimeDays, &v.LeadTimeDays},
		{"on_time_count", f.OnTimeCount, &v.OnTimeCount}, {"late_count", f.LateCount, &v.LateCount}} {
		if !has[n.field] {
			continue
		}
		if n.text == "" && (n.field == "on_time_count" || n.field == "late_count") {
			*n.to = 0
			continue
		}
		x, err := strconv.Atoi(n.text)
		if err != nil || len(n.text) > 9 {
			return rampart.FieldError(op, n.field, "must be a whole number")
		}
		*n.to = x
	}
	if has["depot_latitude"] || has["depot_longitude"] {
		switch {
		case f.Latitude == "" && f.Longitude == "":
			v.Depot = nil
		case f.Latitude == "" || f.Longitude == "":
			return rampart.FieldError(op, "depot", "give both the latitude and the longitude, or neither")
		default:
			lat, err1 := strconv.ParseFloat(f.Latitude, 64)
			lon, err2 := strconv.ParseFloat(f.Longitude, 64)
			if err1 != nil || err2 != nil {
				return rampart.FieldError(op, "depot", "latitude and longitude are decimal degrees such as 51.5072 and -0.1276")
			}
			v.Depot = &rampart.GeoPoint{Latitude: lat, Longitude: lon}
		}
	}
	return nil
}

// formField is the form field an invalid-input error names: its first
// word, up to a ":" or a "." (day_rate.amount → day_rate), when that is
// one of fields ("name: …", "capacity must be …"); else def.
func formField(err error, def string, fields ...string) string {
	msg := strings.TrimSpace(rampart.ErrorMessage(err))
	name := msg[:strings.IndexFunc(msg+" ", func(r rune) bool { return r == ' ' || r == ':' || r == '.' })]
	for _, f := range fields {
		if f == name {
			return f
		}
	}
	return def
}

var vendorFields = []string{"name", "category", "price_band", "lead_time_days", "on_time_count", "late_count", "depot"}

type vendorsData struct {
	Vendors  []rampart.Vendor
	Category string
	CanEdit  bool
	Form     vendorForm
}

// canEditVendors: the add and edit forms are shown (vendors.Create and
// Update check again: full cost access and the edit right).
func canEditVendors(c rampart.Claims) bool {
	return access.HasFullCostAccess(c.Role) && access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindVendor})
}

func (s directoryPages) vendorsPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderVendors(w, r, c, http.StatusOK, vendorForm{PriceBand: "2"})
}

func (s directoryPages) renderVendors(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f vendorForm) error {
	category := r.URL.Query().Get("category")
	vs, err := vendors.List(r.Context(), s.store, c, rampart.BOMCategory(category))
	if err != nil {
		return err
	}
	return s.render(w, r, c, status, "vendors", view{Title: "Vendors", Section: "vendors",
		Data: vendorsData{Vendors: vs, Category: category, CanEdit: canEditVendors(c), Form: f}})
}

// createVendor adds a vendor (vendors.Create, as POST /api/vendors).
func (s directoryPages) createVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f, has := readVendorForm(v)
	var in rampart.Vendor
	err = f.apply(&in, has)
	if err == nil {
		_, err = vendors.Create(r.Context(), s.store, c, in)
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{formField(err, "name", vendorFields...): rampart.ErrorMessage(err)}
		return s.renderVendors(w, r, c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/vendors", "created")
}

type vendorData struct {
	V       rampart.Vendor
	CanEdit bool
	Form    vendorForm
}

// vendorPage is one vendor with its edit form (vendors.Get: another
// organization's vendor is the 404 page).
func (s directoryPages) vendorPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	vd, err := vendors.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	return s.renderVendor(w, r, c, http.StatusOK, vd, vendorFormOf(vd))
}

func (s directoryPages) renderVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, vd rampart.Vendor, f vendorForm) error {
	return s.render(w, r, c, status, "vendor", view{Title: "Vendor · " + vd.Name, Section: "vendors",
		Data: vendorData{V: vd, CanEdit: canEditVendors(c), Form: f}})
}

// updateVendor changes the fields the form carries (vendors.Update, as
// PATCH /api/vendors/{id}). The vendor is read first, so another
// organization's id is the 404 page whatever the form holds.
func (s directoryPages) updateVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	current, err := vendors.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	f, has := readVendorForm(v)
	probe := current
	err = f.apply(&probe, has)
	if err == nil {
		_, err = vendors.Update(r.Context(), s.store, c, id, func(vd *rampart.Vendor) { _ = f.apply(vd, has) })
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{formField(err, "name", vendorFields...): rampart.ErrorMessage(err)}
		return s.renderVendor(w, r, c, http.StatusUnprocessableEntity, current, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/vendors/"+id.String(), "saved")
}

// deleteData is a delete's confirmation page.
type deleteData struct {
	What, Name, Action, Back, Consequence string
}

func (s directoryPages) confirmDeleteVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	vd, err := vendors.Get(r.Context(), s.store, c, id)
	if err != nil {
		return err
	}
	if !canEditVendors(c) {
		return rampart.Errorf("console.vendor", rampart.KindForbidden, "Your role may not remove vendors.")
	}
	return s.render(w, r, c, http.StatusOK, "confirm-delete", view{Title: "Remove " + vd.Name, Section: "vendors",
		Data: deleteData{What: "vendor", Name: vd.Name, Action: "/vendors/" + id.String() + "/delete", Back: "/vendors/" + id.String(),
			Consequence: "The choices of this vendor on proposals are removed with it."}})
}

// deleteVendor removes a vendor (vendors.Delete, as DELETE /api/vendors/{id}).
func (s directoryPages) deleteVendor(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, _ url.Values) (string, string, error) {
		return "/vendors", "deleted", vendors.Delete(r.Context(), s.store, c, id)
	})
}

// crewForm is a crew form's fields as typed, and its field errors. The
// day-rate fields are in the form of roles with full cost access only.
type crewForm struct {
	Name, Skills, Certifications, Availability string
	DayRate, Currency                          string
	Errors                                     map[string]string
}

var crewFields = []string{"name", "skills", "certifications", "availability", "day_rate", "clear_day_rate"}

func crewFormOf(m rampart.CrewMember, rate *rampart.Money) crewForm {
	f := crewForm{Name: m.Name, Skills: strings.Join(m.Skills, ", "), Currency: "EUR"}
	var certs, avail []string
	for _, c := range m.Certifications {
		certs = append(certs, c.Name+" "+string(c.ExpiresOn))
	}
	for _, a := range m.Availability {
		avail = append(avail, string(a.From)+" "+string(a.To))
	}
	f.Certifications, f.Availability = strings.Join(certs, "\n"), strings.Join(avail, "\n")
	if rate != nil {
		f.DayRate, f.Currency = rate.Amount(), rate.Currency
	}
	return f
}

func readCrewForm(v url.Values) crewForm {
	return crewForm{Name: v.Get("name"), Skills: v.Get("skills"), Certifications: v.Get("certifications"), Availability: v.Get("availability"),
		DayRate: strings.TrimSpace(v.Get("day_rate")), Currency: strings.ToUpper(strings.TrimSpace(v.Get("currency")))}
}

// lines are the non-empty lines of a text area.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parseCerts reads one certification a line: its name, then the date it
// expires on ("ipaf 2028-05-31").
func parseCerts(s string) ([]rampart.Certification, error) {
	out := []rampart.Certification{}
	for i, l := range lines(s) {
		name, day, ok := cutLast(l)
		if !ok {
			return nil, rampart.FieldError("console.crew", "certifications", "line %d: a name, then the date it expires on, such as \"ipaf 2028-05-31\"", i+1)
		}
		out = append(out, rampart.Certification{Name: name, ExpiresOn: rampart.Day(day)})
	}
	return out, nil
}

// cutLast splits a line at its last space.
func cutLast(l string) (string, string, bool) {
	i := strings.LastIndexAny(l, " \t")
	if i <= 0 {
		return "", "", false
	}
	return strings.TrimSpace(l[:i]), l[i+1:], true
}

// parseRanges reads one date range a line ("2027-03-01 2027-03-31"; a
// "to" or a dash between the dates is allowed).
func parseRanges(s string) ([]rampart.DateRange, error) {
	out := []rampart.DateRange{}
	for i, l := range lines(s) {
		var days []string
		for _, w := range strings.Fields(l) {
			if w != "to" && w != "–" && w != "-" {
				days = append(days, w)
			}
		}
		if len(days) != 2 {
			return nil, rampart.FieldError("console.crew", "availability", "line %d: two dates, such as \"2027-03-01 2027-03-31\"", i+1)
		}
		out = append(out, rampart.DateRange{From: rampart.Day(days[0]), To: rampart.Day(days[1])})
	}
	return out, nil
}

// member reads the public fields of a crew form.
func (f crewForm) member() (rampart.CrewMember, error) {
	// Skills are comma-separated (a skill may have spaces: "follow spot").
	m := rampart.CrewMember{Name: f.Name, Skills: []string{}}
	for _, sk := range strings.Split(f.Skills, ",") {
		if sk = strings.TrimSpace(sk); sk != "" {
			m.Skills = append(m.Skills, sk)
		}
	}
	var err error
	if m.Certifications, err = parseCerts(f.Certifications); err != nil {
		return m, err
	}
	if m.Availability, err = parseRanges(f.Availability); err != nil {
		return m, err
	}
	return m, nil
}

// rate is the form's day rate: nil when its amount is empty.
func (f crewForm) rate() (*rampart.Money, error) {
	if f.DayRate == "" {
		return nil, nil
	}
	m, err := rampart.ParseMoney("day_rate", f.DayRate, f.Currency)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// crewPatch is the change an edit form asks for. The public fields are
// replaced when the form carries them. The day rate changes only when the
// form asks: a rate typed in (and different from current, the rate the
// caller could read, nil when none or unreadable) sets it, and
// clear_day_rate=1 removes it; a form without rate fields — the form of a
// role without full cost access — never touches the rate, so it cannot
// erase one. The use case refuses a rate change from a role without full
// cost access.
func crewPatch(v url.Values, current *rampart.Money) (crew.Patch, crewForm, error) {
	f := readCrewForm(v)
	var p crew.Patch
	m, err := f.member()
	if err != nil {
		return p, f, err
	}
	if _, ok := v["name"]; ok {
		p.Name = &m.Name
	}
	if _, ok := v["skills"]; ok {
		p.Skills = &m.Skills
	}
	if _, ok := v["certifications"]; ok {
		p.Certifications = &m.Certifications
	}
	if _, ok := v["availability"]; ok {
		p.Availability = &m.Availability
	}
	rate, err := f.rate()
	if err != nil {
		return p, f, err
	}
	if v.Get("clear_day_rate") == "1" {
		if rate != nil {
			return p, f, rampart.FieldError("console.crew", "day_rate", "leave the day rate empty to remove it")
		}
		p.ClearDayRate = true
	} else if rate != nil && (current == nil || *rate != *current) {
		p.DayRate = rate
	}
	return p, f, nil
}

// crewRow is a crew member as the caller may see them: DayRate is nil
// for roles without full cost access (their list has no rate at all).
type crewRow struct {
	rampart.CrewMember
	DayRate *rampart.Money
	Costed  bool
}

type crewData struct {
	Crew       []crewRow
	CostAccess bool
	CanEdit    bool
	Form       crewForm
}

// canEditCrew: the add and edit forms are shown (crew.Create and Update
// check again).
func canEditCrew(c rampart.Claims) bool {
	return access.Can(c, access.ActionEdit, access.Resource{Kind: access.KindCrew})
}

func (s directoryPages) crewPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return s.renderCrew(w, r, c, http.StatusOK, crewForm{Currency: "EUR"})
}

func (s directoryPages) renderCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, f crewForm) error {
	out, err := crew.List(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	d := crewData{CostAccess: crew.CostAccess(c), CanEdit: canEditCrew(c), Form: f}
	switch l := out.(type) {
	case []rampart.CostedCrewMember:
		for _, m := range l {
			d.Crew = append(d.Crew, crewRow{CrewMember: m.CrewMember, DayRate: m.DayRate, Costed: true})
		}
	case []rampart.CrewMember:
		for _, m := range l {
			d.Crew = append(d.Crew, crewRow{CrewMember: m})
		}
	}
	return s.render(w, r, c, status, "crew", view{Title: "Crew", Section: "crew", Data: d})
}

// createCrew adds a crew member (crew.Create, as POST /api/crew); the rate
// only from a role with full cost access (the use case refuses others).
func (s directoryPages) createCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	v, err := form(w, r)
	if err != nil {
		return err
	}
	f := readCrewForm(v)
	m, err := f.member()
	var rate *rampart.Money
	if err == nil {
		rate, err = f.rate()
	}
	if err == nil {
		_, err = crew.Create(r.Context(), s.store, c, m, rate)
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{formField(err, "name", crewFields...): rampart.ErrorMessage(err)}
		return s.renderCrew(w, r, c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/crew", "created")
}

type memberData struct {
	M          crewRow
	CostAccess bool
	CanEdit    bool
	Form       crewForm
}

func (s directoryPages) readMember(r *http.Request, c rampart.Claims) (uuid.UUID, crew.Member, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return id, crew.Member{}, err
	}
	m, err := crew.Get(r.Context(), s.store, c, id)
	return id, m, err
}

func rowOf(m crew.Member) crewRow {
	if m.Costed != nil {
		return crewRow{CrewMember: m.Costed.CrewMember, DayRate: m.Costed.DayRate, Costed: true}
	}
	return crewRow{CrewMember: *m.Public}
}

// memberPage is one crew member with the edit form (crew.Get: another
// organization's member is the 404 page).
func (s directoryPages) memberPage(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	_, m, err := s.readMember(r, c)
	if err != nil {
		return err
	}
	row := rowOf(m)
	return s.renderMember(w, r, c, http.StatusOK, row, crewFormOf(row.CrewMember, row.DayRate))
}

func (s directoryPages) renderMember(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, row crewRow, f crewForm) error {
	if !row.Costed {
		f.DayRate, f.Currency = "", "" // never in the page of a role without full cost access
	}
	return s.render(w, r, c, status, "crew-member", view{Title: "Crew · " + row.Name, Section: "crew",
		Data: memberData{M: row, CostAccess: row.Costed, CanEdit: canEditCrew(c), Form: f}})
}

// updateCrew changes a crew member (crew.Update, as PATCH /api/crew/{id})
// with the patch crewPatch builds. The member is read first, so another
// organization's id is the 404 page whatever the form holds.
func (s directoryPages) updateCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, m, err := s.readMember(r, c)
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	row := rowOf(m)
	p, f, err := crewPatch(v, row.DayRate)
	if err == nil {
		_, err = crew.Update(r.Context(), s.store, c, id, p)
	}
	if rampart.ErrorKind(err) == rampart.KindInvalid {
		f.Errors = map[string]string{formField(err, "name", crewFields...): rampart.ErrorMessage(err)}
		return s.renderMember(w, r, c, http.StatusUnprocessableEntity, row, f)
	}
	if err != nil {
		return err
	}
	return done(w, r, "/crew/"+id.String(), "saved")
}

func (s directoryPages) confirmDeleteCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	id, m, err := s.readMember(r, c)
	if err != nil {
		return err
	}
	if !canEditCrew(c) {
		return rampart.Errorf("console.crew", rampart.KindForbidden, "Your role may not remove crew members.")
	}
	name := rowOf(m).Name
	return s.render(w, r, c, http.StatusOK, "confirm-delete", view{Title: "Remove " + name, Section: "crew",
		Data: deleteData{What: "crew member", Name: name, Action: "/crew/" + id.String() + "/delete", Back: "/crew/" + id.String(),
			Consequence: "Their assignments to proposals are removed with them."}})
}

// deleteCrew removes a crew member (crew.Delete, as DELETE /api/crew/{id}).
func (s directoryPages) deleteCrew(w http.ResponseWriter, r *http.Request, c rampart.Claims) error {
	return action(w, r, func(id uuid.UUID, _ url.Values) (string, string, error) {
		return "/crew", "deleted", crew.Delete(r.Context(), s.store, c, id)
	})
}
