package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// TestOperatorConsoleInBrowser drives the operator console in a headless
// Chromium: the printed URL signs in and the token leaves the address
// bar, the session cookie is invisible to scripts, raising the global
// switch with a reason shows it ON with that reason in the history, and
// no page causes a CSP violation. Opening the same URL again is refused.
func TestOperatorConsoleInBrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	r := start(t, env, "operator", "console")
	r.waitListen(t)
	link := strings.TrimSpace(strings.SplitN(strings.SplitN(r.out.String(), "open: ", 2)[1], "\n", 2)[0])

	bctx := newBrowser(t, chrome, listenForCSPViolations)
	step := func() context.Context {
		ctx, c := context.WithTimeout(bctx, 30*time.Second)
		t.Cleanup(c)
		return ctx
	}
	noViolations := func(what string) {
		t.Helper()
		v, err := chromedp.Run(step(), chromedp.Evaluate[[]string](`window.__csp || []`))
		if err != nil || len(v) != 0 {
			t.Errorf("%s: CSP violations %v (%v)", what, v, err)
		}
	}

	if err := chromedp.Do(step(), chromedp.Navigate(link), chromedp.WaitVisible("#state")); err != nil {
		t.Fatalf("open the printed URL: %v\n%s", err, r.errOut)
	}
	loc, err := chromedp.Run(step(), chromedp.Location())
	if err != nil || strings.Contains(loc, "token") || !strings.HasSuffix(loc, "/killswitch") {
		t.Fatalf("address after sign-in: %q %v", loc, err)
	}
	if c, err := chromedp.Run(step(), chromedp.Evaluate[string]("document.cookie")); err != nil || strings.Contains(c, "rampart_operator") {
		t.Fatalf("the session cookie is readable by scripts: %q %v", c, err)
	}
	// The stylesheet loaded under the nonce CSP.
	if bg, err := chromedp.Run(step(), chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).backgroundColor`)); err != nil || bg != "rgb(34, 38, 46)" {
		t.Errorf("the stylesheet did not apply: header background %q %v", bg, err)
	}
	noViolations("kill switch page")

	if err := chromedp.Do(step(), chromedp.SendKeys("#reason", "Browser drill: provider incident"), chromedp.Click("#ks-submit"), chromedp.WaitVisible("#flash")); err != nil {
		t.Fatalf("raise: %v", err)
	}
	state, err := chromedp.Run(step(), chromedp.Text("#state"))
	if err != nil || !strings.Contains(state, "ON") || !strings.Contains(state, "Browser drill: provider incident") {
		t.Fatalf("state after raising: %q %v", state, err)
	}
	noViolations("after raising")
	admin, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var active bool
	var reason string
	if err := admin.QueryRow(context.Background(), `SELECT active, reason FROM platform_kill_switch`).Scan(&active, &reason); err != nil || !active || reason != "Browser drill: provider incident" {
		t.Fatalf("platform switch: %v %q %v", active, reason, err)
	}

	if err := chromedp.Do(step(), chromedp.Navigate(strings.SplitN(link, "?", 2)[0]+"organizations"), chromedp.WaitVisible("table")); err != nil {
		t.Fatalf("organizations: %v", err)
	}
	noViolations("organizations page")

	// The URL a second time (say, from the shell history): refused, even
	// in the browser that holds the session.
	if err := chromedp.Do(step(), chromedp.Navigate(link), chromedp.WaitVisible(".problem")); err != nil {
		t.Fatalf("replay: %v", err)
	}
	text, err := chromedp.Run(step(), chromedp.Text(".problem"))
	if err != nil || !strings.Contains(text, "works once") {
		t.Fatalf("replayed URL: %q %v", text, err)
	}
}
