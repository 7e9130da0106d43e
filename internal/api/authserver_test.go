package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// authServer is a local OAuth 2.0 authorization server that plays an
// accounting provider: an authorization endpoint that issues codes bound
// to the client, redirect URI and PKCE S256 challenge; a token endpoint
// (client authentication by HTTP Basic, authorization_code with the
// verifier checked, refresh_token with rotation); and an RFC 7009
// revocation endpoint. Its tokens are random; it remembers every one so
// tests can look for them where they must not be.
type authServer struct {
	t      *testing.T
	srv    *httptest.Server
	id     string
	secret string

	mu         sync.Mutex
	codes      map[string]authCode
	refresh    map[string]bool // refresh token → live
	issued     []string        // every token ever issued
	revoked    []string
	rotate     bool // issue a new refresh token on every refresh
	noRefresh  bool // answer authorization_code without a refresh token
	failToken  int  // answer the token endpoint with this status (500: server error)
	failRevoke bool
	tokenCalls int
}

type authCode struct {
	redirect, challenge, scope string
	used                       bool
}

func newAuthServer(t *testing.T) *authServer {
	a := &authServer{t: t, id: "rampart-" + randToken(6), secret: randToken(24), codes: map[string]authCode{}, refresh: map[string]bool{}, rotate: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", a.authorize)
	mux.HandleFunc("POST /token", a.token)
	mux.HandleFunc("POST /revoke", a.revoke)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// provider is the authServer's configuration as Rampart sees it.
func (a *authServer) provider(name string) oauth.Provider {
	return oauth.Provider{Name: name, ClientID: a.id, ClientSecret: rampart.NewSecret(a.secret),
		AuthURL: a.srv.URL + "/authorize", TokenURL: a.srv.URL + "/token", RevokeURL: a.srv.URL + "/revoke",
		Scopes: []string{"accounting.transactions", "offline_access"}}
}

func (a *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != a.id || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randToken(16)
	a.mu.Lock()
	a.codes[code] = authCode{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: q.Get("scope")}
	a.mu.Unlock()
	u, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (a *authServer) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	return ok && id == a.id && subtle.ConstantTimeCompare([]byte(secret), []byte(a.secret)) == 1
}

func (a *authServer) token(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokenCalls++
	if a.failToken != 0 {
		http.Error(w, "upstream trouble", a.failToken)
		return
	}
	if err := r.ParseForm(); err != nil || !a.clientOK(r) {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	scope := ""
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c, ok := a.codes[r.PostForm.Get("code")]
		if !ok || c.used {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
			return
		}
		c.used = true
		a.codes[r.PostForm.Get("code")] = c
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
		if r.PostForm.Get("redirect_uri") != c.redirect {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
			return
		}
		scope = c.scope
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !a.refresh[rt] {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "refresh token revoked or unknown")
			return
		}
		if a.rotate {
			a.refresh[rt] = false
		}
	default:
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	res := map[string]any{"access_token": "at-" + randToken(24), "token_type": "Bearer", "expires_in": 1800}
	a.issued = append(a.issued, res["access_token"].(string))
	if scope != "" {
		res["scope"] = scope
	}
	grant := r.PostForm.Get("grant_type")
	if (grant == "authorization_code" && !a.noRefresh) || (grant == "refresh_token" && a.rotate) {
		rt := "rt-" + randToken(24)
		a.refresh[rt] = true
		a.issued = append(a.issued, rt)
		res["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
}

func (a *authServer) revoke(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failRevoke {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil || !a.clientOK(r) {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	tok := r.PostForm.Get("token")
	a.refresh[tok] = false
	a.revoked = append(a.revoked, tok)
	w.WriteHeader(http.StatusOK)
}

func (a *authServer) set(f func(a *authServer)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// tokens returns every token the server issued so far.
func (a *authServer) tokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.issued...)
}

// liveRefresh returns the refresh tokens still live.
func (a *authServer) liveRefresh() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for t, ok := range a.refresh {
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// consent follows an authorization URL the way the provider's consent
// page would after the person agrees: it answers with a redirect to the
// callback, which is returned (not followed).
func (a *authServer) consent(t *testing.T, authURL string) *url.URL {
	t.Helper()
	if !strings.HasPrefix(authURL, a.srv.URL+"/authorize?") {
		t.Fatalf("authorization URL %q is not the provider's", authURL)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}
