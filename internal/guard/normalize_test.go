package guard

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Stage 12x8m", "Stage 12x8m"},
		{"control characters", "a\x00b\x07c\x1bd\x7fe\u0085f\u009bg", "abcde\nfg"},
		{"line endings", "one\r\ntwo\rthree\nfour", "one\ntwo\nthree\nfour"},
		{"tab kept", "col1\tcol2", "col1\tcol2"},
		{"line and paragraph separators", "a\u2028b\u2029c\vd\fe", "a\nb\nc\nd\ne"},
		{"zero-width", "a\u200bb\u200cc\u200dd\u2060e\ufefff\u180eg\u00adh\u034fi", "abcdefghi"},
		{"bidi controls", "\u202aa\u202bb\u202cc\u202dd\u202ee\u2066f\u2067g\u2068h\u2069i\u200ej\u200fk\u061cl", "abcdefghijkl"},
		{"tag characters", "hi\U000E0049\U000E0047\U000E004E\U000E007F!", "hi!"},
		{"variation selectors and fillers", "ok\ufe0f\U000E0100 \u3164\u115f\u2800x", "ok x"},
		{"nfkc fullwidth", "ＩＧＮＯＲＥ ｉｎｓｔｒｕｃｔｉｏｎｓ", "IGNORE instructions"},
		{"nfkc ligature and compat", "ﬁle ① Ⅻ Å ｶ ㎏", "file 1 XII Å カ kg"},
		{"nfkc brackets", "＜system＞ ﹤x﹥", "<system> <x>"},
		{"invalid utf-8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"blank lines collapsed", "a\n\n\n\n\n\nb\n \t\n\n\nc", "a\n\n\nb\n\n\nc"},
		{"two blank lines kept", "a\n\n\nb", "a\n\n\nb"},
		{"trailing spaces and outer blank lines", "\n\n  \nfirst  \t\nsecond   \n\n", "first\nsecond"},
		{"decomposed accents compose", "Cafe\u0301", "Café"},
		{"zero-width blocking composition", "e\u200b\u0301", "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, cut := normalize(tt.in, DefaultMaxRunes)
			if got != tt.want || cut {
				t.Errorf("normalize(%q) = %q, %v; want %q, false", tt.in, got, cut, tt.want)
			}
		})
	}
}

func TestNormalizeLeavesNoInvisibles(t *testing.T) {
	t.Parallel()
	// Every format character in Unicode, plus the extra invisibles.
	var b strings.Builder
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || invisible(r) {
			b.WriteString("x")
			b.WriteRune(r)
		}
	}
	got, _ := normalize(b.String(), MaxMaxRunes)
	for _, r := range got {
		if r != 'x' && r != '\n' && r != '\t' {
			t.Fatalf("normalize left %U", r)
		}
	}
}

func TestTruncation(t *testing.T) {
	t.Parallel()
	g, err := New(Options{MaxRunes: 10})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    string
		cut     bool
		maxRune int
	}{
		{"exactly the cap", "αβγδεζηθικ", "αβγδεζηθικ", false, 10},
		{"over the cap", "αβγδεζηθικλμ", "αβγδεζηθικ", true, 10},
		{"cap counts normalised runes", "a\u200bb\u200bc\u200bd\u200be\u200bf\u200bg\u200bh\u200bi\u200bj", "abcdefghij", false, 10},
		{"huge input is cut before normalising", strings.Repeat("a", 10<<20), strings.Repeat("a", 10), true, 10},
		{"cut inside a multi-byte rune", strings.Repeat("€", 1000), strings.Repeat("€", 10), true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, v := g.Inspect("brief", tt.in)
			if got := content(t, text); got != tt.want || v.Truncated != tt.cut {
				t.Errorf("content %q (truncated %v), want %q (truncated %v)", got, v.Truncated, tt.want, tt.cut)
			}
		})
	}
}

// content returns the content of a fenced Text, checking the fence.
func content(t *testing.T, text Text) string {
	t.Helper()
	f := text.Fenced()
	head := FenceOpen + text.Label() + "\">\n"
	tail := "\n" + FenceClose
	if !strings.HasPrefix(f, head) || !strings.HasSuffix(f, tail) || len(f) < len(head)+len(tail) {
		t.Fatalf("Fenced() = %q: not one fence around the content", f)
	}
	if !utf8.ValidString(f) {
		t.Fatalf("Fenced() is not valid UTF-8: %q", f)
	}
	return f[len(head) : len(f)-len(tail)]
}
