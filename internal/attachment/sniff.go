package attachment

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"hash/crc32"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads JPEG headers
	_ "image/png"  // and PNG headers
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Type is one of the allowed attachment types: its media type and the
// extensions a stored name may end in (the first is the canonical one).
type Type struct {
	MediaType  string
	Extensions []string
}

// The allow-list. Nothing else is stored: not HTML, XML or SVG (script),
// not archives (zip, gzip: a zip bomb is refused by its type before
// anything would unpack it), not executables, fonts, audio or video.
var (
	PDF  = Type{"application/pdf", []string{".pdf"}}
	PNG  = Type{"image/png", []string{".png"}}
	JPEG = Type{"image/jpeg", []string{".jpg", ".jpeg"}}
	CSV  = Type{"text/csv", []string{".csv"}}
	Text = Type{"text/plain", []string{".txt", ".text", ".log", ".md"}}
)

// Allowed lists the allowed types.
var Allowed = []Type{PDF, PNG, JPEG, CSV, Text}

// Limits of the structural checks.
const (
	// MaxImageSide and MaxImagePixels refuse images that decode into more
	// memory than any rider or floor plan needs (a few bytes of header can
	// claim gigapixels: a decompression bomb for whoever opens it).
	MaxImageSide   = 20000
	MaxImagePixels = 100_000_000
	// maxInflate bounds what the checks decompress from one file (PDF
	// object streams, PNG compressed text), so a bomb cannot cost more.
	maxInflate = 16 << 20
)

const field = "file"

func refuse(format string, args ...any) error {
	return rampart.Errorf("attachment.Sniff", rampart.KindUnsupportedMedia, field+": "+format, args...)
}

func notAllowed(what string) error {
	return refuse("the content is %s, which is not an allowed type (PDF, PNG, JPEG, CSV, plain text)", what)
}

// Sniff decides the type of data from its bytes alone, and refuses
// anything that is not positively one of the allowed types: the
// client's Content-Type is never consulted. Beyond each format's
// signature (the same WHATWG signatures net/http's DetectContentType
// matches; TestSniffAgreesWithDetectContentType holds the two together)
// it checks the structure, which is what catches a disguised file:
//
//   - PDF: starts with %PDF-, ends with startxref … %%EOF; no active
//     content (JavaScript, launch actions, embedded files, XFA, rich
//     media) in any dictionary, object streams included;
//   - PNG: every chunk well-formed with a valid CRC, IHDR first, IEND last
//     and nothing after it, dimensions within limits, no markup or script
//     in metadata chunks;
//   - JPEG: every segment well-formed, ends at EOI with nothing after it,
//     dimensions within limits, no markup or script in metadata segments;
//   - CSV and plain text: valid UTF-8 without NUL or other control
//     characters (tab, line feed and carriage return aside), not starting
//     like markup (<), a script (#!) or another format's signature.
//
// The two text types cannot be told apart by their bytes, so name only
// chooses between them: a name ending in .csv makes the text CSV, and it
// must then parse as CSV with the same number of fields on every line.
// Errors are KindUnsupportedMedia and name the field and the rule.
func Sniff(data []byte, name string) (Type, error) {
	if len(data) == 0 {
		return Type{}, rampart.Errorf("attachment.Sniff", rampart.KindInvalid, "file: is empty")
	}
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF, checkPDF(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, checkPNG(data)
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return JPEG, checkJPEG(data)
	}
	if what := knownOther(data); what != "" {
		return Type{}, notAllowed(what)
	}
	if err := checkText(data); err != nil {
		return Type{}, err
	}
	if strings.EqualFold(path.Ext(name), ".csv") {
		return CSV, checkCSV(data)
	}
	return Text, nil
}

// knownOther names the formats Sniff recognises in order to refuse them
// with a precise message: markup first (after leading whitespace, as a
// browser sniffs it), then the binary signatures.
func knownOther(data []byte) string {
	trimmed := bytes.TrimLeft(data, "\t\n\f\r ")
	lower := bytes.ToLower(trimmed[:min(len(trimmed), 64)])
	if bytes.HasPrefix(trimmed, []byte("<")) {
		switch {
		case bytes.Contains(bytes.ToLower(trimmed[:min(len(trimmed), 4096)]), []byte("<svg")):
			return "an SVG image (it can carry script)"
		case bytes.HasPrefix(lower, []byte("<?xml")):
			return "an XML document"
		}
		return "an HTML document (it starts like markup)"
	}
	for _, s := range otherSignatures {
		if s.match(data) {
			return s.what
		}
	}
	return ""
}

type signature struct {
	at   int
	sig  string
	what string
}

func (s signature) match(data []byte) bool {
	return len(data) >= s.at+len(s.sig) && string(data[s.at:s.at+len(s.sig)]) == s.sig
}

// otherSignatures are formats refused by type: every signature of the
// WHATWG sniffing table that is not an allowed type (so a file that
// passes as text is text/plain to net/http as well), and the common
// archives and executables beyond it.
var otherSignatures = []signature{
	{0, "PK\x03\x04", "a ZIP archive"}, {0, "PK\x05\x06", "a ZIP archive"}, {0, "PK\x07\x08", "a ZIP archive"},
	{0, "\x1f\x8b", "a gzip archive"}, {0, "BZh", "a bzip2 archive"}, {0, "\xfd7zXZ\x00", "an xz archive"},
	{0, "7z\xbc\xaf\x27\x1c", "a 7-Zip archive"}, {0, "Rar!\x1a\x07", "a RAR archive"}, {0, "\x28\xb5\x2f\xfd", "a zstd archive"},
	{257, "ustar", "a tar archive"}, {0, "MSCF", "a cabinet archive"},
	{0, "\x7fELF", "an executable (ELF)"}, {0, "MZ", "an executable (PE)"}, {0, "\xca\xfe\xba\xbe", "an executable (Mach-O or Java class)"},
	{0, "\xcf\xfa\xed\xfe", "an executable (Mach-O)"}, {0, "\xce\xfa\xed\xfe", "an executable (Mach-O)"}, {0, "\x00asm", "WebAssembly"},
	{0, "#!", "a script (#!)"}, {0, "%!PS-Adobe-", "PostScript"},
	{0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE document (legacy Office, may carry macros)"},
	{0, "{\\rtf", "an RTF document"},
	{0, "GIF87a", "a GIF image"}, {0, "GIF89a", "a GIF image"}, {0, "BM", "a BMP image (or text starting with BM)"},
	{0, "\x00\x00\x01\x00", "an icon"}, {0, "\x00\x00\x02\x00", "an icon"},
	{0, "II*\x00", "a TIFF image"}, {0, "MM\x00*", "a TIFF image"},
	{0, "FORM", "an IFF/AIFF file"}, {0, "ID3", "MP3 audio"}, {0, "OggS", "Ogg media"}, {0, "MThd", "MIDI"},
	{0, "RIFF", "a RIFF container (WebP, WAVE, AVI)"}, {4, "ftyp", "MP4/QuickTime media"}, {0, "\x1a\x45\xdf\xa3", "WebM/Matroska media"},
	{0, "\x00\x01\x00\x00", "a TrueType font"}, {0, "OTTO", "an OpenType font"}, {0, "ttcf", "a font collection"},
	{0, "wOFF", "a WOFF font"}, {0, "wOF2", "a WOFF2 font"},
	{0, "\xfe\xff", "UTF-16 text (only UTF-8 text is accepted)"}, {0, "\xff\xfe", "UTF-16 text (only UTF-8 text is accepted)"},
}

// checkText accepts UTF-8 text without NUL and without control
// characters other than tab, line feed and carriage return (no terminal
// escapes, no C1 controls).
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		return notAllowed("binary data (not valid UTF-8 text)")
	}
	line := 1
	for _, r := range string(data) {
		switch {
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case r == 0:
			return refuse("the text contains a NUL byte (line %d): not plain text", line)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return refuse("the text contains the control character U+%04X (line %d): not plain text", r, line)
		}
	}
	return nil
}

// checkCSV parses the text as CSV (RFC 4180, quotes must be balanced)
// with the same number of fields on every record.
func checkCSV(data []byte) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return refuse("the name says CSV but the content is not valid CSV (line %d: %v)", pe.Line, pe.Err)
			}
			return refuse("the name says CSV but the content is not valid CSV")
		}
		n++
	}
	if n == 0 {
		return refuse("the name says CSV but the content has no records")
	}
	return nil
}

// markers are what a metadata chunk or segment of an image must not hold:
// markup and script that would make the file an HTML or script polyglot.
var markers = [][]byte{[]byte("<script"), []byte("<html"), []byte("<body"), []byte("<iframe"), []byte("<svg"),
	[]byte("<object"), []byte("<embed"), []byte("<?php"), []byte("javascript:"), []byte("vbscript:"),
	[]byte("onerror="), []byte("onload=")}

// markup returns the first marker in b (case-insensitive), or "".
func markup(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	lower := bytes.ToLower(b)
	for _, m := range markers {
		if bytes.Contains(lower, m) {
			return string(m)
		}
	}
	return ""
}

func checkDimensions(data []byte, format string) error {
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || got != format {
		return refuse("the content starts like %s but its header does not decode (%v)", strings.ToUpper(format), err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide ||
		int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return refuse("the image is %d×%d pixels: at most %d on a side and %d pixels in all", cfg.Width, cfg.Height, MaxImageSide, MaxImagePixels)
	}
	return nil
}

// checkPNG walks the chunks: length, type, data, CRC; IHDR first, IEND
// last with nothing after it (appended data is how a PNG becomes a
// polyglot); metadata chunks hold no markup or script.
func checkPNG(data []byte) error {
	if err := checkDimensions(data, "png"); err != nil {
		return err
	}
	budget := maxInflate
	p := 8
	first := true
	for {
		if len(data)-p < 12 {
			return refuse("the PNG is truncated (no IEND chunk)")
		}
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := data[p+4 : p+8]
		if n > len(data)-p-12 {
			return refuse("the PNG chunk %q claims more bytes than the file has", typ)
		}
		for _, c := range typ {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return refuse("the PNG has a malformed chunk type at byte %d", p+4)
			}
		}
		body := data[p+8 : p+8+n]
		if crc32.ChecksumIEEE(data[p+4:p+8+n]) != binary.BigEndian.Uint32(data[p+8+n:]) {
			return refuse("the PNG chunk %q has a wrong CRC: the file was altered", typ)
		}
		t := string(typ)
		if first && t != "IHDR" {
			return refuse("the PNG does not start with its IHDR chunk")
		}
		first = false
		p += 12 + n
		switch t {
		case "IEND":
			if p != len(data) {
				return refuse("the PNG has %d bytes after its IEND chunk (appended data makes a polyglot)", len(data)-p)
			}
			return nil
		case "IDAT", "fdAT":
			continue // compressed pixels
		case "zTXt", "iTXt":
			text, err := inflateText(t, body, &budget)
			if err != nil {
				return err
			}
			body = append(append([]byte(nil), body...), text...)
		}
		if m := markup(body); m != "" {
			return refuse("the PNG's %s chunk contains %q: markup or script in an image (a polyglot)", t, m)
		}
	}
}

// inflateText returns the decompressed text of a zTXt or compressed iTXt
// chunk (nil when it is not compressed), within the inflate budget.
func inflateText(typ string, body []byte, budget *int) ([]byte, error) {
	k := bytes.IndexByte(body, 0)
	if k < 0 {
		return nil, refuse("the PNG's %s chunk is malformed", typ)
	}
	rest := body[k+1:]
	if typ == "iTXt" {
		if len(rest) < 2 || rest[0] == 0 {
			return nil, nil
		}
		rest = rest[2:]
		for range 2 { // language tag, translated keyword
			j := bytes.IndexByte(rest, 0)
			if j < 0 {
				return nil, refuse("the PNG's iTXt chunk is malformed")
			}
			rest = rest[j+1:]
		}
	} else {
		if len(rest) < 1 {
			return nil, refuse("the PNG's zTXt chunk is malformed")
		}
		rest = rest[1:]
	}
	return inflate(rest, budget, "the PNG's "+typ+" chunk")
}

func inflate(b []byte, budget *int, what string) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, refuse("%s does not decompress", what)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(*budget)+1))
	if len(out) > *budget {
		return nil, refuse("%s decompresses to more than %d MiB in all (a decompression bomb?)", what, maxInflate>>20)
	}
	*budget -= len(out)
	if err != nil {
		return nil, refuse("%s does not decompress", what)
	}
	return out, nil
}

// checkJPEG walks the segments up to EOI, skipping entropy-coded data;
// the file must end there. Application and comment segments (EXIF, XMP,
// comments) hold no markup or script.
func checkJPEG(data []byte) error {
	if err := checkDimensions(data, "jpeg"); err != nil {
		return err
	}
	p := 2
	for {
		if p+2 > len(data) || data[p] != 0xff {
			return refuse("the JPEG is malformed or truncated at byte %d (no end-of-image marker)", p)
		}
		for p+1 < len(data) && data[p+1] == 0xff { // fill bytes
			p++
		}
		if p+2 > len(data) {
			return refuse("the JPEG is truncated")
		}
		marker := data[p+1]
		switch {
		case marker == 0xd9: // EOI
			if p+2 != len(data) {
				return refuse("the JPEG has %d bytes after its end-of-image marker (appended data makes a polyglot)", len(data)-p-2)
			}
			return nil
		case marker >= 0xd0 && marker <= 0xd7, marker == 0x01:
			p += 2
			continue
		}
		if p+4 > len(data) {
			return refuse("the JPEG is truncated")
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return refuse("the JPEG segment at byte %d claims more bytes than the file has", p)
		}
		if marker >= 0xe0 && marker <= 0xef || marker == 0xfe {
			if m := markup(data[p+4 : p+2+n]); m != "" {
				return refuse("a JPEG metadata segment contains %q: markup or script in an image (a polyglot)", m)
			}
		}
		p += 2 + n
		if marker == 0xda { // start of scan: entropy-coded data up to the next marker
			for p+1 < len(data) && (data[p] != 0xff || data[p+1] == 0 || data[p+1] >= 0xd0 && data[p+1] <= 0xd7) {
				p++
			}
		}
	}
}

// pdfDenied are the PDF names of active content: script, actions that
// launch programs or reach out, embedded files, forms with their own
// scripting, rich media.
var pdfDenied = map[string]string{
	"JavaScript": "JavaScript", "JS": "JavaScript", "Launch": "a launch action", "EmbeddedFile": "an embedded file",
	"EmbeddedFiles": "embedded files", "RichMedia": "rich media", "XFA": "an XFA form (scriptable)",
	"GoToE": "an action into an embedded file", "SubmitForm": "a form submission action", "ImportData": "a data import action",
}

// checkPDF checks the frame (%PDF-1.x/2.x at the start, startxref and
// %%EOF at the end, only whitespace after it) and looks for active
// content in the dictionaries: the text outside streams, and the
// Flate-compressed object streams where PDF 1.5+ keeps dictionaries.
// Other streams (page content, images, fonts) cannot hold the names
// that make a PDF act.
func checkPDF(data []byte) error {
	if len(data) < 8 || (data[5] != '1' && data[5] != '2') || data[6] != '.' {
		return refuse("the content starts with %%PDF- but has no PDF version")
	}
	tail := bytes.TrimRight(data, "\r\n\t \x00")
	if !bytes.HasSuffix(tail, []byte("%%EOF")) {
		return refuse("the PDF does not end with %%%%EOF (truncated, or something is appended)")
	}
	if !bytes.Contains(tail[max(0, len(tail)-1024):], []byte("startxref")) {
		return refuse("the PDF has no startxref before its %%%%EOF")
	}
	budget := maxInflate
	pos := 0
	for {
		i := bytes.Index(data[pos:], []byte("stream"))
		if i < 0 {
			return pdfNames(data[pos:])
		}
		i += pos
		j := i + len("stream")
		if i >= 3 && string(data[i-3:i]) == "end" || j >= len(data) || (data[j] != '\r' && data[j] != '\n') {
			if err := pdfNames(data[pos:j]); err != nil {
				return err
			}
			pos = j
			continue
		}
		dict := data[pos:i]
		if err := pdfNames(dict); err != nil {
			return err
		}
		if data[j] == '\r' {
			j++
		}
		if j < len(data) && data[j] == '\n' {
			j++
		}
		k := bytes.Index(data[j:], []byte("endstream"))
		if k < 0 {
			return refuse("the PDF has a stream without endstream")
		}
		if objStart := bytes.LastIndex(dict, []byte("obj")); objStart >= 0 && bytes.Contains(dict[objStart:], []byte("/ObjStm")) {
			d := dict[objStart:]
			if !bytes.Contains(d, []byte("/FlateDecode")) {
				return refuse("the PDF has an object stream that cannot be inspected (not Flate-encoded)")
			}
			inflated, err := inflate(data[j:j+k], &budget, "a PDF object stream")
			if err != nil {
				return err
			}
			if err := pdfNames(inflated); err != nil {
				return err
			}
		}
		pos = j + k + len("endstream")
	}
}

// pdfNames refuses the first denied name in b; names are compared after
// their #xx escapes are decoded (/J#61vaScript is /JavaScript).
func pdfNames(b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '/' {
			continue
		}
		var name []byte
		j := i + 1
		for ; j < len(b) && !pdfDelimiter(b[j]); j++ {
			if b[j] == '#' && j+2 < len(b) && isHex(b[j+1]) && isHex(b[j+2]) {
				name = append(name, unhex(b[j+1])<<4|unhex(b[j+2]))
				j += 2
				continue
			}
			name = append(name, b[j])
		}
		if what, ok := pdfDenied[string(name)]; ok {
			return refuse("the PDF contains %s (/%s): active content is not accepted", what, name)
		}
		i = j - 1
	}
	return nil
}

func pdfDelimiter(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
