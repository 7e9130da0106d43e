package rampart

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestValidateBranding: colours are exactly #rrggbb (CSS that would
// break out of a custom property is refused), names are plain text of at
// most 100 characters, and a logo is PNG or JPEG by its content within the
// cap, whatever type it claims.
func TestValidateBranding(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), 0)
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0}
	for _, tc := range []struct {
		name  string
		b     Branding
		field string // "" = valid
	}{
		{"empty", Branding{}, ""},
		{"colours", Branding{Primary: " #1A2B3C ", Accent: "#000000"}, ""},
		{"pale primary", Branding{Primary: "#a1b2c3"}, "primary"},
		{"white accent", Branding{Accent: "#ffffff"}, "accent"},
		{"pure red is 4.0:1", Branding{Accent: "#ff0000"}, "accent"},
		{"just enough", Branding{Accent: "#767676"}, ""},
		{"png", Branding{Logo: png, LogoType: "image/png"}, ""},
		{"jpeg", Branding{Logo: jpeg, LogoType: "image/jpeg"}, ""},
		{"css break-out", Branding{Primary: "#000;}body{display:none"}, "primary"},
		{"named colour", Branding{Accent: "red"}, "accent"},
		{"short hex", Branding{Primary: "#fff"}, "primary"},
		{"url()", Branding{Accent: "url(x)"}, "accent"},
		{"long name", Branding{DisplayName: strings.Repeat("é", 101)}, "display_name"},
		{"bidi override", Branding{DisplayName: "Acme\u202eevil"}, "display_name"},
		{"newline", Branding{DisplayName: "Acme\nEvents"}, "display_name"},
		{"svg as png", Branding{Logo: []byte("<svg/>"), LogoType: "image/png"}, "logo"},
		{"jpeg claimed png", Branding{Logo: jpeg, LogoType: "image/png"}, "logo"},
		{"too large", Branding{Logo: append(append([]byte{}, png...), bytes.Repeat([]byte{0}, MaxLogoBytes)...), LogoType: "image/png"}, "logo"},
	} {
		b := tc.b
		err := ValidateBranding(&b)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (err == nil || !strings.HasPrefix(ErrorMessage(err), tc.field)):
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.field)
		}
	}
	b := Branding{Primary: " #1A2B3C "}
	if err := ValidateBranding(&b); err != nil || b.Primary != "#1a2b3c" {
		t.Errorf("normalised colour %q (%v)", b.Primary, err)
	}
}

// TestContrastWithWhite: the WCAG ratios of known colours.
func TestContrastWithWhite(t *testing.T) {
	for hex, want := range map[string]float64{"#000000": 21, "#ffffff": 1, "#767676": 4.54, "#ff0000": 4.0, "#1f4aa8": 8.07, "#FF0000": 4.0, "": 1, "#12": 1, "red": 1} {
		if got := ContrastWithWhite(hex); math.Abs(got-want) > 0.01 {
			t.Errorf("%s: %.3f, want %.2f", hex, got, want)
		}
	}
}
