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
//     between words, so "ignorepreviousinstructions" matches too (when
//     the glued run starts with the phrase's first word).

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
	// Typographic quotes, so "don’t" reads as "don't"
	'\u2018': '\'', '\u2019': '\'', '\u02BC': '\'', '\u201C': '"', '\u201D': '"',
	// Latin look-alikes NFKC keeps
	'ı': 'i', 'ɩ': 'i', 'ɑ': 'a', 'ɔ': 'c', 'ɛ': 'e', 'ʏ': 'y', 'ʀ': 'r', 'ɴ': 'n',
	// Latin small capitals (NFKC keeps them)
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i', 'ᴊ': 'j',
	'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ᴏ': 'o', 'ᴘ': 'p', 'ꜱ': 's', 'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z',
	// Armenian
	'օ': 'o', 'ս': 'u', 'ո': 'n', 'հ': 'h', 'ց': 'g', 'զ': 'q',
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
const joiners = ".-_*'\"`~+^=/\\|,:;"

// How squashedForm reads an ASCII byte of the plain form: a letter (leet
// read), or one of these kinds of gap.
const (
	sqHard    = 0 // any other symbol
	sqSpace   = 1
	sqNewline = 2
	sqJoiner  = 3
)

var sqClass = func() (t [utf8.RuneSelf]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
	}
	for c, l := range leet {
		if l != 0 {
			t[c] = l
		}
	}
	for _, c := range joiners {
		t[c] = sqJoiner
	}
	t[' '], t['\n'] = sqSpace, sqNewline
	return t
}()

// squashedForm returns the squashed form of the plain form p (see above).
//
// The gap before a word is chosen knowing both neighbours: nothing for a
// gap of joiners only, nothing for one space between two single letters
// ("i g n"), a line break for a gap with one, else one space.
func squashedForm(p string) string {
	out := make([]byte, 0, len(p)+1)
	inWord, started, prevSingle := false, false, false
	gapLen, gapSpaces, gapLine := 0, 0, false
	for i := 0; i < len(p); {
		var r rune // a letter, or 0 with class set
		class := byte(sqHard)
		if c := p[i]; c < utf8.RuneSelf {
			i++
			if k := sqClass[c]; k >= 'a' {
				r = rune(k)
			} else {
				class = k
			}
		} else {
			d, size := utf8.DecodeRuneInString(p[i:])
			i += size
			if unicode.IsLetter(d) {
				r = d
			}
		}
		if r != 0 {
			if !inWord {
				single := i == len(p) || !letterAt(p, i)
				if started {
					switch {
					case gapLine:
						out = append(out, '\n')
					case gapSpaces == 0 && gapLen > 0: // joiners only
					case gapSpaces == 1 && gapLen <= 2 && prevSingle && single:
					default:
						out = append(out, ' ')
					}
				}
				started, inWord, prevSingle = true, true, single
				gapLen, gapSpaces, gapLine = 0, 0, false
			}
			if r < utf8.RuneSelf {
				out = append(out, byte(r))
			} else {
				out = utf8.AppendRune(out, r)
			}
			continue
		}
		inWord = false
		gapLen++
		switch class {
		case sqNewline:
			gapLine = true
		case sqSpace:
			gapSpaces++
		case sqHard:
			gapSpaces += 2
		}
	}
	return string(out)
}

// letterAt reports whether squashedForm reads p[i:] as starting with a
// letter.
func letterAt(p string, i int) bool {
	if c := p[i]; c < utf8.RuneSelf {
		return sqClass[c] >= 'a'
	}
	r, _ := utf8.DecodeRuneInString(p[i:])
	return unicode.IsLetter(r)
}
