package console

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/mail"
)

// demoFor reports whether the demo mailbox is offered to this request:
// only with --demo, only to a browser that holds the mailbox secret
// (demoAuthorized), so the home page never points anyone else at it.
func (s *site) demoFor(r *http.Request) bool {
	return s.demoAuthorized(r)
}

// demoCookieName holds the demo mailbox secret after the printed link was
// opened once, so the secret leaves the URL (and the history) at once.
const demoCookieName = "__Host-rampart_demo"

// forwardingHeaders are set by reverse proxies, tunnels and CDNs. A
// request that carries any of them came through one, and loopback is then
// the proxy, not the person: the mailbox is refused.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Forwarded-Server", "X-Real-Ip", "Via", "True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip",
	"X-Cluster-Client-Ip", "Fastly-Client-Ip", "X-Original-Forwarded-For"}

// demoPeerAllowed is the part of the mailbox check that needs no secret:
// --demo, a loopback TCP peer (not the client address a trusted proxy
// reports) and no forwarding header.
func (s *site) demoPeerAllowed(r *http.Request) bool {
	if !s.demo || len(s.demoKey) < 32 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return false
	}
	for _, h := range forwardingHeaders {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			return false
		}
	}
	return true
}

// demoAuthorized reports whether r may read the demo mailbox: an allowed
// peer (demoPeerAllowed) holding the secret printed at start, in the
// cookie or (for scripts) the key query parameter.
func (s *site) demoAuthorized(r *http.Request) bool {
	if !s.demoPeerAllowed(r) {
		return false
	}
	if ck, err := r.Cookie(demoCookieName); err == nil && s.demoKeyMatches(ck.Value) {
		return true
	}
	return s.demoKeyMatches(r.URL.Query().Get("key"))
}

func (s *site) demoKeyMatches(v string) bool {
	return v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(s.demoKey)) == 1
}

// demoPage lists the mail in the outbox (no SMTP configured), newest
// first: the demo's sign-in links and invites, for every address. A
// magic link signs its holder in, so the page answers only with --demo, to
// a loopback peer that came through no proxy and holds the secret that
// `rampart serve --demo` prints; everyone else gets the same 404 as a
// path that does not exist. Opening the printed link moves the secret
// into a cookie and redirects, so it leaves the URL. With Accept:
// application/json the answer is the messages as JSON (for scripts).
func (s *site) demoPage(w http.ResponseWriter, r *http.Request) error {
	if !s.demoAuthorized(r) {
		edge.NotFound(w, r)
		return nil
	}
	edge.NoStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.URL.Query().Has("key") && !wantsJSON(r) {
		http.SetCookie(w, &http.Cookie{Name: demoCookieName, Value: s.demoKey, Path: "/", MaxAge: 12 * 3600,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/demo", http.StatusSeeOther)
		return nil
	}
	d := pageData{Title: "Rampart demo mailbox", Demo: true}
	if ob, ok := s.mailer.(*mail.Outbox); ok {
		msgs, err := ob.Recent(50)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			d.Links = append(d.Links, m.Message)
		}
	}
	if wantsJSON(r) {
		if d.Links == nil {
			d.Links = []mail.Message{}
		}
		edge.WriteJSON(w, http.StatusOK, map[string]any{"messages": d.Links})
		return nil
	}
	return renderPage(w, r, http.StatusOK, "demo", d)
}
