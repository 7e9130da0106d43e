package api

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"

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
}

func renderPage(w http.ResponseWriter, status int, name string, d pageData) error {
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
	d := pageData{Title: "Rampart", Demo: s.demo}
	if c := s.signedInUser(r); c != nil {
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
	return renderPage(w, http.StatusOK, "home", d)
}

// demoPage lists the mails that went to the log (no SMTP configured):
// the demo's sign-in and invite links.
func (s *Server) demoPage(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	d := pageData{Title: "Rampart demo mailbox", Demo: true}
	if ls, ok := s.mailer.(*mail.LogSender); ok {
		d.Links = ls.Recent()
	}
	return renderPage(w, http.StatusOK, "demo", d)
}
