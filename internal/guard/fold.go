package guard

import (
	"unicode"
	"unicode/utf8"
)

// The scanner reads two derived forms of the normalised text; neither is
// ever shown or passed on.
//
//   - plain: lower case, look-alike letters folded to Latin (Cyrillic "і"
//     and Greek "ο" read as "i" and "o"), runs of spaces and tabs collapsed
//     to one space. Most rules run here.
//   - squashed: plain, plus leetspeak digits read as letters ("1gn0re"),
//     punctuation inside words removed ("ig-nore", "i.g.n.o.r.e"), other
//     punctuation read as a space, and runs of single letters joined
//     ("i g n o r e"). Only the core phrases run here, with optional spaces
//     between words, so "ignorepreviousinstructions" matches too.

// homoglyphs folds lower-case letters that look like Latin letters. NFKC
// has already folded fullwidth, mathematical and other compatibility forms.
var homoglyphs = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o',
	'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ї': 'i', 'ј': 'j',
	'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ү': 'y', 'һ': 'h', 'ɡ': 'g', 'ӏ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o',
	'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y', 'ς': 's',
	// Latin look-alikes NFKC keeps
	// Typographic quotes, so "don’t" reads as "don't"
	'\u2018': '\'', '\u2019': '\'', '\u02BC': '\'', '\u201C': '"', '\u201D': '"',
	'ı': 'i', 'ɩ': 'i', 'ɑ': 'a', 'ɔ': 'c', 'ɛ': 'e', 'ʏ': 'y', 'ʀ': 'r', 'ɴ': 'n',
}

// leet reads digits and symbols used as letters.
var leet = [utf8.RuneSelf]byte{
	'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's',
}

// foldRune lower-cases r and folds a look-alike to its Latin letter.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}
	r = unicode.ToLower(r)
	if f, ok := homoglyphs[r]; ok {
		return f
	}
	return r
}

// plainForm returns the plain form of s (see above).
func plainForm(s string) string {
	b := make([]byte, 0, len(s)+1)
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ' || c == '\t':
				space = true
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			if space {
				b = append(b, ' ')
				space = false
			}
			b = append(b, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = utf8.AppendRune(b, foldRune(r))
	}
	if space {
		b = append(b, ' ')
	}
	return string(b)
}

// joiners, between two letters, are read as part of the word rather than
// as a gap: "ig-nore", "i.g.n.o.r.e", "ignore_previous".
var joiners = [utf8.RuneSelf]bool{
	'.': true, '-': true, '_': true, '*': true, '\'': true, '"': true, '`': true, '~': true, '+': true,
	'^': true, '=': true, '/': true, '\\': true, '|': true, ',': true, ':': true, ';': true,
}

// squashedForm returns the squashed form of the plain form p (see above).
//
// Words are written when they end, so that the gap before a word can be
// chosen knowing both neighbours: nothing for a gap of joiners only, nothing
// for one space between two single letters, a line break for a gap with one,
// else one space.
func squashedForm(p string) string {
	out := make([]byte, 0, len(p)+1)
	cur := make([]byte, 0, 64) // the word being read
	curLen, prevLen := 0, 0    // in letters; prevLen 0: no word yet
	gapLen, gapSpaces, gapLine := 0, 0, false
	flush := func() {
		if prevLen > 0 {
			switch {
			case gapLine:
				out = append(out, '\n')
			case gapSpaces == 0 && gapLen > 0: // joiners only
			case gapSpaces == 1 && gapLen <= 2 && prevLen == 1 && curLen == 1: // "i g n"
			default:
				out = append(out, ' ')
			}
		}
		out = append(out, cur...)
		prevLen, cur, curLen = curLen, cur[:0], 0
		gapLen, gapSpaces, gapLine = 0, 0, false
	}
	for i := 0; i < len(p); {
		r := rune(p[i])
		if r < utf8.RuneSelf {
			i++
			if l := leet[r]; l != 0 {
				r = rune(l)
			}
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(p[i:])
			i += size
		}
		if 'a' <= r && r <= 'z' || r >= utf8.RuneSelf && unicode.IsLetter(r) {
			cur = utf8.AppendRune(cur, r)
			curLen++
			continue
		}
		if curLen > 0 {
			flush()
		}
		gapLen++
		switch {
		case r == '\n':
			gapLine = true
		case r == ' ':
			gapSpaces++
		case r >= utf8.RuneSelf || !joiners[r]:
			gapSpaces += 2 // any other symbol is a hard gap
		}
	}
	if curLen > 0 {
		flush()
	}
	return string(out)
}
