package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
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

	bctx := newBrowser(t, chrome, chromedp.Navigate(link), chromedp.WaitVisible("#confirm"))
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

// newBrowser starts a headless Debian Chromium for the test (its own
// profile, no background traffic) and runs first, the actions that start
// it: they run without a timeout, since a timeout on the first action
// would stop the browser; later steps take one each. The browser stops
// when the test ends.
func newBrowser(t *testing.T, chrome string, first ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if len(first) == 0 {
		first = append(first, chromedp.Func(func(context.Context, *chromedp.Target) error { return nil }))
	}
	if err := chromedp.Do(bctx, first...); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return bctx
}

// listenForCSPViolations installs cspListener in every document the
// browser opens from then on, before the page's own scripts.
var listenForCSPViolations = chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
	_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener})
	return err
})

// tab is a test's handle on the browser: each step under its own timeout,
// failing the test with the server's log.
type tab struct {
	t   *testing.T
	ctx context.Context
	log fmt.Stringer // the server's stderr, shown when a step fails
}

func (b tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 30*time.Second)
}

// do runs the actions of one step.
func (b tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, c := b.step()
	defer c()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\nserver log:\n%s", what, err, b.log)
	}
}

// text runs one action that reads a value.
func (b tab) text(what string, a chromedp.Action[string]) string {
	b.t.Helper()
	ctx, c := b.step()
	defer c()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// check asserts what every console page owes: its deferred scripts ran
// (htmx is defined) with no CSP violation (the listener's record), no
// axe-core violation of serious or critical impact, and nothing wider
// than the 375 px viewport (wide tables scroll inside their own box). It
// returns the page's whole DOM.
func (b tab) check(what string) string {
	b.t.Helper()
	ctx, c := b.step()
	defer c()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`typeof htmx === "object" && document.readyState === "complete"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	violations, verr := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err != nil || verr != nil || len(violations) > 0 {
		b.t.Errorf("%s: scripts loaded: %v; CSP violations %v (%v)", what, err, violations, verr)
	}
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 375 {
		b.t.Errorf("%s: the page is %d px wide at a 375 px viewport (%v)", what, w, err)
	}
	if a11y, err := a11yViolations(ctx, b.t); err != nil {
		b.t.Errorf("%s: axe-core did not run: %v", what, err)
	} else if len(a11y) > 0 {
		b.t.Errorf("%s: accessibility violations:\n  %s", what, strings.Join(a11y, "\n  "))
	}
	return b.text(what, chromedp.OuterHTML("html"))
}
