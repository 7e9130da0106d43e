package attachment

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Sample files, built in the test (no committed binaries): each allowed
// type, and the disguises and polyglots the checks must refuse.

func samplePNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for x := range 16 {
		img.Set(x, x%8, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sampleJPEG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdfWith builds a small, well-formed PDF whose catalog dictionary holds
// extra (e.g. "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>").
func pdfWith(extra string) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R " + extra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
	}
	content := "BT /F1 12 Tf 20 100 Td (Stage rider) Tj ET"
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := []int{}
	for i, o := range objs {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	offsets = append(offsets, b.Len())
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func samplePDF() []byte { return pdfWith("") }

// pdfWithObjStm hides dict in a Flate-compressed object stream (PDF 1.5+).
func pdfWithObjStm(dict string) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write([]byte("5 0 " + dict))
	_ = zw.Close()
	base := samplePDF()
	i := bytes.Index(base, []byte("xref\n"))
	var b bytes.Buffer
	b.Write(base[:i])
	fmt.Fprintf(&b, "6 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	b.Write(base[i:])
	return b.Bytes()
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngWithChunk inserts a chunk right after IHDR.
func pngWithChunk(t testing.TB, typ string, data []byte) []byte {
	p := samplePNG(t)
	at := 8 + 12 + int(binary.BigEndian.Uint32(p[8:]))
	return append(append(append([]byte(nil), p[:at]...), pngChunk(typ, data)...), p[at:]...)
}

func zlibBytes(b []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return z.Bytes()
}

// jpegWithComment inserts a COM segment after SOI.
func jpegWithComment(t testing.TB, comment string) []byte {
	j := sampleJPEG(t)
	seg := []byte{0xff, 0xfe, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(comment)+2))
	return append(append(append([]byte(nil), j[:2]...), append(seg, comment...)...), j[2:]...)
}

// zipBomb is the start of a zip archive (a local file header): what a
// zip bomb looks like to a sniffer.
func zipBomb() []byte {
	return append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), bytes.Repeat([]byte{0}, 200)...)
}

func gzipBomb() []byte {
	var b bytes.Buffer
	b.Write([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff})
	b.Write(bytes.Repeat([]byte{0}, 100))
	return b.Bytes()
}

const (
	htmlDoc = "<!DOCTYPE html><html><body><script>fetch('/api/me').then(r=>r.text()).then(alert)</script></body></html>"
	svgDoc  = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`
	csvDoc  = "item,qty,venue\nLED wall,2,HALL-A\n\"Truss, 3m\",12,HALL-A\n"
	textDoc = "Load-in 07:00. Sound check 15:00.\nCatering: vegetarian ×12 — café on site.\n"
)
