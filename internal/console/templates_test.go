package console

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestTemplatesHaveNoInlineCode parses every template's source and fails
// on what the CSP would block or what would need 'unsafe-*' to work: an
// inline event handler (on…=), a script or stylesheet element without the
// response's nonce, a style attribute, a javascript: URL.
func TestTemplatesHaveNoInlineCode(t *testing.T) {
	t.Parallel()
	handler := regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	script := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	style := regexp.MustCompile(`(?i)<style\b[^>]*>|<link\b[^>]*rel="stylesheet"[^>]*>`)
	styleAttr := regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) < 5 {
		t.Fatalf("templates: %v %v", files, err)
	}
	for _, name := range files {
		b, err := templateFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		if m := handler.FindString(src); m != "" {
			t.Errorf("%s: inline event handler: %s", name, m)
		}
		if m := styleAttr.FindString(src); m != "" {
			t.Errorf("%s: style attribute (needs 'unsafe-inline'): %s", name, m)
		}
		if strings.Contains(strings.ToLower(src), "javascript:") {
			t.Errorf("%s: a javascript: URL", name)
		}
		for _, re := range []*regexp.Regexp{script, style} {
			for _, tag := range re.FindAllString(src, -1) {
				if !strings.Contains(tag, `nonce="{{.Nonce}}"`) {
					t.Errorf("%s: %s without the nonce", name, tag)
				}
			}
		}
	}
	// The lint can fail: an inline handler is caught.
	if !handler.MatchString(`<button onclick="x()">`) || !handler.MatchString(`<a href="/" ONMOUSEOVER = "x">`) {
		t.Fatal("the handler pattern does not catch inline handlers")
	}
}

// htmxSHA256 is the SHA-256 of dist/htmx.min.js in the npm package
// htmx.org@2.0.11 (`npm pack htmx.org@2.0.11`; tarball integrity
// sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==).
const htmxSHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

// TestVendoredHTMXIsThePinnedRelease: the committed library is byte for
// byte the pinned release, and its licence travels with it.
func TestVendoredHTMXIsThePinnedRelease(t *testing.T) {
	t.Parallel()
	b, err := staticFS.ReadFile("static/htmx-2.0.11.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != htmxSHA256 {
		t.Fatalf("static/htmx-2.0.11.min.js has SHA-256 %s, want %s (the npm release)", got, htmxSHA256)
	}
	lic, err := staticFS.ReadFile("static/htmx-LICENSE.txt")
	if err != nil || !strings.Contains(string(lic), "Zero-Clause BSD") {
		t.Fatalf("the htmx licence is missing: %v", err)
	}
}

// TestAssetURLsCarryTheirHash: every asset's URL names the first bytes of
// its content's SHA-256, so a changed file is a new URL.
func TestAssetURLsCarryTheirHash(t *testing.T) {
	t.Parallel()
	for _, name := range assetFiles {
		b, _ := staticFS.ReadFile("static/" + name)
		sum := sha256.Sum256(b)
		if u := assetURL(name); !strings.Contains(u, "."+hex.EncodeToString(sum[:6])+".") {
			t.Errorf("%s: URL %s does not carry its hash", name, u)
		}
	}
}
