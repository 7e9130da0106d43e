package rampart

import (
	"strings"

	"github.com/google/uuid"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// SlugFrom derives an organization slug from a name: lower-case ASCII
// letters and digits, other runs of characters as one '-', accents
// dropped ("Zürich Événements" → "zurich-evenements"), at most 40
// characters; "org" when nothing is left, and "org-…" when the result
// would read as an id (a UUID). The result always passes
// ValidateOrganization's slug rule.
func SlugFrom(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(strings.ToLower(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r): // a combining accent
		default:
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if len(s) < 2 {
		return "org"
	}
	if _, err := uuid.Parse(s); err == nil {
		// A name that reads as an id would give a slug that does too.
		return "org-" + strings.TrimRight(s[:30], "-")
	}
	return s
}
