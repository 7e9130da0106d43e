package rampart

import (
	"strings"
	"testing"
)

func TestSlugFrom(t *testing.T) {
	for in, want := range map[string]string{
		"Acme Events":                          "acme-events",
		"Zürich Événements":                    "zurich-evenements",
		"  --Hello,  World!!  ":                "hello-world",
		"日本":                                   "org",
		"A":                                    "org",
		"x" + strings.Repeat("y", 80):          "x" + strings.Repeat("y", 39),
		"Rock & Roll 2027":                     "rock-roll-2027",
		"6F1C2B1E-2D7A-4C53-9B0E-6A1F3F5D2C11": "org-6f1c2b1e-2d7a-4c53-9b0e-6a1f3f",
	} {
		got := SlugFrom(in)
		if got != want {
			t.Errorf("SlugFrom(%q) = %q, want %q", in, got, want)
		}
		if err := ValidateOrganization("Name", got); err != nil {
			t.Errorf("SlugFrom(%q) = %q fails validation: %v", in, got, err)
		}
	}
}
