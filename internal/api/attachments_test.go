package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// part is one part of a multipart upload body.
type part struct {
	field, filename, contentType string
	data                         []byte
}

// uploadTo posts parts as multipart/form-data to base+path with c.
func uploadTo(t *testing.T, c *http.Client, base, path string, parts []part, headers ...string) resp {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, p.field, strings.ReplaceAll(p.filename, `"`, `\"`)))
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(p.data)
	}
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// upload sends one file as the part "file" of a proposal's upload route.
func (e *env) upload(c *http.Client, proposalID, filename, clientType string, data []byte) resp {
	e.t.Helper()
	return uploadTo(e.t, c, e.srv.URL, "/api/proposals/"+proposalID+"/attachments", []part{{"file", filename, clientType, data}})
}

func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testPDF is a small well-formed PDF; catalogExtra goes into its catalog
// (e.g. an OpenAction with JavaScript).
func testPDF(catalogExtra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	off1 := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>\nendobj\n")
	off2 := b.Len()
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", off1, off2, xref)
	return b.Bytes()
}

const testHTML = "<!doctype html><html><body><script>fetch('/api/me').then(r=>r.text()).then(alert)</script></body></html>"

func (e *env) attachmentCount() int { return e.scalar(`SELECT count(*)::int FROM attachments`) }

// TestAttachmentsUploadAndDownload: each allowed type is accepted (its
// type sniffed from the bytes, whatever the client claimed), listed, and
// downloaded with the hardened headers and the exact bytes.
func TestAttachmentsUploadAndDownload(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	pid := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	for _, tc := range []struct {
		name, clientType string
		data             []byte
		wantType         string
		wantName         string
		wantDisposition  string
	}{
		{"stage rider.pdf", "application/octet-stream", testPDF(""), "application/pdf", "stage rider.pdf", `filename*=UTF-8''stage%20rider.pdf`},
		{"Scène plan.png", "image/jpeg", testPNG(t), "image/png", "Scène plan.png", `filename*=UTF-8''Sc%C3%A8ne%20plan.png`},
		{"photo.exe", "application/x-msdownload", testJPEG(t), "image/jpeg", "photo.jpg", `filename*=UTF-8''photo.jpg`},
		{"bom.csv", "text/html", []byte("item,qty\nLED wall,2\n"), "text/csv", "bom.csv", `filename*=UTF-8''bom.csv`},
		{`..\..\notes`, "", []byte("Load-in 07:00\n"), "text/plain", "notes.txt", `filename*=UTF-8''notes.txt`},
		{"invoice\u202Efdp.pdf", "application/pdf", testPDF(""), "application/pdf", "invoicefdp.pdf", `filename*=UTF-8''invoicefdp.pdf`},
	} {
		r := e.upload(producer, pid, tc.name, tc.clientType, tc.data)
		if r.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		a := r.json(t)
		if a["content_type"] != tc.wantType || a["filename"] != tc.wantName || a["size_bytes"] != float64(len(tc.data)) || len(a["sha256"].(string)) != 64 {
			t.Errorf("%s: stored as %v", tc.name, a)
		}
		if loc := r.header.Get("Location"); loc != "/api/attachments/"+a["id"].(string) {
			t.Errorf("%s: Location %q", tc.name, loc)
		}
		if rl := r.header.Get("RateLimit-Limit"); rl != "100000" {
			t.Errorf("%s: RateLimit-Limit %q", tc.name, rl)
		}
		d := e.do(producer, http.MethodGet, "/api/attachments/"+a["id"].(string), nil)
		h := d.header
		wantCT := tc.wantType
		if strings.HasPrefix(wantCT, "text/") {
			wantCT += "; charset=utf-8"
		}
		if d.status != http.StatusOK || !bytes.Equal(d.body, tc.data) || h.Get("Content-Type") != wantCT ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "attachment; ") || !strings.Contains(h.Get("Content-Disposition"), tc.wantDisposition) ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
			h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != strconv.Itoa(len(tc.data)) || !strings.HasPrefix(h.Get("Repr-Digest"), "sha-256=:") {
			t.Errorf("%s: download %d, %d bytes, headers %v", tc.name, d.status, len(d.body), h)
		}
	}
	list := e.do(producer, http.MethodGet, "/api/proposals/"+pid+"/attachments", nil)
	var got struct {
		Attachments []map[string]any `json:"attachments"`
	}
	if err := json.Unmarshal(list.body, &got); err != nil || list.status != 200 || len(got.Attachments) != 6 {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	if _, leaked := got.Attachments[0]["content"]; leaked {
		t.Error("the list carries content")
	}
	if n := e.events("attachment.uploaded"); n != 6 {
		t.Errorf("%d upload events, want 6", n)
	}
	if n := e.events("attachment.downloaded"); n != 6 {
		t.Errorf("%d download events, want 6", n)
	}
}

// TestAttachmentsRefuseDisguisedAndOversizeFiles: every disguise and
// polyglot is refused (415, naming the field and the rule), oversize
// bodies 413, malformed requests 400 or 415; nothing is written.
func TestAttachmentsRefuseDisguisedAndOversizeFiles(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	pid := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	png := testPNG(t)
	path := "/api/proposals/" + pid + "/attachments"
	for _, tc := range []struct {
		desc   string
		parts  []part
		status int
		want   string
	}{
		{"HTML named .pdf", []part{{"file", "rider.pdf", "application/pdf", []byte(testHTML)}}, 415, "HTML"},
		{"SVG with script", []part{{"file", "logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)}}, 415, "SVG"},
		{"zip bomb named .pdf", []part{{"file", "quote.pdf", "application/pdf", append([]byte("PK\x03\x04\x14\x00"), make([]byte, 100)...)}}, 415, "ZIP"},
		{"gzip named .csv", []part{{"file", "bom.csv", "text/csv", append([]byte{0x1f, 0x8b, 0x08}, make([]byte, 100)...)}}, 415, "gzip"},
		{"PNG with HTML appended (polyglot)", []part{{"file", "plan.png", "image/png", append(append([]byte(nil), png...), testHTML...)}}, 415, "IEND"},
		{"PNG header then HTML", []part{{"file", "plan.png", "image/png", append(append([]byte(nil), png[:16]...), testHTML...)}}, 415, "PNG"},
		{"PDF with JavaScript", []part{{"file", "rider.pdf", "application/pdf", testPDF("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")}}, 415, "JavaScript"},
		{"text with NUL", []part{{"file", "notes.txt", "text/plain", []byte("a\x00b")}}, 415, "NUL"},
		{"empty file", []part{{"file", "notes.txt", "text/plain", nil}}, 400, "file: is empty"},
		{"no file part", []part{{"other", "x.txt", "text/plain", []byte("hi")}}, 400, `"other"`},
		{"two files", []part{{"file", "a.txt", "", []byte("a")}, {"file", "b.txt", "", []byte("b")}}, 400, "one file per request"},
		{"no parts", nil, 400, "file: is required"},
	} {
		r := uploadTo(t, producer, e.srv.URL, path, tc.parts)
		p := problem(t, r, tc.status)
		if d, _ := p["detail"].(string); !strings.Contains(d, tc.want) {
			t.Errorf("%s: detail %q does not name %q", tc.desc, d, tc.want)
		}
	}
	// Not multipart at all.
	problem(t, e.do(producer, http.MethodPost, path, map[string]any{"file": "aGVsbG8="}), http.StatusUnsupportedMediaType)
	// Over the default cap (10 MiB), while the body is read.
	big := bytes.Repeat([]byte("a"), 10<<20+1)
	if p := problem(t, uploadTo(t, producer, e.srv.URL, path, []part{{"file", "big.txt", "text/plain", big}}), http.StatusRequestEntityTooLarge); !strings.Contains(p["detail"].(string), "10485760") {
		t.Errorf("413 detail: %v", p["detail"])
	}
	// A configured cap: found while reading, or told by Content-Length
	// (a body larger than the cap and the multipart envelope) before.
	srv, _ := e.serverWith(func(o *Options) { o.MaxUpload = 1024 })
	tok := e.mintToken(e.signIn(acme.email(rampart.RoleAdmin)), "", "uploader", "producer", 1)
	auth := []string{"Authorization", "Bearer " + tok}
	problem(t, uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", "a.txt", "", bytes.Repeat([]byte("a"), 1025)}}, auth...), http.StatusRequestEntityTooLarge)
	problem(t, uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", "a.txt", "", bytes.Repeat([]byte("a"), 1024+16<<10+1)}}, auth...), http.StatusRequestEntityTooLarge)
	if r := uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", "a.txt", "", bytes.Repeat([]byte("a"), 1024)}}, auth...); r.status != http.StatusCreated {
		t.Fatalf("exactly the cap: %d %s", r.status, r.body)
	}
	if n := e.attachmentCount(); n != 1 {
		t.Fatalf("%d attachments, want only the one at the cap", n)
	}
	if n := e.events("attachment.uploaded"); n != 1 {
		t.Fatalf("%d upload events, want 1", n)
	}
}

// TestAttachmentsAccess: scenario rows per route. Another organization's
// ids and a venue manager outside their venue get 404 and nothing
// changes; viewers and stakeholders read and download but may not upload
// or delete (403 in their own organization).
func TestAttachmentsAccess(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	hallA := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	hallB := e.newProposal(producer, map[string]any{"title": "Expo", "venue_code": "HALL-B"})
	upload := func(pid string) string {
		r := e.upload(producer, pid, "rider.pdf", "application/pdf", testPDF(""))
		if r.status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		return r.json(t)["id"].(string)
	}
	attA, attB := upload(hallA), upload(hallB)
	callers := map[string]*http.Client{
		"globex admin":       e.signIn(globex.email(rampart.RoleAdmin)),
		"venue manager":      e.signIn(acme.email(rampart.RoleVenueManager)),
		"viewer":             e.signIn(acme.email(rampart.RoleViewer)),
		"stakeholder":        e.signIn(acme.email(rampart.RoleStakeholder)),
		"technical director": e.signIn(acme.email(rampart.RoleTechnicalDirector)),
	}
	type call struct {
		route string
		do    func(c *http.Client) resp
	}
	routes := func(pid, aid string) []call {
		return []call{
			{"POST upload", func(c *http.Client) resp { return e.upload(c, pid, "x.txt", "text/plain", []byte("x\n")) }},
			{"GET list", func(c *http.Client) resp { return e.do(c, http.MethodGet, "/api/proposals/"+pid+"/attachments", nil) }},
			{"GET download", func(c *http.Client) resp { return e.do(c, http.MethodGet, "/api/attachments/"+aid, nil) }},
			{"DELETE", func(c *http.Client) resp { return e.do(c, http.MethodDelete, "/api/attachments/"+aid, nil) }},
		}
	}
	for _, tc := range []struct {
		caller, pid, aid string
		want             [4]int // upload, list, download, delete
	}{
		{"globex admin", hallA, attA, [4]int{404, 404, 404, 404}},
		{"venue manager", hallB, attB, [4]int{404, 404, 404, 404}},
		{"viewer", hallA, attA, [4]int{403, 200, 200, 403}},
		{"stakeholder", hallA, attA, [4]int{403, 200, 200, 403}},
		{"technical director", hallA, attA, [4]int{403, 200, 200, 403}},
	} {
		before := e.scalar(`SELECT count(*)::int FROM attachments`)
		sum := e.scalar(`SELECT hashtext(string_agg(id::text || venue_code || filename, ',' ORDER BY id))::int FROM attachments`)
		for i, c := range routes(tc.pid, tc.aid) {
			r := c.do(callers[tc.caller])
			if r.status != tc.want[i] {
				t.Errorf("%s %s: %d, want %d: %s", tc.caller, c.route, r.status, tc.want[i], r.body)
			}
			if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s: %d without problem+json", tc.caller, c.route, r.status)
			}
		}
		if n, s := e.scalar(`SELECT count(*)::int FROM attachments`), e.scalar(`SELECT hashtext(string_agg(id::text || venue_code || filename, ',' ORDER BY id))::int FROM attachments`); n != before || s != sum {
			t.Errorf("%s: attachments changed (%d → %d)", tc.caller, before, n)
		}
	}
	// A malformed id is simply not found.
	problem(t, e.do(producer, http.MethodGet, "/api/attachments/not-a-uuid", nil), http.StatusNotFound)
	// The venue manager works on their own venue.
	vm := callers["venue manager"]
	if r := e.upload(vm, hallA, "vm.txt", "", []byte("ok\n")); r.status != http.StatusCreated {
		t.Fatalf("venue manager on their venue: %d %s", r.status, r.body)
	}
	if r := e.do(vm, http.MethodDelete, "/api/attachments/"+attA, nil); r.status != http.StatusNoContent {
		t.Fatalf("venue manager deletes on their venue: %d %s", r.status, r.body)
	}
}

// TestAttachmentsUploadTier: uploads draw on the upload tier (20/min per
// user by default): the 21st in a minute is refused with 429, and the
// user's other requests (api tier) are not.
func TestAttachmentsUploadTier(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	now := time.Unix(1_900_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, _ := e.serverWith(func(o *Options) {
		o.Limiter = ratelimit.NewLocal(clock) // one window, whatever the machine's speed
		o.Tiers = ratelimit.DefaultTiers()
	})
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	pid := e.newProposal(admin, map[string]any{"title": "Gala", "venue_code": "HALL-A"})
	tok := e.mintToken(admin, "", "uploader", "producer", 1)
	auth := []string{"Authorization", "Bearer " + tok}
	path := "/api/proposals/" + pid + "/attachments"
	for i := range 20 {
		r := uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", fmt.Sprintf("n%d.txt", i), "", []byte("note\n")}}, auth...)
		if r.status != http.StatusCreated || r.header.Get("RateLimit-Limit") != "20" {
			t.Fatalf("upload %d: %d, RateLimit-Limit %q: %s", i+1, r.status, r.header.Get("RateLimit-Limit"), r.body)
		}
	}
	r := uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", "n21.txt", "", []byte("note\n")}}, auth...)
	problem(t, r, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429 without Retry-After: %v", r.header)
	}
	if n := e.attachmentCount(); n != 20 {
		t.Fatalf("%d attachments, want 20", n)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set(auth[0], auth[1])
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("RateLimit-Limit") != "60" {
		t.Fatalf("list after the upload budget is spent: %d, RateLimit-Limit %q", res.StatusCode, res.Header.Get("RateLimit-Limit"))
	}
	// A minute later the budget is back.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if r := uploadTo(t, srv.Client(), srv.URL, path, []part{{"file", "later.txt", "", []byte("note\n")}}, auth...); r.status != http.StatusCreated {
		t.Fatalf("a minute later: %d %s", r.status, r.body)
	}
}

// TestAttachmentsOpenAPI: the routes are documented with a multipart
// body and example answers.
func TestAttachmentsOpenAPI(t *testing.T) {
	e := setup(t)
	r := e.do(e.client(), http.MethodGet, "/openapi.json", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string `json:"summary"`
			Description string `json:"description"`
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Required   []string                  `json:"required"`
						Properties map[string]map[string]any `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]struct {
					Example any `json:"example"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	up := doc.Paths["/api/proposals/{id}/attachments"]["post"]
	mp := up.RequestBody.Content["multipart/form-data"]
	if len(mp.Schema.Required) != 1 || mp.Schema.Required[0] != "file" || mp.Schema.Properties["file"]["format"] != "binary" {
		t.Errorf("upload body: %+v", up.RequestBody)
	}
	if ex, _ := up.Responses["201"].Content["application/json"].Example.(map[string]any); ex["content_type"] != "application/pdf" || up.Summary == "" {
		t.Errorf("upload: no example answer: %+v", up.Responses["201"])
	}
	if ex, _ := doc.Paths["/api/proposals/{id}/attachments"]["get"].Responses["200"].Content["application/json"].Example.(map[string]any); ex["attachments"] == nil {
		t.Error("list: no example answer")
	}
	for _, method := range []string{"get", "delete"} {
		if op := doc.Paths["/api/attachments/{id}"][method]; op.Summary == "" || op.Description == "" {
			t.Errorf("%s /api/attachments/{id}: not documented", method)
		}
	}
}
