package guard

import (
	"strings"
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
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' || c == '\t' {
				space = true
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(foldRune(r))
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// joiner reports whether c, between two letters, is read as part of the word
// rather than as a gap: "ig-nore", "i.g.n.o.r.e", "ignore_previous".
func joiner(c rune) bool {
	switch c {
	case '.', '-', '_', '*', '\'', '"', '`', '~', '+', '^', '=', '/', '\\', '|', ',', ':', ';', 0xB7, 0x2022:
		return true
	}
	return false
}

// squashedForm returns the squashed form of the plain form p (see above).
func squashedForm(p string) string {
	type word struct {
		start, end int  // in letters
		gap        byte // separator before the word: 'g' glue, 's' one space, 'b' break, 'n' line break
	}
	letters := make([]byte, 0, len(p))
	words := make([]word, 0, len(p)/4)
	inWord := false
	var gap byte = 'b'
	gapLen, gapSpaces := 0, 0
	for _, r := range p {
		if r < utf8.RuneSelf && leet[r] != 0 {
			r = rune(leet[r])
		}
		if 'a' <= r && r <= 'z' || r >= utf8.RuneSelf && unicode.IsLetter(r) {
			if !inWord {
				g := gap
				if g != 'n' && len(words) > 0 {
					switch {
					case gapSpaces == 0 && gapLen > 0:
						g = 'g'
					case gapSpaces == 1 && gapLen <= 2:
						g = 's'
					}
				}
				words = append(words, word{start: len(letters), gap: g})
				inWord = true
			}
			letters = utf8.AppendRune(letters, r)
			words[len(words)-1].end = len(letters)
			continue
		}
		if inWord {
			inWord = false
			gap, gapLen, gapSpaces = 'b', 0, 0
		}
		gapLen++
		switch {
		case r == '\n':
			gap = 'n'
		case r == ' ':
			gapSpaces++
		case !joiner(r):
			gapSpaces += 2 // any other symbol is a hard gap
		}
	}
	var b strings.Builder
	b.Grow(len(letters) + len(words))
	for i, w := range words {
		if i > 0 {
			single := w.end-w.start == 1 && words[i-1].end-words[i-1].start == 1
			switch {
			case w.gap == 'g', w.gap == 's' && single:
			case w.gap == 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(' ')
			}
		}
		b.Write(letters[w.start:w.end])
	}
	return b.String()
}
