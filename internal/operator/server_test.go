package operator

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestWithoutToken: the token exchange's redirect keeps the page and the
// other parameters, drops the token, and never leaves this console, however
// the path is written (control characters included: browsers strip them,
// so "/\t/host" would be "//host").
func TestWithoutToken(t *testing.T) {
	for in, want := range map[string]string{
		"/?token=abc":                       "/",
		"/killswitch?token=abc":             "/killswitch",
		"/organizations/x?token=abc&page=2": "/organizations/x?page=2",
		"//evil.example/?token=abc":         "/", // the host is not a path
		"/..//evil.example?token=abc":       "/evil.example",
		`/\evil.example?token=abc`:          "/",
		"/%09/evil.example?token=abc":       "/",
		"/%0a/evil.example?token=abc":       "/",
		"/%0d/evil.example?token=abc":       "/",
		"/%7f/evil.example?token=abc":       "/",
		"/a%20b?token=abc":                  "/a%20b",
		"":                                  "/",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := withoutToken(u); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

type fakeBackend struct{}

func (fakeBackend) GlobalKillSwitch(context.Context) (killswitch.SwitchAcks, []store.KillSwitchChange, error) {
	return killswitch.SwitchAcks{}, nil, nil
}
func (fakeBackend) SetGlobalKillSwitch(context.Context, string, bool, string) error { return nil }
func (fakeBackend) Organizations(context.Context) ([]store.OrgKillSwitch, error)    { return nil, nil }
func (fakeBackend) OrganizationKillSwitch(context.Context, uuid.UUID) (rampart.Organization, killswitch.SwitchAcks, error) {
	return rampart.Organization{}, killswitch.SwitchAcks{}, rampart.Errorf("test", rampart.KindNotFound, "not found")
}

// TestSessionIdleTimeoutAndSignOut: a session unused for the idle timeout
// is over (a lifted cookie stops working), and signing out ends it on the
// server, so the same cookie sent again is refused.
func TestSessionIdleTimeoutAndSignOut(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	start := func() (*Server, string) {
		s, token, err := New(Options{Backend: fakeBackend{}, Actor: "operator:test", Now: clock, IdleTimeout: 30 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		s.Listening(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4567})
		return s, token
	}
	do := func(s *Server, method, path, cookie string, form url.Values) *httptest.ResponseRecorder {
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		r := httptest.NewRequest(method, "http://127.0.0.1:4567"+path, body)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	signIn := func(s *Server, token string) string {
		w := do(s, "GET", "/killswitch?token="+token, "", nil)
		for _, c := range w.Result().Cookies() {
			if c.Name == CookieName {
				return c.Value
			}
		}
		t.Fatalf("no session cookie: %d", w.Code)
		return ""
	}

	s, token := start()
	cookie := signIn(s, token)
	now = now.Add(29 * time.Minute)
	if w := do(s, "GET", "/killswitch", cookie, nil); w.Code != http.StatusOK {
		t.Fatalf("within the idle timeout: %d", w.Code)
	}
	now = now.Add(29 * time.Minute) // 58 min after sign-in, 29 after the last request
	if w := do(s, "GET", "/killswitch", cookie, nil); w.Code != http.StatusOK {
		t.Fatalf("a request resets the idle timeout: %d", w.Code)
	}
	now = now.Add(31 * time.Minute)
	if w := do(s, "GET", "/killswitch", cookie, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("after 31 idle minutes: %d, want 401", w.Code)
	}

	s, token = start()
	cookie = signIn(s, token)
	if w := do(s, "POST", "/signout", cookie, url.Values{"csrf": {"wrong"}}); w.Code != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d", w.Code)
	}
	if w := do(s, "POST", "/signout", cookie, url.Values{"csrf": {s.csrfToken()}}); w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign-out: %d %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	if w := do(s, "GET", "/killswitch", cookie, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("the cookie after sign-out: %d, want 401", w.Code)
	}
	if w := do(s, "GET", "/killswitch?token="+token, "", nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("the spent token after sign-out: %d, want 401", w.Code)
	}
}
