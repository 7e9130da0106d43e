package attachment

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		typ  Type
		want string
	}{
		{"rider.pdf", PDF, "rider.pdf"},
		{"Rider.PDF", PDF, "Rider.pdf"},
		{"../../etc/passwd", Text, "passwd.txt"},
		{`C:\Users\eve\Desktop\quote.pdf`, PDF, "quote.pdf"},
		{"／etc／shadow.txt", Text, "shadow.txt"},         // full-width solidus (NFKC)
		{"invoice\u202Efdp.exe", PDF, "invoicefdp.pdf"}, // right-to-left override
		{"a\u200bb\u0000c\x07d.png", PNG, "abcd.png"},   // zero-width space, NUL, BEL
		{"what<is>this:\"file\"|?*.csv", CSV, "what_is_this__file____.csv"},
		{"   .hidden.txt  ", Text, "hidden.txt"},
		{"trailing dots....", Text, "trailing dots.txt"},
		{"tabs\tand\nnew  lines.txt", Text, "tabs and new lines.txt"},
		{"CON.txt", Text, "_CON.txt"},
		{"nul", Text, "_nul.txt"},
		{"rider.exe", PDF, "rider.pdf"},
		{"rider.pdf.exe", PDF, "rider.pdf.pdf"},
		{"photo.jpeg", JPEG, "photo.jpeg"},
		{"photo.png", JPEG, "photo.jpg"},
		{"Final version 2.0 rider", PDF, "Final version 2.0 rider.pdf"},
		{"", PNG, "attachment.png"},
		{"\u202E\u200b", Text, "attachment.txt"},
		{"..", Text, "attachment.txt"},
		{"Scène café – plan.pdf", PDF, "Scène café – plan.pdf"},
		{"bad\xffutf8.txt", Text, "badutf8.txt"},
	} {
		if got := SanitizeName(tc.in, tc.typ); got != tc.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := SanitizeName(strings.Repeat("é", 300)+".pdf", PDF)
	if len(long) > MaxNameBytes || !strings.HasSuffix(long, ".pdf") || !utf8.ValidString(long) {
		t.Errorf("long name: %d bytes, %q", len(long), long[len(long)-10:])
	}
}

// FuzzSanitizeName: whatever the input, the name is valid UTF-8 within
// the cap, has no path, control, format or reserved character, does not
// start or end with a dot or space, and ends in an extension of its type
// (what the attachments table's CHECK demands too).
func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"rider.pdf", "../../x", "a\u202Eb", "CON", " . ", strings.Repeat("x", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, typ := range Allowed {
			n := SanitizeName(in, typ)
			if !utf8.ValidString(n) || len(n) > MaxNameBytes || n == "" {
				t.Fatalf("%q → %q", in, n)
			}
			if strings.ContainsAny(n, "/\\<>:\"|?*\x00\x7f") || strings.IndexFunc(n, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }) >= 0 {
				t.Fatalf("%q → %q has a forbidden character", in, n)
			}
			if strings.HasPrefix(n, ".") || strings.HasPrefix(n, " ") {
				t.Fatalf("%q → %q starts with a dot or space", in, n)
			}
			ok := false
			for _, e := range typ.Extensions {
				ok = ok || strings.HasSuffix(n, e)
			}
			if !ok {
				t.Fatalf("%q → %q does not end in an extension of %s", in, n, typ.MediaType)
			}
		}
	})
}
