package operator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Backend is what the pages need of the service path; the command that
// starts the console implements it (only commands open the service path).
// Errors carry a rampart Kind (invalid for a bad reason).
type Backend interface {
	// GlobalKillSwitch is the global switch, each live process's
	// acknowledgement of its latest change, and its last changes.
	GlobalKillSwitch(ctx context.Context) (killswitch.SwitchAcks, []store.KillSwitchChange, error)
	// SetGlobalKillSwitch raises (active) or lowers the global switch as
	// actor, with reason: the use case and audit of the CLI.
	SetGlobalKillSwitch(ctx context.Context, actor string, active bool, reason string) error
	// Organizations lists the organizations with their switch.
	Organizations(ctx context.Context) ([]store.OrgKillSwitch, error)
	// OrganizationKillSwitch is one organization and each live
	// process's acknowledgement of its switch's latest change; an
	// unknown id is KindNotFound.
	OrganizationKillSwitch(ctx context.Context, id uuid.UUID) (rampart.Organization, killswitch.SwitchAcks, error)
}

// Options configure a Server.
type Options struct {
	Backend Backend
	// Actor names the operator in the audit log, e.g. "operator:alice".
	Actor  string
	Logger *slog.Logger
	// SessionTTL bounds the session the token is exchanged for (default 12 h).
	SessionTTL time.Duration
	// IdleTimeout ends the session after this long without a request
	// (default 30 min): a cookie lifted from the browser (other services
	// on 127.0.0.1 receive it: cookies are not scoped by port) stops
	// working soon after the operator stops using the console.
	IdleTimeout time.Duration
	Now         func() time.Time
}

// CookieName is the session cookie of the operator console.
const CookieName = "rampart_operator"

// Server is the operator console's HTTP handler. Its session state is in
// memory: a restart prints a new URL and forgets the old session.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	cop    *http.CrossOriginProtection
	tmpl   map[string]*template.Template
	addrMu sync.Mutex
	hosts  map[string]bool // the Host values accepted (set by Listening)

	mu        sync.Mutex
	tokenHash [32]byte // SHA-256 of the one-time token; zero once spent
	spent     bool
	session   [32]byte // SHA-256 of the session cookie's value
	csrf      string
	expires   time.Time
	lastSeen  time.Time // the session's last authenticated request (IdleTimeout)
	sections  []section
}

// New returns a Server and its one-time token, to be put in the URL the
// command prints (Server.URL).
func New(opts Options) (*Server, string, error) {
	if opts.Backend == nil || strings.TrimSpace(opts.Actor) == "" {
		return nil, "", errors.New("operator console: Backend and Actor are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	token := randomHex()
	//rampart:router-bypass the loopback operator console (decision 0027): a separate listener with its own token, session, CSRF and Host checks, never the public one
	s := &Server{opts: opts, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(), hosts: map[string]bool{},
		tokenHash: sha256.Sum256([]byte(token))}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "This request came from another site: refused, nothing changed.")
	}))
	tm, err := parseTemplates()
	if err != nil {
		return nil, "", err
	}
	s.tmpl = tm
	s.mux.HandleFunc("GET /static/{file}", s.static) //rampart:router-bypass the operator console's listener
	for _, sec := range sections {
		sec.register(&site{s})
		s.sections = append(s.sections, sec)
	}
	//rampart:router-bypass the operator console's listener
	s.mux.HandleFunc("POST /signout", s.signOut)
	//rampart:router-bypass the operator console's listener
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.sections[0].path, http.StatusSeeOther)
	})
	return s, token, nil
}

// Listening records the address the console is bound to: only requests
// whose Host names it are served (a DNS-rebinding page on another name is
// refused).
func (s *Server) Listening(addr net.Addr) {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	_, port, _ := net.SplitHostPort(addr.String())
	host, _, _ := net.SplitHostPort(addr.String())
	s.hosts[net.JoinHostPort(host, port)] = true
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		s.hosts[net.JoinHostPort("localhost", port)] = true
	}
}

// URL is the address to open: it carries the one-time token.
func URL(addr net.Addr, token string) string {
	return "http://" + addr.String() + "/?token=" + url.QueryEscape(token)
}

// ServeHTTP answers with the main chain's security headers, after the
// Host check, the token exchange or the session check, and the
// cross-origin check for writes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = edge.SecurityHeaders(w, r)
	w.Header().Set("Cache-Control", "no-store")
	if !s.hostOK(r) {
		s.fail(w, r, http.StatusMisdirectedRequest, "This console answers only on the loopback address it printed.")
		return
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		s.exchange(w, r, tok)
		return
	}
	if !s.authenticated(r) {
		s.fail(w, r, http.StatusUnauthorized, "Not signed in: open the URL `rampart operator console` printed (its token works once), or start the console again.")
		return
	}
	if r.Method == http.MethodPost {
		if err := s.cop.Check(r); err != nil {
			s.fail(w, r, http.StatusForbidden, "This request came from another site: refused, nothing changed.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || !s.csrfOK(r.PostForm.Get("csrf")) {
			s.fail(w, r, http.StatusForbidden, "The form's CSRF token is missing or wrong: reload the page and try again. Nothing changed.")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// exchange spends the one-time token for a session cookie and redirects
// to the same page without the token.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, tok string) {
	sum := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	ok := !s.spent && subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) == 1 && r.Method == http.MethodGet
	var cookie string
	if ok {
		s.spent, s.tokenHash = true, [32]byte{}
		cookie = randomHex()
		s.session = sha256.Sum256([]byte(cookie))
		s.csrf = randomHex()
		s.expires = s.opts.Now().Add(s.opts.SessionTTL)
		s.lastSeen = s.opts.Now()
	}
	s.mu.Unlock()
	if !ok {
		s.opts.Logger.Warn("operator console: a token was refused (wrong, or already used)")
		s.fail(w, r, http.StatusUnauthorized, "This sign-in URL is not valid (a token works once): start `rampart operator console` again for a new one.")
		return
	}
	s.opts.Logger.Info("operator console: the one-time token was exchanged for a session")
	// Secure=false: the console is plain HTTP on loopback only (a Secure
	// cookie would never be sent back); HttpOnly and SameSite=Strict hold.
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: cookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, // #nosec G124 -- plain HTTP on a loopback address only: Secure would drop the cookie; HttpOnly and SameSite=Strict are set
		MaxAge: int(s.opts.SessionTTL.Seconds())})
	http.Redirect(w, r, withoutToken(r.URL), http.StatusSeeOther) // #nosec G710 -- withoutToken returns a cleaned local path of this console (never "//host"), with the query minus the token
}

// withoutToken is where the token exchange sends the browser: the same
// page without the token, and never another host. A path that is not a
// plain local one ("//host", "/\\host", or one with a control character,
// which browsers strip: "/\t/host" would become "//host") becomes "/", and
// the result is encoded, so no raw control character reaches Location.
func withoutToken(u *url.URL) string {
	q := u.Query()
	q.Del("token")
	target := path.Clean("/" + u.Path)
	if strings.HasPrefix(target, "//") || strings.ContainsFunc(target, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		target = "/"
	}
	return (&url.URL{Path: target, RawQuery: q.Encode()}).String()
}

// signOut ends the session on the server (the cookie is worthless from
// then on, wherever a copy went) and clears it in this browser.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.session, s.csrf, s.expires = [32]byte{}, "", time.Time{}
	s.mu.Unlock()
	s.opts.Logger.Info("operator console: signed out")
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode}) // #nosec G124 -- clears the loopback cookie (plain HTTP: Secure would not reach it)
	s.render(w, r, http.StatusOK, "problem", "Signed out", "Signed out: this session is over, wherever its cookie went. Start `rampart operator console` again for a new URL.")
}

// hostOK reports whether r names the loopback address the console
// listens on.
func (s *Server) hostOK(r *http.Request) bool {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.hosts[r.Host]
}

func (s *Server) authenticated(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(c.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	ok := s.spent && s.session != [32]byte{} && subtle.ConstantTimeCompare(sum[:], s.session[:]) == 1 &&
		now.Before(s.expires) && now.Sub(s.lastSeen) < s.opts.IdleTimeout
	if ok {
		s.lastSeen = now
	}
	return ok
}

func (s *Server) csrfOK(got string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.csrf != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func (s *Server) csrfToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.csrf
}

func randomHex() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// section is one group of pages: its path in the navigation, its title
// and the function that registers its routes.
type section struct {
	path, title string
	register    func(*site)
}

// sections are the console's page groups, in navigation order. A new
// section (per-organization feature flags, say) is a type over site with
// a register method, added here.
var sections = []section{
	{path: "/killswitch", title: "Kill switch", register: func(s *site) { killSwitchPages{s}.register() }},
	{path: "/organizations", title: "Organizations", register: func(s *site) { organizationPages{s}.register() }},
}

// site is what every section's pages share: routing, rendering and the
// failure page.
type site struct{ *Server }

// handle registers a page whose error is rendered as a failure page.
func (s *site) handle(pattern string, h func(http.ResponseWriter, *http.Request) error) {
	//rampart:router-bypass the operator console's listener: every section's pages
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.failErr(w, r, err)
		}
	})
}

// page is the data every template gets.
type page struct {
	Title   string
	Nonce   string
	CSRF    string
	Nav     []navItem
	Flash   string
	Problem string
	Data    any
}

type navItem struct {
	Path, Title string
	Current     bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := page{Title: title, Nonce: edge.CSPNonce(r.Context()), Data: data, Flash: r.URL.Query().Get("done")}
	if s.hostOK(r) && s.authenticated(r) {
		p.CSRF = s.csrfToken()
		for _, sec := range s.sections {
			p.Nav = append(p.Nav, navItem{Path: sec.path, Title: sec.title, Current: strings.HasPrefix(r.URL.Path, sec.path)})
		}
	}
	if problem, ok := data.(string); ok && name == "problem" {
		p.Problem = problem
	}
	var b strings.Builder
	if err := s.tmpl[name].ExecuteTemplate(&b, "layout", p); err != nil {
		s.opts.Logger.Error("operator console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders the failure page with status and a safe message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "problem", http.StatusText(status), msg)
}

// failErr maps an error's Kind to a status and its safe message; internal
// detail is logged, never shown.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	status := edge.KindStatus(rampart.ErrorKind(err))
	if status >= 500 {
		s.opts.Logger.Error("operator console", "path", r.URL.Path, "err", err)
	}
	s.fail(w, r, status, rampart.ErrorMessage(err))
}

//go:embed templates/*.html static/*
var files embed.FS

// staticFiles are served by content hash, as the main console's assets.
var staticFiles = map[string]struct {
	url, contentType string
	body             []byte
}{}

func init() {
	b, err := files.ReadFile("static/operator.css")
	if err != nil {
		panic("operator: missing static/operator.css") // build defect
	}
	sum := sha256.Sum256(b)
	staticFiles["operator.css"] = struct {
		url, contentType string
		body             []byte
	}{url: "/static/operator." + hex.EncodeToString(sum[:6]) + ".css", contentType: "text/css; charset=utf-8", body: b}
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	for _, f := range staticFiles {
		if f.url == r.URL.Path {
			w.Header().Set("Content-Type", f.contentType)
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			_, _ = w.Write(f.body)
			return
		}
	}
	s.fail(w, r, http.StatusNotFound, "Nothing here.")
}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset": func(name string) string { return staticFiles[name].url },
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
		},
		"short": func(v fmt.Stringer) string { s := v.String(); return s[:min(8, len(s))] },
	}
	out := map[string]*template.Template{}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("operator console templates: %w", err)
		}
		out[name] = t
	}
	return out, nil
}
