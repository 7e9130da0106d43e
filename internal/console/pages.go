package console

import (
	"bytes"
	"embed"
	"net/http"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
)

//go:embed templates/*.html
var templateFS embed.FS

type pageData struct {
	Title   string
	HasLink bool
	Me      *member.Profile
	Links   []mail.Message
	Demo    bool
	Error   string
	Account string // the masked address a magic link signs into
	Nonce   string // the response's CSP nonce, for inline style and script
	// OrgName and OrgLogo (a URL) are an organization's public sign-in
	// view (GET /o/{slug}).
	OrgName, OrgLogo string
}

func renderPage(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) error {
	d.Nonce = edge.CSPNonce(r.Context())
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		return rampart.Wrap("console.renderPage", rampart.KindInternal, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// home shows who is signed in (member.Me, as /api/me), or how to sign in.
func (s *site) home(w http.ResponseWriter, r *http.Request) error {
	edge.NoStore(w)
	d := pageData{Title: "Rampart", Demo: s.demoFor(r)}
	if c := s.edge.SignedInUser(w, r); c != nil {
		me, err := member.Me(r.Context(), s.store, *c)
		if err != nil {
			return err
		}
		d.Me = &me
	}
	return renderPage(w, r, http.StatusOK, "home", d)
}
