package operator

import (
	"net/url"
	"testing"
)

// TestWithoutToken: the token exchange's redirect keeps the page and the
// other parameters, drops the token, and never leaves this console, however
// the path is written.
func TestWithoutToken(t *testing.T) {
	for in, want := range map[string]string{
		"/?token=abc":                       "/",
		"/killswitch?token=abc":             "/killswitch",
		"/organizations/x?token=abc&page=2": "/organizations/x?page=2",
		"//evil.example/?token=abc":         "/", // the host is not a path
		"/..//evil.example?token=abc":       "/evil.example",
		`/\evil.example?token=abc`:          "/",
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
