package guard

import (
	"html"
	"strings"
	"unicode/utf8"
)

// Smuggled text: characters that render as nothing but that a model can
// still read. Normalisation removes them from the Text, so they never reach
// a prompt; before that, what they spell is recovered and scanned, so that
// an attempt to smuggle an instruction is reported rather than silently
// dropped.
//
//   - Unicode tag characters (U+E0020–U+E007E) mirror printable ASCII
//     ("ASCII smuggling"). A flag emoji uses a few of them for a region
//     code; minTagRun keeps those out.
//   - Variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF) can each carry
//     a byte: VS1–VS16 for 0–15, VS17–VS256 for 16–255, strung after one
//     emoji. Ordinary text puts at most one after a character.

// minTagRun is the fewest tag characters whose text is scanned (a
// subdivision flag, 🏴 plus "gbsct" plus the cancel tag, has six).
const minTagRun = 8

// minSelectorRun is the fewest variation selectors in a row read as bytes.
const minSelectorRun = 4

// smuggledText returns the texts spelled by tag characters and by runs of
// variation selectors in raw (before normalisation removes them).
func smuggledText(raw string) []string {
	// Fast path: both ranges start with bytes 0xEF (U+FE0x) or 0xF3
	// (U+E00xx, U+E01xx).
	if !strings.ContainsAny(raw, "\uFE00\uFE01\uFE02\uFE03\uFE04\uFE05\uFE06\uFE07\uFE08\uFE09\uFE0A\uFE0B\uFE0C\uFE0D\uFE0E\uFE0F") && strings.IndexByte(raw, 0xF3) < 0 {
		return nil
	}
	var out []string
	var tags strings.Builder
	var sel []byte
	selRun := 0
	flushSel := func() {
		if selRun >= minSelectorRun && utf8.Valid(sel) && readable(sel) {
			out = append(out, string(sel))
		}
		sel, selRun = sel[:0], 0
	}
	for _, r := range raw {
		switch {
		case r >= 0xE0020 && r <= 0xE007E:
			tags.WriteByte(byte(r - 0xE0000))
			continue
		case r >= 0xFE00 && r <= 0xFE0F:
			sel = append(sel, byte(r-0xFE00))
			selRun++
			continue
		case r >= 0xE0100 && r <= 0xE01EF:
			sel = append(sel, byte(r-0xE0100+16))
			selRun++
			continue
		}
		flushSel()
	}
	flushSel()
	if tags.Len() >= minTagRun && readsAsWords([]byte(tags.String())) {
		out = append(out, tags.String())
	}
	if len(out) > maxPayloads {
		out = out[:maxPayloads]
	}
	return out
}

// unmarkedForm returns the normalised text t as a reader of its rendered
// form would see the words: HTML comments and tags removed, character
// references decoded, so that "ig<b></b>nore", "ign<!-- -->ore" and
// "&#105;gnore" read as "ignore". It returns "" when t holds no markup.
// (Markdown emphasis inside a word, "ig**nore**", is read by the squashed
// form; text hidden by HTML or Markdown is still text, scanned as is.)
func unmarkedForm(t string) string {
	if !strings.ContainsAny(t, "<&") {
		return ""
	}
	var b strings.Builder
	b.Grow(len(t))
	changed := false
	for i := 0; i < len(t); {
		c := t[i]
		if c != '<' {
			b.WriteByte(c)
			i++
			continue
		}
		rest := t[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(t)
			} else {
				i += 4 + end + 3
			}
			changed = true
		case len(rest) > 1 && (isASCIILetter(rest[1]) || rest[1] == '/' || rest[1] == '!'):
			end := strings.IndexByte(rest, '>')
			if end < 0 || end > 512 {
				b.WriteByte(c)
				i++
				continue
			}
			i += end + 1
			changed = true
		default:
			b.WriteByte(c)
			i++
		}
	}
	s := b.String()
	if strings.Contains(s, "&") {
		if u := html.UnescapeString(s); u != s {
			s, changed = u, true
		}
	}
	if !changed {
		return ""
	}
	s, _ = normalize(s, DefaultMaxRunes)
	return s
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
