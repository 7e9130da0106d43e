package console

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/branding"
	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/member"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// The signed-in console: every page is an edge Page (authenticated like
// an API route, with the same claims, rate limits and error kinds) whose
// refusals and errors are rendered as pages by s.fail.

// view is what every signed-in page's template gets: the layout's data
// (who, where, which sections) and the page's own Data.
type view struct {
	Title   string
	Nonce   string
	Section string // the navigation entry of the page
	Me      member.Profile
	Claims  rampart.Claims
	Admin   bool // may manage members and the kill switch
	// CostAccess: the role has full cost access (the vendor directory's
	// entry in the navigation).
	CostAccess bool
	// Brand is the organization's branding, applied by the layout.
	Brand rampart.Branding
	Flash string
	Data  any
}

// flashes are the only messages a redirect can ask a page to show (by
// key, so no text is reflected from the URL).
var flashes = map[string]string{
	"created":           "Created.",
	"saved":             "Saved.",
	"deleted":           "Deleted.",
	"approved":          "Approved: the proposal is no longer pending review.",
	"uploaded":          "Uploaded.",
	"signed":            "The statement of work is signed.",
	"unsigned":          "The statement of work is unsigned; the reason is in the audit log.",
	"actualized":        "The budget line is actualized.",
	"unactualize":       "The budget line is back to planned; the reason is in the audit log.",
	"invited":           "Invitation sent.",
	"resent":            "Invitation sent again with a fresh link.",
	"revoked":           "Revoked.",
	"switch-on":         "The organization kill switch is ON: no new AI work runs.",
	"switch-off":        "The organization kill switch is off: AI work may run.",
	"switched":          "Switched organization.",
	"signed-out":        "Every other session of yours is signed out.",
	"member-signed-out": "The member's sessions in this organization have ended.",
	"agent-approved":    "Approved: the change is applied as you.",
	"agent-rejected":    "Rejected; the reason is in the audit log.",
	"erased":            "The member's data is erased; the audit log records what was done.",
	"export-requested":  "The export is being built; issue its download link when it is ready.",
	"learning-reset":    "The learned patterns are reset: the rankers use their base weights.",
	"removed":           "The member is removed; their sessions here ended and their tokens and invites are revoked.",
}

var funcs = template.FuncMap{
	"asset": assetURL,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"roles":      func() []rampart.Role { return rampart.Roles },
	"categories": func() []rampart.BOMCategory { return rampart.BOMCategories },
	"priceBands": func() []string { return []string{"1", "2", "3", "4"} },
	"pathEscape": url.PathEscape,
	// body renders an AI body: stored sanitised, run through the current
	// policy again here, so the one conversion to template.HTML in the
	// console is of sanitize.HTML.
	"body":   func(stored string) template.HTML { return template.HTML(sanitize.Resanitize(stored).String()) }, // #nosec G203 -- sanitised by the allow-list (sanitize.Resanitize)
	"micros": func(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) },
	"money": func(m *rampart.Money) string {
		if m == nil {
			return ""
		}
		return m.Amount() + " " + m.Currency
	},
	"add":      func(a, b int) int { return a + b },
	"jsonText": func(b []byte) string { return string(b) },
	"short": func(s string) string {
		if len(s) > 8 {
			return s[:8]
		}
		return s
	},
}

var pages = template.Must(template.New("console").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))

// render writes a signed-in page: the layout with the navigation, the
// organization switcher and the sign-out buttons, around template name.
func (s *site) render(w http.ResponseWriter, r *http.Request, c rampart.Claims, status int, name string, v view) error {
	me, err := member.Me(r.Context(), s.store, c)
	if err != nil {
		return err
	}
	v.Me, v.Claims, v.Nonce = me, c, edge.CSPNonce(r.Context())
	v.Admin = access.Can(c, access.ActionManageMembers, access.Resource{Kind: access.KindMember})
	v.CostAccess = access.HasFullCostAccess(c.Role)
	if v.Brand, err = branding.Get(r.Context(), s.store, c); err != nil {
		return err
	}
	if v.Flash == "" {
		v.Flash = flashes[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		return rampart.Wrap("console.render", rampart.KindInternal, err)
	}
	edge.NoStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// failView is the data of the error page.
type failView struct {
	Title, Nonce, Detail string
	Status               int
	SignIn               bool
	Back                 string
	// Continue is the page itself, for a signed-in page that a link on
	// another site led to: the edge refuses it unread (nothing of the page
	// is in this answer), and following the link from here is a same-site
	// navigation.
	Continue string
}

// fail is the pages' failure renderer (edge.PageFailure): a readable page
// with the status, the problem's safe detail and a way on; not signed in
// is the sign-in form. The chain's security headers are already set.
func (s *site) fail(w http.ResponseWriter, r *http.Request, p edge.Problem) {
	v := failView{Title: p.Title, Nonce: edge.CSPNonce(r.Context()), Detail: p.Detail, Status: p.Status,
		SignIn: p.Status == http.StatusUnauthorized, Back: sameSiteBack(r)}
	switch p.Status {
	case http.StatusNotFound:
		v.Title, v.Detail = "Not found", "There is nothing here, or it belongs to another organization."
	case http.StatusUnauthorized:
		v.Title = "Sign in"
	case http.StatusInternalServerError:
		v.Detail = "Something went wrong on our side. It has been logged; try again."
	case http.StatusForbidden:
		if strings.HasSuffix(p.Type, "/cross-origin") && r.Method == http.MethodGet {
			v.Title, v.Detail = "Opened from another site", "You followed a link from another site. Rampart does not show signed-in pages to another site's links; continue here to open it."
			if u := r.URL.RequestURI(); strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.ContainsRune(u, '\\') {
				v.Continue = u
			}
		}
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, "failure", v); err != nil {
		s.log.ErrorContext(r.Context(), "render the failure page", "err", err)
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	edge.NoStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}

// sameSiteBack is where the failure page's "Back" link goes: the page the
// form was on, when the browser says it was this site's (a path only,
// never another origin), otherwise the proposals.
func sameSiteBack(r *http.Request) string {
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, "/") &&
		!strings.HasPrefix(ref.Path, "//") && !strings.ContainsRune(ref.Path, '\\') {
		return ref.Path
	}
	return "/proposals"
}

// page mounts a signed-in page.
func (s *site) page(pattern string, h edge.AuthedHandler) { s.edge.Page(pattern, s.fail, h) }

// done redirects after a successful form (303: the browser GETs the page).
func done(w http.ResponseWriter, r *http.Request, to, flash string) error {
	u, frag, _ := strings.Cut(to, "#")
	if flash != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "done=" + flash
	}
	if frag != "" {
		u += "#" + frag
	}
	http.Redirect(w, r, u, http.StatusSeeOther) // #nosec G710 -- every caller passes a local path it builds ("/proposals/…"), the flash is a fixed word
	return nil
}

// maxForm bounds a form body (uploads have their own cap).
const maxForm = 64 << 10

// form reads a urlencoded form within maxForm.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, rampart.Errorf("console.form", rampart.KindTooLarge, "the form is larger than %d bytes", maxForm)
		}
		return nil, rampart.Errorf("console.form", rampart.KindInvalid, "the form could not be read")
	}
	return r.PostForm, nil
}

// action is a form post about the object the path's {id} names: it reads
// the id (malformed: a 404 page) and the form, runs fn — a use case — and
// redirects to the page fn names with its flash. A refusal of the use case
// is the page of its error.
func action(w http.ResponseWriter, r *http.Request, fn func(id uuid.UUID, v url.Values) (to, flash string, err error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := form(w, r)
	if err != nil {
		return err
	}
	to, flash, err := fn(id, v)
	if err != nil {
		return err
	}
	return done(w, r, to, flash)
}

// pathID is the {name} path value as an id; a malformed one is the same
// 404 as an unknown one.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil || len(r.PathValue(name)) != 36 {
		return uuid.UUID{}, rampart.Errorf("console.pathID", rampart.KindNotFound, "not found")
	}
	return id, nil
}

// parseUUID parses a canonical id.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.UUID{}, errors.New("not an id")
	}
	return uuid.Parse(s)
}
