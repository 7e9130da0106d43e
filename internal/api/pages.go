package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"html/template"
	"net"
	"net/http"
	"net/netip"

	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// pageAPI is the server-rendered home page and the demo mailbox.
type pageAPI struct{ *Server }

func (s pageAPI) routes() {
	s.public("GET /{$}", s.home)
	if s.demo {
		s.public("GET /demo", s.demoPage) // loopback peers with the printed secret only (demoPage)
	}
}

//go:embed pages/*.html
var pageFS embed.FS

var pages = template.Must(template.ParseFS(pageFS, "pages/*.html"))

type pageData struct {
	Title   string
	HasLink bool
	Me      *meResponse
	Links   []mail.Message
	Demo    bool
	Error   string
	Account string // the masked address a magic link signs into
	Nonce   string // the response's CSP nonce, for inline style and script
}

func renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) error {
	d.Nonce = cspNonce(r.Context())
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		return rampart.Wrap("api.renderPage", rampart.KindInternal, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// home shows who is signed in, or how to sign in.
func (s pageAPI) home(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	d := pageData{Title: "Rampart", Demo: s.demoFor(r)}
	if c := s.signedInUser(w, r); c != nil {
		me := meResponse{Role: c.Role, VenueCodes: c.VenueCodes}
		err := s.store.InTenant(r.Context(), *c, func(ctx context.Context, tx *store.TenantTx) error {
			var err error
			if me.Organization, err = tx.Organization(ctx); err != nil {
				return err
			}
			u, err := tx.Account().User(ctx, c.UserID)
			me.User = &u
			return err
		})
		if err != nil {
			return err
		}
		d.Me = &me
	}
	return renderPage(w, r, http.StatusOK, "home", d)
}

// demoFor reports whether the demo mailbox is offered to this request:
// only with --demo, only to a browser that holds the mailbox secret
// (demoAuthorized), so the home page never points anyone else at it.
func (s *Server) demoFor(r *http.Request) bool {
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
func (s *Server) demoPeerAllowed(r *http.Request) bool {
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
func (s *Server) demoAuthorized(r *http.Request) bool {
	if !s.demoPeerAllowed(r) {
		return false
	}
	if ck, err := r.Cookie(demoCookieName); err == nil && s.demoKeyMatches(ck.Value) {
		return true
	}
	return s.demoKeyMatches(r.URL.Query().Get("key"))
}

func (s *Server) demoKeyMatches(v string) bool {
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
func (s pageAPI) demoPage(w http.ResponseWriter, r *http.Request) error {
	if !s.demoAuthorized(r) {
		s.notFound(w, r)
		return nil
	}
	noStore(w)
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
		writeJSON(w, http.StatusOK, map[string]any{"messages": d.Links})
		return nil
	}
	return renderPage(w, r, http.StatusOK, "demo", d)
}
