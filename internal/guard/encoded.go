package guard

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// minEncodedRun is the shortest base64 or hex run that is decoded.
	minEncodedRun = 80
	// minWordsRun is the shortest base64 or hex run that is decoded when
	// what it decodes to reads as words (printable ASCII with a space in
	// it): "aWdub3JlIGFsbCBydWxlcw==" is short, random tokens and hashes
	// of that length decode to binary.
	minWordsRun = 20
	// minEscapeRun is the fewest escapes in a row ("\u0069", "\x69", "%69",
	// "&#105;") that count as an escaped payload.
	minEscapeRun = 8
	// maxPayloads bounds the payloads decoded from one text.
	maxPayloads = 16
	// printableShare is the share of graphic or space runes, in percent, a
	// decoded payload needs to count as text rather than binary data.
	printableShare = 90
)

// encodedPayloads returns the readable texts hidden in t as long base64 or
// hex runs or as runs of escapes. Binary data (an image, a hash, a signed
// URL's signature) decodes to unreadable bytes and is not returned.
func encodedPayloads(t string) []string {
	var out []string
	add := func(b []byte) {
		if len(out) < maxPayloads && readable(b) {
			out = append(out, string(b))
		}
	}
	addWords := func(b []byte) {
		if len(out) < maxPayloads && readsAsWords(b) {
			out = append(out, string(b))
		}
	}
	// base64 and hex: runs of the base64 alphabet (url-safe included).
	for i := 0; i < len(t) && len(out) < maxPayloads; {
		if !isB64(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && isB64(t[j]) {
			j++
		}
		run := strings.TrimRight(t[i:j], "=")
		i = j
		if len(run) < minWordsRun {
			continue
		}
		use := add
		if len(run) < minEncodedRun {
			use = addWords
		}
		if isHex(run) {
			if b, err := hex.DecodeString(run[:len(run)&^1]); err == nil {
				use(b)
			}
			continue
		}
		run = urlSafe.Replace(run)
		if len(run)%4 == 1 {
			run = run[:len(run)-1]
		}
		if b, err := base64.RawStdEncoding.DecodeString(run); err == nil {
			use(b)
		}
	}
	// Escapes.
	if strings.Count(t, `\`)+strings.Count(t, "%")+strings.Count(t, "&#") >= minEscapeRun {
		for i := 0; i < len(t) && len(out) < maxPayloads; {
			k := strings.IndexAny(t[i:], `\%&`)
			if k < 0 {
				break
			}
			i += k
			b, n, end := unescapeRun(t[i:])
			// Escaped ASCII is obfuscation; escaped UTF-8 (a link to a
			// page with an accented or CJK name) is ordinary.
			if n >= minEscapeRun && mostlyASCII(b) {
				add(b)
			}
			i += max(end, 1)
		}
	}
	return out
}

// base64Alphabet holds the base64 alphabet, url-safe letters and padding included.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=") {
		t[c] = true
	}
	return t
}()

// urlSafe maps the url-safe base64 alphabet to the standard one.
var urlSafe = strings.NewReplacer("-", "+", "_", "/")

func isB64(c byte) bool { return base64Alphabet[c] }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return true
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescapeRun decodes the escapes at the start of s, one after another,
// returning the bytes, how many escapes there were and where the run ends.
func unescapeRun(s string) (b []byte, n, end int) {
	for end < len(s) {
		v, isByte, size := unescapeOne(s[end:])
		if size == 0 {
			break
		}
		if isByte {
			b = append(b, byte(v))
		} else {
			b = utf8.AppendRune(b, v)
		}
		n++
		end += size
	}
	return b, n, end
}

// unescapeOne decodes one "\uXXXX", "\xXX", "%XX" or "&#N;"/"&#xH;" escape;
// isByte reports a byte escape ("\xXX", "%XX") rather than a code point.
func unescapeOne(s string) (v rune, isByte bool, size int) {
	hexVal := func(h string) rune {
		var v rune
		for i := 0; i < len(h); i++ {
			c := h[i]
			switch {
			case c <= '9':
				c -= '0'
			case c <= 'F':
				c -= 'A' - 10
			default:
				c -= 'a' - 10
			}
			v = v<<4 | rune(c)
		}
		return v
	}
	switch {
	case len(s) >= 6 && s[0] == '\\' && s[1] == 'u' && isHex(s[2:6]):
		return hexVal(s[2:6]), false, 6
	case len(s) >= 4 && s[0] == '\\' && s[1] == 'x' && isHex(s[2:4]):
		return hexVal(s[2:4]), true, 4
	case len(s) >= 3 && s[0] == '%' && isHex(s[1:3]):
		return hexVal(s[1:3]), true, 3
	case len(s) >= 4 && s[0] == '&' && s[1] == '#':
		k := 2
		base := 10
		if s[k] == 'x' || s[k] == 'X' {
			k, base = 3, 16
		}
		j := k
		for j < len(s) && j-k < 7 && (base == 16 && isHexByte(s[j]) || base == 10 && '0' <= s[j] && s[j] <= '9') {
			j++
		}
		if j == k || j >= len(s) || s[j] != ';' {
			return 0, false, 0
		}
		if base == 16 {
			v = hexVal(s[k:j])
		} else {
			for _, c := range s[k:j] {
				v = v*10 + c - '0'
			}
		}
		if v > unicode.MaxRune {
			v = utf8.RuneError
		}
		return v, false, j + 1
	}
	return 0, false, 0
}

// readsAsWords reports whether b is printable ASCII with at least one space
// and more letters than anything else.
func readsAsWords(b []byte) bool {
	spaces, letters := 0, 0
	for _, c := range b {
		switch {
		case c == ' ':
			spaces++
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			letters++
		case c < 0x20 || c >= 0x7f:
			return false
		}
	}
	return spaces > 0 && letters*2 > len(b)
}

// mostlyASCII reports whether printableShare percent of b is ASCII.
func mostlyASCII(b []byte) bool {
	n := 0
	for _, c := range b {
		if c < utf8.RuneSelf {
			n++
		}
	}
	return n*100 >= len(b)*printableShare
}

// readable reports whether b is mostly text: valid UTF-8 whose runes are
// printableShare percent graphic or space.
func readable(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	total, good := 0, 0
	for _, r := range string(b) {
		total++
		if unicode.IsGraphic(r) || unicode.IsSpace(r) {
			good++
		}
	}
	return good*100 >= total*printableShare
}
