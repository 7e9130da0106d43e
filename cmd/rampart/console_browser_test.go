package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspListener runs in every document before the page's own scripts (it is
// injected through DevTools, so the CSP does not apply to it) and records
// every Content-Security-Policy violation the page causes.
const cspListener = `window.confirm = function () { return true; }; window.__csp = []; document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`

// TestConsoleWorkspaceInBrowser drives the console in one headless
// Chromium against `serve --demo`: the admin adds a BOM line with a cost,
// generates a draft with the offline provider (progress from the job
// stream, the "AI-generated · pending review" badge) and approves it,
// pages the audit log and raises the organization kill switch with a
// reason; a producer sees the cost and is refused "Generate with AI" with
// that reason; a technical director's proposal page has no cost,
// sourcing or lead time anywhere in its DOM. Every page loads its nonce'd
// scripts (htmx is defined) with no CSP violation.
func TestConsoleWorkspaceInBrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	env := map[string]string{"RAMPART_DATA_DIR": dataDir(t), "RAMPART_LOG_FORMAT": "text"}
	r := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	addr := r.waitListen(t)
	base := "http://" + addr.String()
	link := signInRE.FindString(r.out.String())
	if link == "" {
		t.Fatalf("no sign-in link in the banner:\n%s", r.out)
	}
	// The demo admin also administers a second organization, for the
	// organization switcher.
	const second = "Second Stage Ltd"
	if code, out, errOut := run(t, env, "org", "create", "--name", second, "--slug", "second-stage", "--admin-email", "admin@demo.rampart.test"); code != 0 {
		t.Fatalf("org create: %d %s %s", code, out, errOut)
	}
	bctx := newBrowser(t, chrome, chromedp.EmulateViewport(375, 800), listenForCSPViolations)
	b := tab{t: t, ctx: bctx, log: r.errOut}
	do, text := b.do, b.text
	// With RAMPART_TEST_SCREENSHOTS set to a directory (`make
	// screenshots`), each main page is saved there as a JPEG: the top
	// 2,400 px of the page at 375 px wide (a proposal's AI body runs to
	// 9,000).
	shots := os.Getenv("RAMPART_TEST_SCREENSHOTS")
	mainPages := map[string]string{
		"proposals as admin": "proposals", "AI draft": "proposal-ai-draft", "agent proposal": "agent-proposal",
		"approvals": "approvals", "vendors": "vendors", "crew": "crew", "staffing": "staffing", "chat": "chat",
		"audit log page 2": "audit-log", "kill switch": "kill-switch", "members": "members", "API tokens": "api-tokens",
		"security": "security", "usage": "usage", "privacy": "privacy", "learning": "learning", "billing": "billing",
		"branding": "branding", "venues": "venues", "after the refusal": "generate-refused", "proposal as viewer": "proposal-as-viewer",
	}
	// checkPage is tab.check (CSP, axe-core, 375 px; the DOM), saving the
	// main pages' screenshots when asked.
	checkPage := func(what string) string {
		t.Helper()
		defer func() {
			name, ok := mainPages[what]
			if shots == "" || !ok {
				return
			}
			ctx, c := context.WithTimeout(bctx, 30*time.Second)
			defer c()
			_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				h, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.min(document.documentElement.scrollHeight, 2400)`))
				if err != nil {
					return err
				}
				res, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{
					Format: page.CaptureScreenshotFormatJpeg, Quality: &[]int64{75}[0], CaptureBeyondViewport: &[]bool{true}[0],
					Clip: &page.Viewport{X: 0, Y: 0, Width: 375, Height: h, Scale: 1}})
				if err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(shots, name+".jpg"), res.Data, 0o644)
			}))
			if err != nil {
				t.Errorf("screenshot of %s: %v", what, err)
			}
		}()
		return b.check(what)
	}
	signIn := func(who, link string) {
		t.Helper()
		do("sign in as "+who, chromedp.Navigate(link), chromedp.WaitVisible("#confirm"), chromedp.Click("#confirm"), chromedp.WaitVisible("#open-workspace"),
			chromedp.Click("#open-workspace"), chromedp.WaitVisible("#proposal-rows"))
		checkPage("proposals as " + who)
	}
	mailedLink := func(email string) string {
		t.Helper()
		do("ask for a link for "+email, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login"),
			chromedp.SendKeys("#login input[name=email]", email), chromedp.Submit("#login"), chromedp.WaitVisible("#check-email"))
		for range 50 {
			_, out, _ := run(t, env, "mail", "outbox", "--to", email, "--last", "1")
			if l := outboxLinkRE.FindString(out); l != "" {
				return l
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no link for %s in the outbox", email)
		return ""
	}
	openProposal := func(who string) string {
		t.Helper()
		do(who+" opens the proposal", chromedp.Navigate(base+"/proposals"), chromedp.WaitVisible("#proposal-rows a"),
			chromedp.Click("#proposal-rows a"), chromedp.WaitVisible("#bom"))
		return checkPage("proposal as " + who)
	}
	const sourcing, cost = "Browser-Rigging-Ltd-5521", "987.65"

	// The admin: a BOM line with a cost, the audit log's pages, the switch.
	signIn("admin", link)
	openProposal("admin")
	proposalURL := text("proposal", chromedp.Location())
	do("add a BOM line", chromedp.Click("#add-line-box > summary"), chromedp.WaitVisible("#l-item"),
		chromedp.SendKeys("#l-item", "Truss tower"), chromedp.SendKeys("#l-cost", cost), chromedp.SendKeys("#l-src", sourcing),
		chromedp.SendKeys("#l-lead", "12"), chromedp.Submit("#add-line"), chromedp.WaitVisible("#flash"))
	if dom := checkPage("after adding a line"); !strings.Contains(dom, sourcing) || !strings.Contains(dom, cost) {
		t.Fatalf("the admin does not see the line's cost")
	}
	// Generate with AI (the offline provider): live progress from the job
	// stream, then the page reloads with the body and its review badge;
	// approving removes the badge.
	do("generate", chromedp.Click("#generate"), chromedp.WaitVisible("#ai-badge"))
	if dom := checkPage("AI draft"); !strings.Contains(dom, "AI-generated · pending review") || !strings.Contains(dom, `id="body"`) {
		t.Fatalf("no AI draft with its badge")
	}
	do("approve", chromedp.Click("#approve"), chromedp.WaitVisible("#approved-badge"))
	if dom := checkPage("approved"); strings.Contains(dom, `id="ai-badge"`) {
		t.Errorf("the badge stayed after approval")
	}
	// The BOM drafter: its job ends in a pending agent proposal, linked
	// from the proposal page; the approvals queue shows the lines it would
	// add with the time left, and approving applies them.
	do("draft the BOM", chromedp.Click("#draft-bom"), chromedp.WaitVisible("#agent-pending a"))
	checkPage("proposal with a pending agent proposal")
	do("open the agent proposal", chromedp.Click("#agent-pending a"), chromedp.WaitVisible("#approve-agent"))
	if dom := checkPage("agent proposal"); !strings.Contains(dom, "+ BOM: ") || !strings.Contains(dom, "m left") ||
		!strings.Contains(dom, "AI-generated · pending review") {
		t.Fatalf("the agent proposal page lacks the diff, the countdown or the badge")
	}
	do("approve the agent proposal", chromedp.Click("#approve-agent-button"), chromedp.WaitVisible("#agent-state"))
	if dom := checkPage("agent proposal approved"); !strings.Contains(dom, "approved by a person") {
		t.Errorf("the agent proposal is not approved")
	}
	do("audit log", chromedp.Navigate(base+"/admin/audit?limit=2"), chromedp.WaitVisible("#audit-next"))
	firstURL := text("audit log", chromedp.Location())
	do("audit log page 2", chromedp.Click("#audit-next"), chromedp.WaitVisible("#audit-events"))
	secondURL := text("audit log page 2", chromedp.Location())
	checkPage("audit log page 2")
	if !strings.Contains(secondURL, "before=") || secondURL == firstURL {
		t.Errorf("the audit log did not page: %s → %s", firstURL, secondURL)
	}
	// Export the audit log as CSV: a real download, with the session
	// cookie, of the organization's events.
	downloads := t.TempDir()
	dctx, dcancel := context.WithTimeout(bctx, 30*time.Second)
	progress := chromedp.Events(dctx, browser.DownloadProgress)
	do("export the audit log", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &[]bool{true}[0]})
		return err
	}), chromedp.Click("#export"))
	var csvFile string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("audit export download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("the audit export download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			csvFile = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	dcancel()
	csvBytes, err := os.ReadFile(csvFile)
	if err != nil {
		t.Fatalf("audit export: %v", err)
	}
	csvText := string(csvBytes)
	if !strings.HasPrefix(csvText, "id,occurred_at,organization_id,") || !strings.Contains(csvText, "bom.line.created") ||
		!strings.Contains(csvText, "agent_proposal.approved") || strings.Contains(csvText, cost) || strings.Contains(csvText, sourcing) {
		t.Fatalf("the exported CSV lacks the header or the events, or carries the line's cost or sourcing:\n%.600s", csvText)
	}

	// Switch to the second organization: its (empty) workspace, its name
	// in the header; then back.
	switchTo := func(name string) {
		t.Helper()
		do("switch to "+name, chromedp.Evaluate[chromedp.Void](`(function(){var s=document.getElementById("org-select");for(var i=0;i<s.options.length;i++){if(s.options[i].text===`+strconvQuote(name)+`){s.value=s.options[i].value;}}})()`),
			chromedp.Click("#org-switcher button[type=submit]"))
		// The click navigates: retry the check across the navigation
		// (an evaluation during it fails) until the new page says so.
		check := `document.location.pathname === "/proposals" && document.readyState === "complete" && !!document.getElementById("proposal-rows") && document.getElementById("who").textContent.indexOf(` + strconvQuote(name) + `) >= 0`
		for i := 0; ; i++ {
			ctx, c := context.WithTimeout(bctx, 5*time.Second)
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](check))
			c()
			if err == nil && ok {
				break
			}
			if i == 100 {
				t.Fatalf("switching to %s: the page never showed it (%v)", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	switchTo(second)
	if dom := checkPage("proposals in the second organization"); !strings.Contains(dom, `id="empty"`) || strings.Contains(dom, "Truss tower") {
		t.Fatalf("the second organization's workspace is not its own")
	}
	switchTo("Demo Productions")
	do("raise the kill switch", chromedp.Navigate(base+"/admin/killswitch"), chromedp.WaitVisible("#killswitch-form"),
		chromedp.SendKeys("#ks-reason", "Vendor outage drill"), chromedp.Click("#ks-submit"), chromedp.WaitVisible("#flash"))
	effective := text("kill switch", chromedp.Text("#org-switch"))
	checkPage("kill switch")
	if !strings.Contains(effective, "ON") || !strings.Contains(effective, "Vendor outage drill") {
		t.Fatalf("kill switch page says %q", effective)
	}
	// Every other page of the workspace and of the administration, as the
	// admin: each under the CSP, accessible, and at 375 px.
	proposalPath := strings.TrimPrefix(proposalURL, base)
	for _, pg := range []struct{ name, path, ready string }{
		{"approvals", "/approvals", "#approvals"},
		{"vendors", "/vendors", "#vendors"},
		{"crew", "/crew", "#crew"},
		{"venues", "/venues", "#venue-list"},
		{"staffing", proposalPath + "/staffing", "#main"},
		{"chat", proposalPath + "/chat", "#main"},
		{"members", "/admin/members", "#members"},
		{"API tokens", "/admin/tokens", "#tokens"},
		{"security", "/admin/security", "#health"},
		{"usage", "/admin/usage", "#main"},
		{"privacy", "/admin/privacy", "#main"},
		{"learning", "/admin/learning", "#main"},
		{"billing", "/admin/billing", "#main"},
		{"branding", "/admin/branding", "#main"},
	} {
		do("open "+pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible(pg.ready))
		checkPage(pg.name)
	}
	do("sign out", chromedp.Click("#logout"), chromedp.WaitVisible("#login"))

	// A producer: sees the cost; "Generate with AI" is refused with the reason.
	signIn("producer", mailedLink("producer@demo.rampart.test"))
	if dom := openProposal("producer"); !strings.Contains(dom, sourcing) || !strings.Contains(dom, cost) || !strings.Contains(dom, "12 days") {
		t.Errorf("the producer does not see cost, sourcing and lead time")
	}
	do("generate while switched off", chromedp.Click("#generate"),
		chromedp.Poll[chromedp.Void](`document.getElementById("generate-status").textContent.indexOf("Refused") === 0`, chromedp.WithPollingTimeout(20*time.Second)))
	refused := text("generate", chromedp.Text("#generate-status"))
	if !strings.Contains(refused, "Vendor outage drill") {
		t.Errorf("the refusal does not give the reason: %q", refused)
	}
	checkPage("after the refusal")
	do("sign out", chromedp.Click("#logout"), chromedp.WaitVisible("#login"))

	// A technical director: the line, and no cost anywhere in the DOM.
	signIn("technical director", mailedLink("technical_director@demo.rampart.test"))
	dom := openProposal("technical director")
	if !strings.Contains(dom, "Truss tower") {
		t.Fatalf("the technical director does not see the line")
	}
	for _, s := range []string{sourcing, cost, "12 days", "unit_cost", "lead_time"} {
		if strings.Contains(dom, s) {
			t.Errorf("the technical director's DOM contains %q", s)
		}
	}
	do("sign out", chromedp.Click("#logout"), chromedp.WaitVisible("#login"))

	// A viewer: the proposal, the line, and no cost anywhere in the DOM of
	// the pages a viewer can open.
	signIn("viewer", mailedLink("viewer@demo.rampart.test"))
	dom = openProposal("viewer")
	if !strings.Contains(dom, "Truss tower") {
		t.Fatalf("the viewer does not see the line")
	}
	for _, s := range []string{sourcing, cost, "12 days", "unit_cost", "lead_time", "Unit cost", "Day rate"} {
		if strings.Contains(dom, s) {
			t.Errorf("the viewer's proposal DOM contains %q", s)
		}
	}
	if strings.Contains(dom, `id="generate"`) || strings.Contains(dom, `id="add-line"`) {
		t.Errorf("the viewer is offered Generate or Add line")
	}
	// A failure page (another organization's or a made-up id is "not
	// found") and the organization's public sign-in page: under the CSP,
	// accessible, and at 375 px, like the others.
	for _, pg := range []struct{ name, path string }{
		{"not found page", "/proposals/0b5e4f4e-9d7e-4c1e-8f0a-2d3c4b5a6e7f"},
		{"organization sign-in page", "/o/demo"},
	} {
		do("open the "+pg.name, chromedp.Navigate(base+pg.path), chromedp.WaitVisible("#main"))
		ctx, c := context.WithTimeout(bctx, 30*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
		a11y, aerr := a11yViolations(ctx, t)
		w, werr := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		c()
		if err != nil || len(v) > 0 || aerr != nil || len(a11y) > 0 || werr != nil || w > 375 {
			t.Errorf("%s: CSP violations %v (%v), accessibility violations %v (%v), width %d (%v)", pg.name, v, err, a11y, aerr, w, werr)
		}
	}
	do("back to the workspace", chromedp.Navigate(base+"/proposals"), chromedp.WaitVisible("#proposal-rows"))
	do("sign out", chromedp.Click("#logout"), chromedp.WaitVisible("#login"))

	// The admin lowers the switch again, with a reason; the history shows
	// both changes.
	signIn("admin again", mailedLink("admin@demo.rampart.test"))
	do("lower the kill switch", chromedp.Navigate(base+"/admin/killswitch"), chromedp.WaitVisible("#killswitch-form"),
		chromedp.SendKeys("#ks-reason", "Drill over"), chromedp.Click("#ks-submit"), chromedp.WaitVisible("#flash"))
	if effective := text("kill switch", chromedp.Text("#org-switch")); !strings.Contains(effective, "off") {
		t.Fatalf("after lowering, the kill switch page says %q", effective)
	}
	if history := text("kill switch history", chromedp.Text("#ks-history")); !strings.Contains(history, "Vendor outage drill") || !strings.Contains(history, "Drill over") {
		t.Errorf("the history lacks a change: %q", history)
	}
	checkPage("kill switch lowered")
	// The violation listener can fail: an image from another origin is
	// blocked by img-src and recorded.
	ctx, c := context.WithTimeout(bctx, 30*time.Second)
	defer c()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`(function(){var i=document.createElement("img");i.src="https://blocked.example/x.png";document.body.appendChild(i);})()`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`window.__csp.length > 0`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the CSP listener recorded no violation for a blocked image: %v", err)
	}
	// So can the accessibility check: a button without a name is a
	// critical violation.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("main").appendChild(document.createElement("button"))`)); err != nil {
		t.Fatal(err)
	}
	if a11y, err := a11yViolations(ctx, t); err != nil || !strings.Contains(strings.Join(a11y, "\n"), "button-name (critical)") {
		t.Fatalf("axe-core did not report a button without a name: %v %v", a11y, err)
	}
}

func strconvQuote(s string) string { return strconv.Quote(s) }
