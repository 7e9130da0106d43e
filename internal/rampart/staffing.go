package rampart

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Vendors and crew (issue 15 items 4 and 5). A vendor is a company the
// organization sources from; a crew member is a person it staffs events
// with. The rankers score both and return the signals that produced each
// score. Choice types (VendorChoice, CrewAssignment) are plain structs so
// an agent proposal can store them as JSON until a person approves them.

// Vendor is a company in the organization's vendor directory. The depot
// coordinates are used only to compute a distance to a venue.
type Vendor struct {
	OrganizationID uuid.UUID   `json:"organization_id"`
	ID             uuid.UUID   `json:"id"`
	Name           string      `json:"name"`
	Category       BOMCategory `json:"category"`
	// PriceBand is 1 (budget) to 4 (premium).
	PriceBand    int       `json:"price_band"`
	LeadTimeDays int       `json:"lead_time_days"`
	OnTimeCount  int       `json:"on_time_count"`
	LateCount    int       `json:"late_count"`
	Depot        *GeoPoint `json:"depot,omitempty"`
	CreatedBy    uuid.UUID `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// GeoPoint is a latitude and longitude in degrees.
type GeoPoint struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Valid reports whether p is a point on the globe.
func (p GeoPoint) Valid() bool {
	return p.Latitude >= -90 && p.Latitude <= 90 && p.Longitude >= -180 && p.Longitude <= 180 &&
		!math.IsNaN(p.Latitude) && !math.IsNaN(p.Longitude)
}

// DistanceKm is the great-circle (haversine) distance from p to q.
func (p GeoPoint) DistanceKm(q GeoPoint) float64 {
	const earthKm = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (q.Latitude-p.Latitude)*rad, (q.Longitude-p.Longitude)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(p.Latitude*rad)*math.Cos(q.Latitude*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Bounds of the vendor and crew fields (the database's CHECKs hold them too).
const (
	MaxPriceBand        = 4
	MaxVendorLeadDays   = 365
	MaxDeliveryCount    = 1_000_000
	MaxCrewSkills       = 50
	MaxCrewCerts        = 50
	MaxCrewAvailability = 100
	MaxAssignmentDays   = 366
	// MaxDayRateMinor bounds a day rate: 10^10 minor units.
	MaxDayRateMinor = 10_000_000_000
)

// ValidateVendor checks a vendor's fields before the database does.
func ValidateVendor(v Vendor) error {
	const op = "rampart.Vendor"
	if err := validText(op, "name", v.Name, 200, false); err != nil {
		return err
	}
	if !v.Category.Valid() {
		return categoryError(op, "category")
	}
	if v.PriceBand < 1 || v.PriceBand > MaxPriceBand {
		return FieldError(op, "price_band", "must be from 1 (budget) to 4 (premium)")
	}
	if v.LeadTimeDays < 0 || v.LeadTimeDays > MaxVendorLeadDays {
		return FieldError(op, "lead_time_days", "must be from 0 to %d", MaxVendorLeadDays)
	}
	if v.OnTimeCount < 0 || v.OnTimeCount > MaxDeliveryCount {
		return FieldError(op, "on_time_count", "must be from 0 to %d", MaxDeliveryCount)
	}
	if v.LateCount < 0 || v.LateCount > MaxDeliveryCount {
		return FieldError(op, "late_count", "must be from 0 to %d", MaxDeliveryCount)
	}
	if v.Depot != nil && !v.Depot.Valid() {
		return FieldError(op, "depot", "latitude must be from -90 to 90 and longitude from -180 to 180")
	}
	return nil
}

func categoryError(op, field string) error {
	names := make([]string, len(BOMCategories))
	for i, c := range BOMCategories {
		names[i] = string(c)
	}
	return FieldError(op, field, "must be one of %s", strings.Join(names, ", "))
}

// Day is a calendar date, "YYYY-MM-DD".
type Day string

// Time parses d; ok is false when d is not a valid date.
func (d Day) Time() (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, string(d))
	return t, err == nil && len(d) == 10
}

// DateRange is an inclusive range of days.
type DateRange struct {
	From Day `json:"from"`
	To   Day `json:"to"`
}

// Days is the number of days the range covers (0 for an invalid range).
func (r DateRange) Days() int {
	f, ok1 := r.From.Time()
	t, ok2 := r.To.Time()
	if !ok1 || !ok2 || t.Before(f) {
		return 0
	}
	return int(t.Sub(f).Hours()/24) + 1
}

// ValidateDateRange checks a range: both dates valid, to not before from,
// at most MaxAssignmentDays long.
func ValidateDateRange(op, field string, r DateRange) error {
	f, ok := r.From.Time()
	if !ok {
		return FieldError(op, field+".from", "must be a date such as 2027-03-14")
	}
	t, ok := r.To.Time()
	if !ok {
		return FieldError(op, field+".to", "must be a date such as 2027-03-16")
	}
	if t.Before(f) {
		return FieldError(op, field+".to", "must not be before from")
	}
	if r.Days() > MaxAssignmentDays {
		return FieldError(op, field, "must span at most %d days", MaxAssignmentDays)
	}
	return nil
}

// Certification is a crew member's certificate and the last day it is valid.
type Certification struct {
	Name      string `json:"name"`
	ExpiresOn Day    `json:"expires_on"`
}

// CrewMember is a person the organization staffs events with, as every
// member of the organization may see them: no day rate (CostedCrewMember
// adds it, for roles with full cost access only). Staffing holds no
// worker-monitoring data: no location, GPS, screenshots, keystrokes or
// productivity scores.
type CrewMember struct {
	OrganizationID uuid.UUID       `json:"organization_id"`
	ID             uuid.UUID       `json:"id"`
	Name           string          `json:"name"`
	Skills         []string        `json:"skills"`
	Certifications []Certification `json:"certifications"`
	Availability   []DateRange     `json:"availability"`
	CreatedBy      uuid.UUID       `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// CostedCrewMember is a crew member with their day rate. DayRateError says
// why a rate that exists could not be decrypted (the rate is then nil).
type CostedCrewMember struct {
	CrewMember
	DayRate      *Money `json:"day_rate,omitempty"`
	DayRateError string `json:"day_rate_error,omitempty"`
}

// NormalizeSkill is the form skills are stored and matched in: trimmed,
// lower case, inner spaces collapsed.
func NormalizeSkill(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// ValidateCrewMember checks a crew member's public fields and normalises
// the skills (sorted, without duplicates).
func ValidateCrewMember(m *CrewMember) error {
	const op = "rampart.CrewMember"
	if err := validText(op, "name", m.Name, 200, false); err != nil {
		return err
	}
	if len(m.Skills) > MaxCrewSkills {
		return FieldError(op, "skills", "at most %d skills", MaxCrewSkills)
	}
	skills := make([]string, 0, len(m.Skills))
	for _, s := range m.Skills {
		if err := validText(op, "skills", s, 60, false); err != nil {
			return err
		}
		skills = append(skills, NormalizeSkill(s))
	}
	slices.Sort(skills)
	m.Skills = slices.Compact(skills)
	if len(m.Certifications) > MaxCrewCerts {
		return FieldError(op, "certifications", "at most %d certifications", MaxCrewCerts)
	}
	for i := range m.Certifications {
		c := &m.Certifications[i]
		if err := validText(op, "certifications.name", c.Name, 100, false); err != nil {
			return err
		}
		c.Name = NormalizeSkill(c.Name)
		if _, ok := c.ExpiresOn.Time(); !ok {
			return FieldError(op, "certifications.expires_on", "must be a date such as 2028-01-31")
		}
	}
	if len(m.Availability) > MaxCrewAvailability {
		return FieldError(op, "availability", "at most %d date ranges", MaxCrewAvailability)
	}
	for _, r := range m.Availability {
		if err := ValidateDateRange(op, "availability", r); err != nil {
			return err
		}
	}
	if m.Skills == nil {
		m.Skills = []string{}
	}
	if m.Certifications == nil {
		m.Certifications = []Certification{}
	}
	if m.Availability == nil {
		m.Availability = []DateRange{}
	}
	return nil
}

// ValidateDayRate checks a day rate: a known currency, 0 to MaxDayRateMinor.
func ValidateDayRate(m *Money) error {
	const op = "rampart.CrewMember"
	if m == nil {
		return nil
	}
	if !ValidCurrency(m.Currency) {
		return FieldError(op, "day_rate.currency", "%q is not an ISO 4217 currency code", m.Currency)
	}
	if m.Minor < 0 || m.Minor > MaxDayRateMinor {
		return FieldError(op, "day_rate.amount", "must be from 0 to %s", Money{MaxDayRateMinor, m.Currency}.Amount())
	}
	return nil
}

// Signal is one feature of a ranked candidate: its raw value (a number, a
// text or null when unknown), the value normalised to 0..1 (1 is best),
// the weight it had and its contribution (normalised × weight). A
// candidate's score is the sum of its signals' contributions.
type Signal struct {
	Name         string  `json:"name"`
	Raw          any     `json:"raw"`
	Normalized   float64 `json:"normalized"`
	Weight       float64 `json:"weight"`
	Contribution float64 `json:"contribution"`
	// Note explains a neutral value (e.g. no coordinates to measure from).
	Note string `json:"note,omitempty"`
}

// VendorChoice is a person's (or, once approved, an agent's) choice of a
// vendor for one category of a proposal. Applying it replaces the
// proposal's earlier choice for the category.
type VendorChoice struct {
	ProposalID uuid.UUID   `json:"proposal_id"`
	Category   BOMCategory `json:"category"`
	VendorID   uuid.UUID   `json:"vendor_id"`
}

// Validate checks the choice's fields.
func (c VendorChoice) Validate() error {
	const op = "rampart.VendorChoice"
	if c.ProposalID == uuid.Nil {
		return FieldError(op, "proposal_id", "is required")
	}
	if !c.Category.Valid() {
		return categoryError(op, "category")
	}
	if c.VendorID == uuid.Nil {
		return FieldError(op, "vendor_id", "is required")
	}
	return nil
}

// CrewMatchRequest is what the crew_matcher matches crew against: skills
// and certifications wanted, and the dates of the work (optional).
type CrewMatchRequest struct {
	Skills         []string   `json:"skills"`
	Certifications []string   `json:"certifications"`
	Dates          *DateRange `json:"dates,omitempty"`
}

// MaxMatchTerms bounds the skills and the certifications of a request.
const MaxMatchTerms = 20

// Normalize validates the request and normalises its skills and
// certifications (NormalizeSkill, sorted, without duplicates).
func (r *CrewMatchRequest) Normalize() error {
	const op = "rampart.CrewMatchRequest"
	for _, f := range []struct {
		name string
		list *[]string
	}{{"skills", &r.Skills}, {"certifications", &r.Certifications}} {
		if len(*f.list) > MaxMatchTerms {
			return FieldError(op, f.name, "at most %d", MaxMatchTerms)
		}
		out := make([]string, 0, len(*f.list))
		for _, s := range *f.list {
			if err := validText(op, f.name, s, 60, false); err != nil {
				return err
			}
			out = append(out, NormalizeSkill(s))
		}
		slices.Sort(out)
		*f.list = slices.Compact(out)
	}
	if r.Dates != nil {
		return ValidateDateRange(op, "dates", *r.Dates)
	}
	return nil
}

// CrewAssignment assigns a crew member to a proposal for a date range.
// Request, when set, is the match request the assignment was chosen from:
// the crew_matcher then learns from it.
type CrewAssignment struct {
	ProposalID   uuid.UUID         `json:"proposal_id"`
	CrewMemberID uuid.UUID         `json:"crew_member_id"`
	Dates        DateRange         `json:"dates"`
	Request      *CrewMatchRequest `json:"request,omitempty"`
}

// Validate checks the assignment's fields.
func (a CrewAssignment) Validate() error {
	const op = "rampart.CrewAssignment"
	if a.ProposalID == uuid.Nil {
		return FieldError(op, "proposal_id", "is required")
	}
	if a.CrewMemberID == uuid.Nil {
		return FieldError(op, "crew_member_id", "is required")
	}
	return ValidateDateRange(op, "dates", a.Dates)
}

// VendorChoiceRecord is a stored vendor choice.
type VendorChoiceRecord struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	VendorChoice
	VendorName string    `json:"vendor_name"`
	ChosenBy   uuid.UUID `json:"chosen_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CrewAssignmentRecord is a stored crew assignment.
type CrewAssignmentRecord struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	ID             uuid.UUID `json:"id"`
	CrewAssignment
	CrewMemberName string    `json:"crew_member_name"`
	AssignedBy     uuid.UUID `json:"assigned_by"`
	CreatedAt      time.Time `json:"created_at"`
}
