package rampart

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidateOrganization checks a new organization's name and slug.
func ValidateOrganization(name, slug string) error {
	const op = "rampart.Organization"
	if err := validateName(op, "name", name); err != nil {
		return err
	}
	if !slugRE.MatchString(slug) {
		return Errorf(op, KindInvalid, "slug %q must be 2 to 63 lower-case letters, digits or '-', starting with a letter or digit", slug)
	}
	if _, err := uuid.Parse(slug); err == nil {
		// Operators name organizations by id or slug (--org): a slug that
		// is a UUID could pass for another organization's id.
		return Errorf(op, KindInvalid, "slug %q must not have the form of an id (a UUID)", slug)
	}
	return nil
}

// NormalizeEmail lower-cases and checks an address: one plain addr-spec,
// no display name, at most 254 bytes.
func NormalizeEmail(s string) (string, error) {
	const op = "rampart.Email"
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || a.Name != "" {
		return "", Errorf(op, KindInvalid, "email must be a plain address like name@example.com")
	}
	return s, nil
}

// ValidateVenue checks a venue's fields before the database does.
func ValidateVenue(v Venue) error {
	const op = "rampart.Venue"
	if !ValidVenueCode(v.Code) {
		return Errorf(op, KindInvalid, "code %q must be 1 to 32 upper-case letters, digits, '-' or '_'", v.Code)
	}
	if err := validateName(op, "name", v.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(v.City) > 200 || !utf8.ValidString(v.City) {
		return Errorf(op, KindInvalid, "city must be valid UTF-8 of at most 200 characters")
	}
	if v.Capacity != nil && (*v.Capacity < 1 || *v.Capacity > 1_000_000) {
		return Errorf(op, KindInvalid, "capacity must be between 1 and 1000000")
	}
	if v.Location != nil && !v.Location.Valid() {
		return FieldError(op, "location", "latitude must be from -90 to 90 and longitude from -180 to 180")
	}
	return nil
}

func validateName(op, field, s string) error {
	if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) || utf8.RuneCountInString(s) > 200 {
		return Errorf(op, KindInvalid, "%s must be 1 to 200 characters of valid UTF-8 without NUL", field)
	}
	return nil
}
