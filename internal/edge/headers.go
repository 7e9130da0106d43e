package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

type nonceKey struct{}

// CSPNonce returns the request's CSP nonce ("" outside a request).
func CSPNonce(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}

// securityHeaders sets the headers every response carries (API, pages,
// errors, 404s) and puts a fresh CSP nonce in the context for templates.
// Scripts and styles run only with the nonce: no 'unsafe-inline', no
// 'unsafe-eval'; nothing may frame the site.
func securityHeaders(w http.ResponseWriter, r *http.Request) *http.Request {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	// Hex: valid in a CSP nonce and never escaped by html/template (base64's
	// '+' would be written as &#43; in the attribute).
	nonce := hex.EncodeToString(b)
	h := w.Header()
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"' 'strict-dynamic'; style-src 'nonce-"+nonce+"'; "+
		"img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'")
	return r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce))
}

// NoStore forbids every cache to keep the answer (pages with personal
// data or links; /api and /auth answers get Cache-Control: no-store from
// the chain already).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// SecurityHeaders sets the headers and CSP nonce of the main chain on a
// response served outside the Router (the loopback operator console,
// internal/operator), so both listeners answer under one policy.
func SecurityHeaders(w http.ResponseWriter, r *http.Request) *http.Request {
	return securityHeaders(w, r)
}
