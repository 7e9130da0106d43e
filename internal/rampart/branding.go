package rampart

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLogoBytes caps an organization's logo (it is stored in the
// organization's row and served on every page's header).
const MaxLogoBytes = 48 << 10

// Branding is an organization's override of the console's look: a
// display name, two colours and a logo. Every field is optional; the
// zero value is Rampart's own look. It is applied to that organization's
// pages only.
type Branding struct {
	// DisplayName replaces the organization's name in the console header.
	DisplayName string `json:"display_name,omitempty"`
	// Primary is the header colour and Accent the buttons' and links',
	// each "#rrggbb".
	Primary string `json:"primary,omitempty"`
	Accent  string `json:"accent,omitempty"`
	// LogoType is image/png or image/jpeg, set with Logo.
	LogoType string `json:"logo_type,omitempty"`
	Logo     []byte `json:"logo,omitempty"`
}

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LogoTypeOf is the type of a logo by its content (PNG or JPEG; "" for
// anything else, whatever the file is called).
func LogoTypeOf(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	}
	return ""
}

// LogoVersion is a short hash of the logo (its URL's cache key); "" with
// no logo.
func (b Branding) LogoVersion() string {
	if len(b.Logo) == 0 {
		return ""
	}
	s := sha256.Sum256(b.Logo)
	return hex.EncodeToString(s[:8])
}

// Public is what the audit log keeps of a branding: the logo by its hash
// and size, never its bytes.
func (b Branding) Public() map[string]any {
	out := map[string]any{"display_name": b.DisplayName, "primary": b.Primary, "accent": b.Accent}
	if len(b.Logo) > 0 {
		s := sha256.Sum256(b.Logo)
		out["logo_sha256"], out["logo_bytes"], out["logo_type"] = hex.EncodeToString(s[:]), len(b.Logo), b.LogoType
	}
	return out
}

// ValidateBranding normalises and checks a branding: a display name of at
// most 100 characters without control or format characters (no
// bidirectional overrides), colours exactly
// "#rrggbb" (lower-cased), a logo of at most MaxLogoBytes whose content
// is PNG or JPEG and matches LogoType.
func ValidateBranding(b *Branding) error {
	const op = "rampart.ValidateBranding"
	b.DisplayName = strings.TrimSpace(b.DisplayName)
	if !utf8.ValidString(b.DisplayName) || utf8.RuneCountInString(b.DisplayName) > 100 ||
		strings.IndexFunc(b.DisplayName, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
		return FieldError(op, "display_name", "must be at most 100 characters of text")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"primary", &b.Primary}, {"accent", &b.Accent}} {
		*f.v = strings.ToLower(strings.TrimSpace(*f.v))
		if *f.v != "" && !hexColour.MatchString(*f.v) {
			return FieldError(op, f.name, "must be a colour as #rrggbb (six hexadecimal digits)")
		}
		if *f.v != "" {
			if c := ContrastWithWhite(*f.v); c < MinContrast {
				return FieldError(op, f.name, "must contrast at least %.1f:1 with white (the header's and buttons' text is white on it, and links are this colour on white); %s gives %.2f:1: choose a darker shade", MinContrast, *f.v, c)
			}
		}
	}
	switch {
	case len(b.Logo) == 0:
		b.LogoType = ""
	case len(b.Logo) > MaxLogoBytes:
		return FieldError(op, "logo", "must be at most %d bytes", MaxLogoBytes)
	case LogoTypeOf(b.Logo) == "" || LogoTypeOf(b.Logo) != b.LogoType:
		return FieldError(op, "logo", "must be a PNG or JPEG image")
	}
	return nil
}

// MinContrast is the least contrast ratio a brand colour must have with
// white: WCAG 2.1 level AA for normal text (success criterion 1.4.3). The
// console draws white text on both colours (the header on primary, button
// labels on accent) and accent text (links) on white, so one ratio covers
// every use.
const MinContrast = 4.5

// ContrastWithWhite is the WCAG contrast ratio, from 1 to 21, between a
// "#rrggbb" colour and white; anything else has no contrast (1).
func ContrastWithWhite(hex string) float64 {
	if !hexColour.MatchString(hex) {
		return 1
	}
	var rgb [3]float64
	for i := range rgb {
		var v uint64
		for _, c := range hex[1+2*i : 3+2*i] {
			v *= 16
			switch {
			case c >= '0' && c <= '9':
				v += uint64(c - '0')
			case c >= 'a' && c <= 'f':
				v += uint64(c-'a') + 10
			case c >= 'A' && c <= 'F':
				v += uint64(c-'A') + 10
			}
		}
		// sRGB to linear light, as WCAG defines relative luminance.
		s := float64(v) / 255
		if s <= 0.04045 {
			rgb[i] = s / 12.92
		} else {
			rgb[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	l := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	return 1.05 / (l + 0.05)
}

// ValidSlug reports whether s has the form of an organization's slug.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }
