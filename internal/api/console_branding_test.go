package api

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

var styleAttrRE = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)

// TestConsoleBranding: an admin's colours and name reach their
// organization's pages through the nonce'd <style> element (never a
// style attribute) and no other organization's; a colour that is not
// exactly #rrggbb (a CSS injection attempt) is a 400 beside the field
// with nothing stored; the logo must be a PNG or JPEG by content within
// the cap, and is served with its type and nosniff to its organization
// only; other roles may not change it.
func TestConsoleBranding(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	producer := e.signIn(acme.email(rampart.RoleProducer))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))

	r := e.form(admin, "/admin/branding", url.Values{"display_name": {"Acme Live Events"}, "primary": {"#1A2B3C"}, "accent": {"#006633"}})
	assertSafePage(t, "branding", r)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, `id="brand-style">:root{--brand-bg:#1a2b3c;--brand-accent:#006633;}</style>`) ||
		!strings.Contains(body, "Acme Live Events") || styleAttrRE.MatchString(body) {
		t.Fatalf("branded page: %d\n%s", r.status, body)
	}
	_, nonce, _ := strings.Cut(r.header.Get("Content-Security-Policy"), "'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	if !strings.Contains(body, `<style nonce="`+nonce+`" id="brand-style">`) {
		t.Errorf("the brand stylesheet lacks the response's nonce")
	}
	if p := e.page(producer, "/proposals"); !strings.Contains(string(p.body), "--brand-bg:#1a2b3c") {
		t.Errorf("a member's page is not branded")
	}
	if o := e.page(outsider, "/proposals"); strings.Contains(string(o.body), "brand-style") || strings.Contains(string(o.body), "Acme Live Events") {
		t.Errorf("another organization's page carries acme's branding")
	}

	// Injection attempts and bad values: 400 beside the field, nothing stored.
	stored := e.scalarString(`SELECT branding::text FROM organizations WHERE id = $1`, acme.org.ID)
	for field, bad := range map[string]string{"primary": "red;}body{display:none", "accent": "#12345", "display_name": strings.Repeat("x", 101), "pale": "#a1b2c3"} {
		v := url.Values{"display_name": {"Acme"}, "primary": {"#000000"}, "accent": {"#1f4aa8"}}
		if field == "pale" {
			field = "accent" // a colour white text cannot be read on
		}
		v.Set(field, bad)
		r := e.form(admin, "/admin/branding", v)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `field-error`) || strings.Contains(string(r.body), "display:none;") {
			t.Errorf("%s=%q: %d", field, bad, r.status)
		}
	}
	if now := e.scalarString(`SELECT branding::text FROM organizations WHERE id = $1`, acme.org.ID); now != stored {
		t.Errorf("a refused change was stored: %s → %s", stored, now)
	}
	if r := e.form(producer, "/admin/branding", url.Values{"primary": {"#ff0000"}}); r.status != http.StatusForbidden {
		t.Errorf("producer changing the branding: %d", r.status)
	}

	// The logo: by content, within the cap, served with nosniff.
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	for name, bad := range map[string][]byte{
		"html.png":  []byte("<html><script>alert(1)</script></html>"),
		"svg.png":   []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"large.png": append(append([]byte{}, png...), bytes.Repeat([]byte{0}, rampart.MaxLogoBytes)...),
	} {
		r := uploadTo(t, admin, e.srv.URL, "/admin/branding/logo", []part{{"file", name, "image/png", bad}})
		if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("logo %s: %d", name, r.status)
		}
	}
	if r := e.do(admin, "GET", "/branding/logo", nil); r.status != http.StatusNotFound {
		t.Errorf("a refused logo was stored: %d", r.status)
	}
	if r := uploadTo(t, admin, e.srv.URL, "/admin/branding/logo", []part{{"file", "logo.bin", "application/octet-stream", png}}); r.status != 200 ||
		!strings.Contains(string(r.body), `id="brand-logo"`) {
		t.Fatalf("logo upload: %d", r.status)
	}
	// The audit event keeps the logo's hash and size, not its bytes.
	after := e.scalarString(`SELECT after::text FROM audit_events WHERE action = 'organization.branding.updated' ORDER BY id DESC LIMIT 1`)
	if !strings.Contains(after, `"logo_sha256"`) || strings.Contains(after, base64.StdEncoding.EncodeToString(png)) || strings.Contains(after, `"logo":`) {
		t.Errorf("branding audit snapshot: %s", after)
	}
	l := e.do(admin, "GET", "/branding/logo", nil)
	if l.status != 200 || l.header.Get("Content-Type") != "image/png" || l.header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(l.body, png) {
		t.Errorf("logo: %d %v", l.status, l.header)
	}
	if o := e.do(outsider, "GET", "/branding/logo", nil); o.status != http.StatusNotFound || bytes.Equal(o.body, png) {
		t.Errorf("another organization's logo: %d", o.status)
	}
}

// TestConsoleOrgSignIn: an organization's sign-in URL shows its public
// name and logo and nothing else (no member, proposal or colour); an
// unknown slug is 404; the logo is served with its type and nosniff.
func TestConsoleOrgSignIn(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	anon := e.client()
	slug := e.scalarString(`SELECT slug FROM organizations WHERE id = $1`, acme.org.ID)
	r := e.page(anon, "/o/"+slug)
	assertSafePage(t, "org sign-in", r)
	name := e.scalarString(`SELECT name FROM organizations WHERE id = $1`, acme.org.ID)
	if r.status != 200 || !strings.Contains(string(r.body), `id="org-public-name">`+name+`<`) || strings.Contains(string(r.body), `id="org-logo"`) {
		t.Fatalf("org sign-in: %d\n%s", r.status, r.body)
	}
	if r := e.page(anon, "/o/no-such-org"); r.status != http.StatusNotFound {
		t.Errorf("unknown slug: %d", r.status)
	}
	if r := e.page(anon, "/o/"+slug+"/logo"); r.status != http.StatusNotFound {
		t.Errorf("logo before one is set: %d", r.status)
	}
	if r := e.form(admin, "/admin/branding", url.Values{"display_name": {"Acme Public"}, "primary": {"#123456"}}); r.status != 200 {
		t.Fatalf("branding: %d", r.status)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 32)...)
	if r := uploadTo(t, admin, e.srv.URL, "/admin/branding/logo", []part{{"file", "l.png", "image/png", png}}); r.status != 200 {
		t.Fatalf("logo: %d", r.status)
	}
	r = e.page(anon, "/o/"+slug)
	body := string(r.body)
	if !strings.Contains(body, `id="org-public-name">Acme Public<`) || !strings.Contains(body, `id="org-logo"`) || strings.Contains(body, "#123456") ||
		strings.Contains(body, acme.email(rampart.RoleAdmin)) {
		t.Errorf("branded org sign-in: %s", body)
	}
	l := e.page(anon, "/o/"+slug+"/logo")
	if l.status != 200 || l.header.Get("Content-Type") != "image/png" || l.header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(l.body, png) {
		t.Errorf("public logo: %d %v", l.status, l.header)
	}
}
