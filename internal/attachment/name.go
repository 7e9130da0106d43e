package attachment

import (
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes caps a stored name (the database checks 255).
const MaxNameBytes = 200

// fallbackStem names a file whose name has nothing left after cleaning.
const fallbackStem = "attachment"

// windowsReserved are device names Windows will not open as files.
var windowsReserved = []string{"con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
	"lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9"}

// SanitizeName makes a client's file name safe to store and to offer in
// a download for a file of type t:
//
//   - NFKC-normalised (full-width ／ and ＼ become separators, so they are
//     stripped with the path), invalid UTF-8 dropped;
//   - the path removed: only what follows the last / or \ is kept;
//   - control, format (bidi overrides, zero-width), separator other than
//     space, private-use and unassigned characters removed;
//   - the reserved characters < > : " / \ | ? * replaced by _, runs of
//     spaces collapsed, leading and trailing dots and spaces trimmed (no
//     hidden files, nothing Windows would silently drop);
//   - Windows device names (CON, NUL, COM1 …) prefixed with _;
//   - the extension made consistent with t: kept when it is one of t's,
//     otherwise replaced by t's canonical one (a PDF named rider.exe is
//     stored as rider.pdf; an HTML file named .pdf never gets here);
//   - at most MaxNameBytes bytes, cut at a character boundary before the
//     extension.
func SanitizeName(name string, t Type) string {
	name = norm.NFKC.String(strings.ToValidUTF8(name, ""))
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		case unicode.IsSpace(r):
			r = ' '
			if space {
				continue
			}
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) || !unicode.In(r, unicode.L, unicode.M,
			unicode.N, unicode.P, unicode.S, unicode.Zs) || r == utf8.RuneError:
			continue
		}
		space = r == ' '
		b.WriteRune(r)
	}
	name = strings.Trim(b.String(), ". ")
	stem, ext := name, strings.ToLower(path.Ext(name))
	if ext != "" && len(ext) > 1 {
		stem = strings.TrimRight(strings.TrimSuffix(name, path.Ext(name)), ". ")
	}
	if !slices.Contains(t.Extensions, ext) {
		if ext != "" && len(ext) > 1 && !strings.ContainsRune(ext, ' ') && len(ext) <= 8 {
			// An extension of another type is replaced, not kept in the
			// stem: "rider.exe" with PDF bytes is rider.pdf, never rider.exe.pdf.
		} else {
			stem = name
		}
		ext = t.Extensions[0]
	}
	if stem == "" {
		stem = fallbackStem
	}
	if base, _, _ := strings.Cut(stem, "."); slices.Contains(windowsReserved, strings.ToLower(strings.TrimSpace(base))) {
		stem = "_" + stem
	}
	if max := MaxNameBytes - len(ext); len(stem) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		stem = strings.TrimRight(stem[:cut], ". ")
		if stem == "" {
			stem = fallbackStem
		}
	}
	return stem + ext
}
