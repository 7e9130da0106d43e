package guard

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxBlankLines is the longest run of blank lines normalisation keeps.
const maxBlankLines = 2

// rawBytesPerRune bounds the work done on oversized input: raw text is cut
// at MaxRunes*rawBytesPerRune bytes before it is normalised. A text whose
// normalised form fits MaxRunes needs more raw bytes than that only when it
// is mostly characters normalisation removes, so the cut costs nothing real
// and keeps Inspect linear in MaxRunes rather than in the input.
const rawBytesPerRune = 2 * utf8.UTFMax

// normalize returns raw as the guard passes it on: valid UTF-8 in NFKC, no
// control characters but '\n' and '\t', no invisible characters, at most
// maxBlankLines blank lines in a row, trailing spaces removed, and at most
// maxRunes runes. cut reports whether anything was cut for length.
func normalize(raw string, maxRunes int) (s string, cut bool) {
	if limit := maxRunes * rawBytesPerRune; len(raw) > limit {
		for limit > 0 && !utf8.RuneStart(raw[limit]) {
			limit--
		}
		raw, cut = raw[:limit], true
	}
	s = strings.ToValidUTF8(raw, "\uFFFD")
	s = stripInvisible(s)
	s = norm.NFKC.String(s)
	// NFKC introduces no control or format characters today; the second
	// pass keeps that a checked property rather than an assumption.
	s = stripInvisible(s)
	s = tidyLines(s)
	if n := utf8.RuneCountInString(s); n > maxRunes {
		i := 0
		for range maxRunes {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		s, cut = s[:i], true
	}
	return s, cut
}

// stripInvisible maps line breaks to '\n' and removes control characters
// other than '\n' and '\t', and every invisible character (see invisible).
// Text that needs no change is returned as is, without copying.
func stripInvisible(s string) string {
	var b []byte // nil until something changes
	last := 0    // s[last:i] is kept but not yet copied into b
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		var repl string
		switch {
		case r == '\r':
			// "\r\n" and a lone '\r' both end one line.
			if i+1 < len(s) && s[i+1] == '\n' {
				size++
			}
			repl = "\n"
		case r == '\v' || r == '\f' || r == 0x85 || r == 0x2028 || r == 0x2029:
			repl = "\n"
		case unicode.IsControl(r) || invisible(r):
			// dropped
		default:
			i += size
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[last:i]...)
		b = append(b, repl...)
		i += size
		last = i
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

// invisible reports whether r renders as nothing, or changes how its
// neighbours render, and so can hide text from a human reviewer while a
// model still reads it: every format character (category Cf: zero-width
// space, joiners, word joiner, soft hyphen, BOM, bidi embeddings, overrides,
// isolates and marks, the Arabic letter mark, U+180E, tag characters used for
// "ASCII smuggling"), variation selectors, and the fillers and blanks that
// are letters or marks only by category.
func invisible(r rune) bool {
	switch {
	case r < 0xAD:
		return false
	case unicode.Is(unicode.Cf, r):
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	}
	switch r {
	case 0x034F, // combining grapheme joiner
		0x115F, 0x1160, 0x3164, 0xFFA0, // Hangul fillers
		0x17B4, 0x17B5, // Khmer inherent vowels
		0x2800: // braille pattern blank
		return true
	}
	return false
}

// tidyLines removes trailing spaces and tabs from every line, drops blank
// lines at the start and end, and keeps at most maxBlankLines blank lines
// in a row.
func tidyLines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blanks := 0
	started := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			blanks++
			continue
		}
		if started {
			b.WriteByte('\n')
			for range min(blanks, maxBlankLines) {
				b.WriteByte('\n')
			}
		}
		started = true
		blanks = 0
		b.WriteString(line)
	}
	return b.String()
}
