package api

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/rampart-dev/rampart/internal/demo"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

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
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	d := pageData{Title: "Rampart", Demo: s.demoFor(r)}
	if c := s.signedInUser(w, r); c != nil {
		me := meResponse{Role: c.Role, VenueCodes: c.VenueCodes}
		err := s.store.InTenant(r.Context(), *c, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if me.Organization, err = tx.Organization(ctx, c.OrganizationID); err != nil {
				return err
			}
			u, err := tx.User(ctx, c.UserID)
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
// only with --demo and only to a peer on this host.
func (s *Server) demoFor(r *http.Request) bool {
	return s.demo && isLoopback(r)
}

// demoPage lists the mails that went to the log (no SMTP configured) and
// were addressed to the demo users (@demo.rampart.test): the demo's
// sign-in and invite links. A magic link signs its holder in, so the page
// is served only to loopback peers (404 for anyone else, as if it did not
// exist) and never shows mail to a real address — an invite to a real
// person stays in the log.
func (s *Server) demoPage(w http.ResponseWriter, r *http.Request) error {
	if !s.demoFor(r) {
		s.notFound(w, r)
		return nil
	}
	noStore(w)
	d := pageData{Title: "Rampart demo mailbox", Demo: true}
	if ls, ok := s.mailer.(*mail.LogSender); ok {
		for _, m := range ls.Recent() {
			if isDemoAddress(m.To) {
				d.Links = append(d.Links, m)
			}
		}
	}
	return renderPage(w, r, http.StatusOK, "demo", d)
}

// isDemoAddress reports whether addr is a demo user's address.
func isDemoAddress(addr string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSpace(addr)), "@"+demo.Domain)
}
