package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestErrorsNeverCarryTheBody: whatever a token endpoint answers, the
// error holds its OAuth code, description and status only; the code is
// sent once (no auto-detected retry), and redirects are not followed.
func TestErrorsNeverCarryTheBody(t *testing.T) {
	const leak = "rt-leaked-token-value"
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"bad\u0007 code","refresh_token":%q}`, leak)
		case "/html":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<html>"+leak+"</html>")
		case "/redirect":
			http.Redirect(w, r, "https://elsewhere.example/token?"+leak, http.StatusTemporaryRedirect)
		case "/revoke":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"unsupported_token_type"}`)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		path string
		kind ErrorKind
		code string
	}{{"/json", Refused, "invalid_grant"}, {"/html", Failed, ""}, {"/redirect", Failed, ""}} {
		calls.Store(0)
		c, err := New([]Provider{{Name: "p", ClientID: "id", ClientSecret: rampart.NewSecret("secret"), AuthURL: srv.URL + "/a",
			TokenURL: srv.URL + tc.path, RevokeURL: srv.URL + "/revoke", Scopes: []string{"s"}}}, "https://rampart.example", Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exchange(context.Background(), "p", "the-code", rampart.NewSecret("verifier"))
		e, ok := AsError(err)
		if !ok || e.Kind != tc.kind || e.Code != tc.code {
			t.Errorf("%s: %#v", tc.path, err)
			continue
		}
		if strings.Contains(e.Error(), leak) || strings.Contains(e.Error(), "the-code") || strings.Contains(e.Error(), "\a") {
			t.Errorf("%s: the error shows what it must not: %s", tc.path, e.Error())
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%s: the token endpoint was called %d times", tc.path, n)
		}
		if tc.path == "/json" && !e.InvalidGrant() {
			t.Errorf("invalid_grant not recognised")
		}
	}
	c, _ := New([]Provider{{Name: "p", ClientID: "id", ClientSecret: rampart.NewSecret("secret"), AuthURL: srv.URL + "/a",
		TokenURL: srv.URL + "/json", RevokeURL: srv.URL + "/revoke"}}, "https://rampart.example", Options{})
	err := c.Revoke(context.Background(), "p", rampart.NewSecret(leak), "refresh_token")
	if e, ok := AsError(err); !ok || e.Kind != Refused || e.Code != "unsupported_token_type" || strings.Contains(e.Error(), leak) {
		t.Errorf("revoke: %v", err)
	}
}

func TestAuthCodeURLHasPKCEAndState(t *testing.T) {
	c, err := New([]Provider{{Name: "ledger", ClientID: "id", ClientSecret: rampart.NewSecret("secret"), AuthURL: "https://p.example/authorize?tenant=x",
		TokenURL: "https://p.example/token", Scopes: []string{"a", "offline_access"}}}, "https://rampart.example/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := GenerateVerifier()
	raw, err := c.AuthCodeURL("ledger", "st", v, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") != "st" || q.Get("tenant") != "x" ||
		q.Get("scope") != "a offline_access" || q.Get("redirect_uri") != "https://rampart.example/api/integrations/ledger/callback" {
		t.Fatalf("authorization URL %s", raw)
	}
	if strings.Contains(raw, v.Reveal()) {
		t.Fatal("the verifier is in the authorization URL")
	}
	if _, err := c.AuthCodeURL("other", "st", v, nil); rampart.ErrorKind(err) != rampart.KindNotFound {
		t.Errorf("unknown provider: %v", err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := rampart.NewSecret("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "secret", s, "grant", Grant{Tokens: rampart.IntegrationTokens{Refresh: s}})
	fmt.Fprintf(&b, "%v %+v %#v %s", s, s, s, s)
	if strings.Contains(b.String(), "hunter2") {
		t.Fatalf("a secret printed: %s", b.String())
	}
}

func TestNewRefusesBadProviders(t *testing.T) {
	good := Provider{Name: "p", ClientID: "id", AuthURL: "https://a", TokenURL: "https://t"}
	for _, p := range [][]Provider{
		{{Name: "P", ClientID: "id", AuthURL: "https://a", TokenURL: "https://t"}},
		{good, good},
		{{Name: "p", AuthURL: "https://a", TokenURL: "https://t"}},
		{{Name: "p", ClientID: "id", AuthURL: "https://a", TokenURL: "https://t", AuthStyle: "header"}},
	} {
		if _, err := New(p, "https://rampart.example", Options{}); err == nil {
			t.Errorf("New(%+v) accepted", p)
		}
	}
	if _, err := New([]Provider{good}, "", Options{}); err == nil {
		t.Error("a provider without a public URL accepted")
	}
}
