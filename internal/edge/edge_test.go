package edge

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// These tests run the edge alone, without a database: a fake store that
// knows no credential. The whole flows, with PostgreSQL, are in
// internal/api's tests.

type fakeStore struct {
	mu     sync.Mutex
	events []audit.Event
}

func (f *fakeStore) ResolveSession(context.Context, uuid.UUID) (store.ResolvedClaims, error) {
	return store.ResolvedClaims{}, rampart.Errorf("test", rampart.KindUnauthenticated, "no such session")
}

func (f *fakeStore) ResolveToken(context.Context, uuid.UUID, uuid.UUID) (store.ResolvedClaims, error) {
	return store.ResolvedClaims{}, rampart.Errorf("test", rampart.KindUnauthenticated, "no such token")
}

func (f *fakeStore) RecordPlatformEvent(_ context.Context, ev audit.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

func newTestRouter(t *testing.T) (*Router, *fakeStore) {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, err := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{}
	return New(Options{Store: st, Sealer: sealer, Version: "test"}), st
}

func serve(rt *Router, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, req)
	return w
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder, status int) Problem {
	t.Helper()
	var p Problem
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want %d problem+json: %s", w.Code, w.Header().Get("Content-Type"), status, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChainAnswersEveryRequest: security headers, a request id and a fresh
// CSP nonce on every answer; unknown paths 404, wrong methods 405, a panic
// 500, all problem+json; /api answers are never cached.
func TestChainAnswersEveryRequest(t *testing.T) {
	t.Parallel()
	rt, _ := newTestRouter(t)
	rt.Public("GET /api/test/panic", PerVisitor, func(http.ResponseWriter, *http.Request) error { panic("handler bug") })
	rt.Public("GET /{$}", PerVisitor, func(w http.ResponseWriter, r *http.Request) error {
		_, err := w.Write([]byte(CSPNonce(r.Context())))
		return err
	})
	nonces := map[string]bool{}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/nope", 404},
		{"POST", "/openapi.json", 405},
		{"GET", "/api/test/panic", 500},
		{"GET", "/", 200},
	} {
		w := serve(rt, tc.method, tc.path, "")
		if w.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, w.Code, tc.status)
		}
		if tc.status != 200 {
			problemOf(t, w, tc.status)
		}
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		_, nonce, _ := strings.Cut(csp, "'nonce-")
		nonce, _, _ = strings.Cut(nonce, "'")
		if nonce == "" || nonces[nonce] || h.Get("X-Request-Id") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, h)
		}
		nonces[nonce] = true
		if tc.path == "/" && w.Body.String() != nonce {
			t.Errorf("the handler's nonce %q is not the header's %q", w.Body, nonce)
		}
		if strings.HasPrefix(tc.path, "/api/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.path, h.Get("Cache-Control"))
		}
	}
	if got := serve(rt, "POST", "/openapi.json", "").Header().Get("Allow"); !strings.Contains(got, "GET") {
		t.Errorf("405 Allow %q", got)
	}
}

type echoRequest struct {
	Name string `json:"name" minLength:"1" maxLength:"5"`
}

// TestPublicJSONDecodesAndDocumentsItsType: the route's request type is
// what the body is checked against and what /openapi.json publishes.
func TestPublicJSONDecodesAndDocumentsItsType(t *testing.T) {
	t.Parallel()
	rt, _ := newTestRouter(t)
	var got []string
	PublicJSON(rt, "POST /api/test/echo", PerVisitor, func(w http.ResponseWriter, r *http.Request, req echoRequest) error {
		got = append(got, req.Name)
		WriteJSON(w, http.StatusOK, req)
		return nil
	})
	for _, tc := range []struct {
		ctype, body string
		status      int
		detail      string
	}{
		{"text/plain", `{"name":"a"}`, 415, ""},
		{"application/json", `{"name":"a","extra":1}`, 400, "unknown field"},
		{"application/json", `{"name":"toolong"}`, 400, "name"},
		{"application/json", `{"name":"a"} {}`, 400, "trailing data"},
		{"application/json", `{"name":"` + strings.Repeat("x", maxBody) + `"}`, 413, ""},
		{"application/json", `{"name":"ok"}`, 200, ""},
	} {
		w := serve(rt, "POST", "/api/test/echo", tc.body, "Content-Type", tc.ctype)
		if tc.status == 200 {
			if w.Code != 200 {
				t.Errorf("valid body: %d %s", w.Code, w.Body)
			}
			continue
		}
		if p := problemOf(t, w, tc.status); !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q, want it to name %q", tc.body[:min(len(tc.body), 30)], p.Detail, tc.detail)
		}
	}
	if len(got) != 1 || got[0] != "ok" {
		t.Errorf("the handler ran for %v, want only the valid body", got)
	}
	w := serve(rt, "GET", "/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Paths["/api/test/echo"]["post"].RequestBody.Content["application/json"].Schema == nil {
		t.Errorf("/openapi.json does not document the route's body: %s", w.Body)
	}
}

// TestAuthenticatedRoutesNeedAPrincipal: without a credential, 401 and
// nothing spent or audited; a forged cookie, 401, audited, cookie
// cleared; another site's navigation carrying the cookie, 403.
func TestAuthenticatedRoutesNeedAPrincipal(t *testing.T) {
	t.Parallel()
	rt, st := newTestRouter(t)
	ran := false
	rt.Authed("GET /api/test/me", func(http.ResponseWriter, *http.Request, rampart.Claims) error { ran = true; return nil })
	rt.Agent("POST /api/test/agent", access.AgentBOMDrafter, func(*http.Request) (string, error) { return "", nil },
		func(http.ResponseWriter, *http.Request, AgentCall) error { ran = true; return nil })

	w := serve(rt, "GET", "/api/test/me", "")
	problemOf(t, w, 401)
	if w.Header().Get("RateLimit-Limit") != "" || st.count() != 0 {
		t.Errorf("a request without a credential spent a budget (%q) or was audited (%d)", w.Header().Get("RateLimit-Limit"), st.count())
	}
	w = serve(rt, "GET", "/api/test/me", "", "Cookie", auth.SessionCookieName+"=forged")
	problemOf(t, w, 401)
	if st.count() != 1 || st.events[0].Action != audit.ActionLoginFailed || !strings.Contains(w.Header().Get("Set-Cookie"), auth.SessionCookieName+"=;") {
		t.Errorf("a forged cookie: events %v, Set-Cookie %q", st.events, w.Header().Get("Set-Cookie"))
	}
	w = serve(rt, "GET", "/api/test/me", "", "Cookie", auth.SessionCookieName+"=forged", "Sec-Fetch-Site", "cross-site")
	problemOf(t, w, 403)
	problemOf(t, serve(rt, "POST", "/api/test/agent", ""), 401)
	if ran {
		t.Error("an authenticated handler ran without a principal")
	}
	kinds := map[string]Kind{}
	for _, r := range rt.Routes() {
		kinds[r.Pattern] = r.Kind
	}
	if kinds["GET /openapi.json"] != KindPublic || kinds["GET /api/test/me"] != KindAuthenticated || kinds["POST /api/test/agent"] != KindAgent {
		t.Errorf("registered routes %v", rt.Routes())
	}
}

// TestPublicBudgets: a public route draws on the budget it was registered
// with; the probes' budget is none.
func TestPublicBudgets(t *testing.T) {
	t.Parallel()
	rt, _ := newTestRouter(t)
	ok := func(http.ResponseWriter, *http.Request) error { return nil }
	rt.Public("GET /api/test/probe", Unlimited, ok)
	rt.Public("GET /api/test/page", PerVisitor, ok)
	rt.Public("GET /api/test/sign-in", SignIn, ok)
	for path, limit := range map[string]string{"/api/test/probe": "", "/api/test/page": "60", "/api/test/sign-in": "5"} {
		if got := serve(rt, "GET", path, "").Header().Get("RateLimit-Limit"); got != limit {
			t.Errorf("%s: RateLimit-Limit %q, want %q", path, got, limit)
		}
	}
	for i := range 5 {
		if w := serve(rt, "GET", "/api/test/sign-in", ""); i < 4 && w.Code != 200 {
			t.Fatalf("sign-in request %d: %d", i+2, w.Code)
		}
	}
	problemOf(t, serve(rt, "GET", "/api/test/sign-in", ""), 429)
	if w := serve(rt, "GET", "/api/test/page", ""); w.Code != 200 {
		t.Errorf("the page budget was spent by sign-in requests: %d", w.Code)
	}
}

// writeCounter counts the writes a handler makes to the response.
type writeCounter struct {
	*httptest.ResponseRecorder
	writes int
}

func (c *writeCounter) Write(b []byte) (int, error) {
	c.writes++
	return c.ResponseRecorder.Write(b)
}

// TestWriteJSONWholeAnswer: an answer is encoded whole, sent in one write
// with its Content-Length (no chunked encoding), HTML characters are not
// escaped, and a value that cannot be encoded is a 500 problem rather
// than a 200 with half a body.
func TestWriteJSONWholeAnswer(t *testing.T) {
	big := map[string]string{"body": strings.Repeat("<p>a & b</p>", 2000)}
	w := &writeCounter{ResponseRecorder: httptest.NewRecorder()}
	WriteJSON(w, http.StatusOK, big)
	if w.Code != http.StatusOK || w.writes != 1 {
		t.Fatalf("status %d, %d writes; want 200 in one write", w.Code, w.writes)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Fatalf("Content-Length %q, body %s bytes", got, want)
	}
	if !strings.HasPrefix(w.Body.String(), `{"body":"<p>a & b</p>`) || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("body %.40q, content type %q", w.Body.String(), w.Header().Get("Content-Type"))
	}
	w = &writeCounter{ResponseRecorder: httptest.NewRecorder()}
	WriteJSON(w, http.StatusOK, map[string]any{"x": math.Inf(1)})
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(w.Body.String(), `"status":500`) {
		t.Fatalf("unencodable value: status %d, %q", w.Code, w.Body.String())
	}
}
