package console

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alice@acme.example": "a•••@acme.example",
		"a@acme.example":     "a•••@acme.example",
		"élodie@x.example":   "é•••@x.example",
		"nonsense":           "•••",
	} {
		if got := maskEmail(in); got != want {
			t.Errorf("maskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPagesWithoutADatabase mounts the console on an edge without a
// store and walks the pages that need none: the anonymous home page (its
// style carries the response's nonce), a malformed link (the same 401 page
// as any failed link), the sign-in form (the use case it was given runs
// after the answer), and the demo mailbox, absent without --demo.
func TestPagesWithoutADatabase(t *testing.T) {
	t.Parallel()
	rt := edge.New(edge.Options{Version: "test"})
	var asked []string
	started := 0
	Register(rt, Options{SignIn: fakeSignIn{request: func(email string) (func(), error) {
		asked = append(asked, email)
		return func() { started++ }, nil
	}}})
	serve := func(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, req)
		return w
	}
	w := serve("GET", "/", "")
	_, nonce, _ := strings.Cut(w.Header().Get("Content-Security-Policy"), "'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	if w.Code != 200 || nonce == "" || !strings.Contains(w.Body.String(), `<style nonce="`+nonce+`">`) ||
		!strings.Contains(w.Body.String(), `action="/auth/login"`) || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("home: %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	if w := serve("GET", "/auth/link?token=not-a-token", ""); w.Code != 401 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("a malformed link: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	form := "application/x-www-form-urlencoded"
	if w := serve("POST", "/auth/login", "email=not-an-address", "Content-Type", form); w.Code != 400 || len(asked) != 0 {
		t.Errorf("a malformed address: %d, use case asked %v", w.Code, asked)
	}
	if w := serve("POST", "/auth/login", "email=Alice@Acme.Example", "Content-Type", form); w.Code != 200 || len(asked) != 1 || asked[0] != "alice@acme.example" || started != 1 {
		t.Errorf("the sign-in form: %d, use case asked %v, started %d", w.Code, asked, started)
	}
	if w := serve("GET", "/demo", ""); w.Code != 404 {
		t.Errorf("/demo without --demo: %d", w.Code)
	}
}

// fakeSignIn is the sign-in use cases without a database: a link request
// runs request; no link redeems.
type fakeSignIn struct {
	request func(email string) (func(), error)
}

func (f fakeSignIn) RequestLoginLink(_ context.Context, email string, _ store.ClientInfo) (func(), error) {
	return f.request(email)
}

func (fakeSignIn) LinkAccount(context.Context, []byte) (string, bool, error) { return "", false, nil }

func (fakeSignIn) Redeem(context.Context, []byte, *uuid.UUID, store.ClientInfo) (store.NewSession, error) {
	return store.NewSession{}, signin.ErrLinkInvalid
}

// TestEveryPageIsDocumented: each signed-in page and the static route has
// its entry in pageDocs (and so a summary in /openapi.json).
func TestEveryPageIsDocumented(t *testing.T) {
	t.Parallel()
	rt := edge.New(edge.Options{Version: "test"})
	Register(rt, Options{SignIn: fakeSignIn{}})
	documented := map[string]bool{}
	for _, d := range pageDocs {
		documented[d.pattern] = true
	}
	n := 0
	for _, r := range rt.Routes() {
		if r.Authenticated() || r.Pattern == "GET /static/{file}" {
			n++
			if !documented[r.Pattern] {
				t.Errorf("%s is not in pageDocs", r.Pattern)
			}
		}
	}
	if n != len(pageDocs) {
		t.Errorf("%d page routes, %d documented", n, len(pageDocs))
	}
}

// TestSameSiteBack: the failure page's Back link is a path of this site
// or the proposals, never another origin (a protocol-relative or
// backslashed path included).
func TestSameSiteBack(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"https://rampart.example/proposals/1":   "/proposals/1",
		"https://evil.example/proposals":        "/proposals",
		"https://rampart.example//evil.example": "/proposals",
		`https://rampart.example/\evil.example`: "/proposals",
		"":                                      "/proposals",
	} {
		r := httptest.NewRequest("GET", "https://rampart.example/x", nil)
		r.Header.Set("Referer", ref)
		if got := sameSiteBack(r); got != want {
			t.Errorf("Referer %q: back to %q, want %q", ref, got, want)
		}
	}
}
