package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium (installed by `make deps`).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("RAMPART_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("no Chromium found: run `make deps` (apt-get install chromium) or set RAMPART_TEST_CHROMIUM")
	return ""
}

var signInRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+/auth/link\?token=[A-Za-z0-9_-]+`)

// TestConsoleSignInInBrowser drives the console's magic-link sign-in in a
// real headless Chromium against `serve --demo`: the link's GET lands on
// the confirmation page (token gone from the URL, account shown masked),
// the button signs in, the browser holds a hardened session cookie, sign
// out works, and the used link is refused.
func TestConsoleSignInInBrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	env := map[string]string{"RAMPART_DATA_DIR": dataDir(t), "RAMPART_LOG_FORMAT": "text"}
	r := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	r.waitListen(t)
	link := signInRE.FindString(r.out.String())
	if link == "" {
		t.Fatalf("no sign-in link in the banner:\n%s", r.out)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first action starts the browser; it must not run under a timeout
	// (that would stop the browser). Later steps get one each.
	if err := chromedp.Do(bctx, chromedp.Navigate(link), chromedp.WaitVisible("#confirm")); err != nil {
		t.Fatalf("open the sign-in link: %v\nserver log:\n%s", err, r.errOut)
	}
	step := func() context.Context {
		ctx, c := context.WithTimeout(bctx, 30*time.Second)
		t.Cleanup(c)
		return ctx
	}
	a11y := func(what string) {
		t.Helper()
		if v, err := a11yViolations(step(), t); err != nil || len(v) > 0 {
			t.Errorf("%s: accessibility violations %v (%v)", what, v, err)
		}
	}
	a11y("confirmation page")
	confirmURL, err := chromedp.Run(step(), chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	confirmText, err := chromedp.Run(step(), chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(confirmURL, "token=") {
		t.Errorf("the token stayed in the URL: %s", confirmURL)
	}
	if !strings.Contains(confirmText, "a•••@demo.rampart.test") {
		t.Errorf("the confirmation page does not show the masked account:\n%s", confirmText)
	}
	if err := chromedp.Do(step(), chromedp.Click("#confirm"), chromedp.WaitVisible("#who")); err != nil {
		t.Fatalf("confirm: %v\nserver log:\n%s", err, r.errOut)
	}
	who, err := chromedp.Run(step(), chromedp.Text("#who"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, "admin@demo.rampart.test") || !strings.Contains(who, "Demo Productions") {
		t.Fatalf("signed-in page says %q", who)
	}
	// The session cookie works in a real browser over http://127.0.0.1 and is
	// invisible to scripts (HttpOnly); its other attributes are asserted by
	// the API tests.
	jsCookies, err := chromedp.Run(step(), chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(jsCookies, "rampart_session") {
		t.Fatalf("the session cookie is readable by scripts: %q", jsCookies)
	}

	a11y("signed-in page")
	// Sign out, then the used link is refused.
	if err := chromedp.Do(step(), chromedp.Click("#logout"), chromedp.WaitVisible("#login")); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	a11y("sign-in page")
	if err := chromedp.Do(step(), chromedp.Navigate(link), chromedp.WaitVisible("#confirm"), chromedp.Click("#confirm"), chromedp.WaitVisible("#link-problem")); err != nil {
		t.Fatalf("replay: %v", err)
	}
	refused, err := chromedp.Run(step(), chromedp.Text("#link-problem"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused, "cannot be used") {
		t.Fatalf("replayed link: page heading %q", refused)
	}
	a11y("refused link page")
}
