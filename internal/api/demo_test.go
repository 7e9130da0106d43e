package api

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/mail"
)

const testDemoKey = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

// demoServer is an API with --demo, the outbox as its mailer (holding a
// sign-in link for a demo user and for a real address), and the key.
func demoServer(t *testing.T, e *env, key string) (*httptest.Server, *Server) {
	t.Helper()
	ob, err := mail.NewOutbox(t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv, api := e.serverWith(func(o *Options) { o.Demo, o.DemoKey, o.Mailer = true, key, ob })
	for _, to := range []string{"admin@demo.rampart.test", "ceo@acme.example"} {
		if err := ob.Send(context.Background(), mail.Message{To: to, Subject: "Your Rampart sign-in link", Text: "link for " + to}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, api
}

func get(t *testing.T, c *http.Client, rawURL string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Issue 10, break 3: a remote client behind a local reverse proxy read the
// live sign-in links on /demo, because loopback is not identity. The
// mailbox now needs the secret printed at start and refuses any request
// that came through a proxy.
func TestDemoMailboxNeedsTheSecretAndNoProxy(t *testing.T) {
	e := setup(t)
	srv, api := demoServer(t, e, testDemoKey)

	// The attack: a reverse proxy on the same host (as a tunnel or an
	// nginx in front would be) relays a remote client's requests.
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = srv.Client().Transport
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	remote := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/demo", "/demo?key=wrong", "/demo?key=" + testDemoKey} {
		for _, accept := range []string{"text/html", "application/json"} {
			status, body := get(t, remote, proxy.URL+path, "Accept", accept)
			if status != http.StatusNotFound || strings.Contains(body, "link for") {
				t.Errorf("through the proxy GET %s (%s): %d %q", path, accept, status, body)
			}
		}
	}
	// A proxy that strips X-Forwarded-For still names itself somewhere
	// most of the time; any forwarding header is refused.
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "Via", "Cf-Connecting-Ip", "X-Forwarded-Host"} {
		status, body := get(t, srv.Client(), srv.URL+"/demo?key="+testDemoKey, h, "203.0.113.7", "Accept", "application/json")
		if status != http.StatusNotFound || strings.Contains(body, "link for") {
			t.Errorf("with %s: %d %q", h, status, body)
		}
	}
	// A direct loopback peer without the secret, or with a wrong one, gets
	// the 404 of a path that does not exist.
	for _, path := range []string{"/demo", "/demo?key=", "/demo?key=" + testDemoKey[:len(testDemoKey)-1], "/demo?key=" + testDemoKey + "x"} {
		status, body := get(t, srv.Client(), srv.URL+path, "Accept", "application/json")
		if status != http.StatusNotFound || strings.Contains(body, "link for") {
			t.Errorf("loopback GET %s: %d %q", path, status, body)
		}
	}
	// Another peer with the secret: 404.
	req := httptest.NewRequest(http.MethodGet, "https://rampart.example/demo?key="+testDemoKey, nil)
	req.RemoteAddr = "203.0.113.7:40000"
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "link for") {
		t.Errorf("remote peer with the key: %d", rec.Code)
	}

	// The holder of the printed link: the secret moves into a cookie and
	// leaves the URL; the mailbox lists every address's mail.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: srv.Client().Transport, Jar: jar, Timeout: 10 * time.Second}
	status, body := get(t, browser, srv.URL+"/demo?key="+testDemoKey)
	if status != http.StatusOK || !strings.Contains(body, "link for admin@demo.rampart.test") || !strings.Contains(body, "link for ceo@acme.example") {
		t.Fatalf("the secret's holder: %d %s", status, body)
	}
	if status, body := get(t, browser, srv.URL+"/"); status != http.StatusOK || !strings.Contains(body, `href="/demo"`) {
		t.Errorf("home page of the secret's holder has no mailbox link: %d", status)
	}
	if status, body := get(t, srv.Client(), srv.URL+"/"); strings.Contains(body, `href="/demo"`) {
		t.Errorf("home page offers the mailbox without the secret: %d", status)
	}
	if status, body := get(t, srv.Client(), srv.URL+"/demo?key="+testDemoKey, "Accept", "application/json"); status != http.StatusOK || !strings.Contains(body, `"messages"`) {
		t.Errorf("JSON for scripts: %d %s", status, body)
	}
}

func TestDemoMailboxOffWithoutDemoOrKey(t *testing.T) {
	e := setup(t)
	srv, _ := demoServer(t, e, "")
	if status, _ := get(t, srv.Client(), srv.URL+"/demo?key="); status != http.StatusNotFound {
		t.Errorf("demo without a key: %d", status)
	}
	problem(t, e.do(e.client(), http.MethodGet, "/demo?key="+testDemoKey, nil), http.StatusNotFound)
}
