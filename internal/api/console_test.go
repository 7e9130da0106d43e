package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// consoleFixture is a proposal of acme in HALL-A with an AI body pending
// review and one BOM line whose cost, sourcing and lead time are
// distinctive strings, and a proposal of globex.
type consoleFixture struct {
	proposal, globexProposal string
}

const (
	secretSourcing = "Sourced-From-Northwind-7731"
	secretCost     = "4321.09"
)

func seedConsole(t *testing.T, e *env) consoleFixture {
	t.Helper()
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	r := e.do(admin, "POST", "/api/proposals", map[string]any{"title": "Console gala", "client_name": "Initech", "venue_code": "HALL-A", "brief": "Gala for 200 <script>alert(1)</script>"})
	if r.status != 201 {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if r := e.do(admin, "POST", "/api/proposals/"+id+"/bom/lines", map[string]any{"item": "Line array", "category": "audio", "quantity": 2, "unit": "piece",
		"cost": map[string]any{"unit_cost": map[string]any{"amount": secretCost, "currency": "EUR"}, "sourcing": secretSourcing, "lead_time_days": 23}}); r.status != 201 {
		t.Fatalf("bom line: %d %s", r.status, r.body)
	}
	// Finance with distinctive amounts: a signed SOW, a change order, a
	// budget line.
	r = e.do(admin, "POST", "/api/proposals/"+id+"/sow", map[string]any{"title": "Gala SOW", "amount": map[string]any{"amount": "5555.55", "currency": "EUR"}})
	if r.status != 201 {
		t.Fatalf("sow: %d %s", r.status, r.body)
	}
	sowID := r.json(t)["id"].(string)
	if r := e.do(admin, "POST", "/api/sows/"+sowID+"/sign", nil); r.status != 200 {
		t.Fatalf("sign: %d %s", r.status, r.body)
	}
	if r := e.do(admin, "POST", "/api/sows/"+sowID+"/change-orders", map[string]any{"description": "Extra truss", "amount_delta": map[string]any{"amount": "1234.56", "currency": "EUR"}}); r.status != 201 {
		t.Fatalf("change order: %d %s", r.status, r.body)
	}
	if r := e.do(admin, "POST", "/api/proposals/"+id+"/budget/lines", map[string]any{"category": "audio", "description": "PA hire", "planned": map[string]any{"amount": "3333.33", "currency": "EUR"}}); r.status != 201 {
		t.Fatalf("budget line: %d %s", r.status, r.body)
	}
	e.exec(`UPDATE proposals SET body_html = '<p>AI draft body</p>', ai_generated = true, review_status = 'pending_review',
		status = 'ai_pending_review' WHERE id = $1`, id)
	gadmin := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	r = e.do(gadmin, "POST", "/api/proposals", map[string]any{"title": "Globex secret launch", "venue_code": "HALL-A"})
	if r.status != 201 {
		t.Fatalf("globex proposal: %d %s", r.status, r.body)
	}
	return consoleFixture{proposal: id, globexProposal: r.json(t)["id"].(string)}
}

var (
	inlineHandlerRE = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	scriptTagRE     = regexp.MustCompile(`(?i)<script\b[^>]*>`)
)

// assertSafePage checks an HTML answer's headers and markup: the nonce
// CSP, nosniff, no-store, no inline handler, every script with the nonce.
func assertSafePage(t *testing.T, name string, r resp) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	_, nonce, _ := strings.Cut(csp, "'nonce-")
	nonce, _, _ = strings.Cut(nonce, "'")
	if nonce == "" || strings.Contains(csp, "unsafe-") || r.header.Get("X-Content-Type-Options") != "nosniff" ||
		r.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: headers %v", name, r.header)
	}
	body := string(r.body)
	if m := inlineHandlerRE.FindString(body); m != "" {
		t.Errorf("%s: inline event handler %q", name, m)
	}
	for _, tag := range scriptTagRE.FindAllString(body, -1) {
		if !strings.Contains(tag, `nonce="`+nonce+`"`) {
			t.Errorf("%s: script without the response's nonce: %s", name, tag)
		}
	}
}

// TestConsoleProposalRoleMatrix fetches the proposal page as every role
// and searches the HTML: cost, sourcing and lead time are in the page of
// the roles with full cost access and absent (not hidden) from the others';
// each role sees the actions it may take and no other.
func TestConsoleProposalRoleMatrix(t *testing.T) {
	e := setup(t)
	f := seedConsole(t, e)
	acme := e.orgs["acme"]
	for _, tc := range []struct {
		role                                  rampart.Role
		cost, approve, generate, bomEdit, sow bool
	}{
		{rampart.RoleAdmin, true, true, true, true, true},
		{rampart.RoleExecutiveProducer, true, true, true, true, true},
		{rampart.RoleProducer, true, true, true, true, true}, // drafts a SOW; signing is for admins and executive producers
		{rampart.RoleTechnicalDirector, false, false, true, true, false},
		{rampart.RoleVenueManager, false, true, true, true, false},
		{rampart.RoleStakeholder, false, false, false, false, false},
		{rampart.RoleViewer, false, false, false, false, false},
	} {
		c := e.signIn(acme.email(tc.role))
		r := e.page(c, "/proposals/"+f.proposal)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tc.role, r.status, r.body)
		}
		assertSafePage(t, string(tc.role), r)
		body := string(r.body)
		for _, s := range []string{secretSourcing, secretCost, "23 days", `name="unit_cost"`, `name="sourcing"`, "8642.18",
			"5555.55", "1234.56", "3333.33", `id="change-orders"`} {
			if strings.Contains(body, s) != tc.cost {
				t.Errorf("%s: page contains %q = %v, want %v", tc.role, s, !tc.cost, tc.cost)
			}
		}
		for what, want := range map[string]bool{
			`id="approve"`: tc.approve, `data-generate=`: tc.generate, `action="/bom/lines/`: tc.bomEdit,
			`action="/sows/`: tc.sow, "AI-generated · pending review": true, "Line array": true, "Gala SOW": true, "PA hire": true,
			"<p>AI draft body</p>": true, "&lt;script&gt;alert(1)&lt;/script&gt;": true, "<script>alert(1)": false,
		} {
			if strings.Contains(body, what) != want {
				t.Errorf("%s: page contains %q = %v, want %v", tc.role, what, !want, want)
			}
		}
	}
	// The list, for a viewer: the badge, no create form.
	viewer := e.signIn(acme.email(rampart.RoleViewer))
	r := e.page(viewer, "/proposals")
	assertSafePage(t, "list", r)
	if body := string(r.body); r.status != 200 || !strings.Contains(body, "Console gala") || strings.Contains(body, `id="new-proposal"`) ||
		!strings.Contains(body, "AI-generated · pending review") || strings.Contains(body, "Globex") {
		t.Errorf("viewer's list: %d\n%s", r.status, body)
	}
	if r := e.page(viewer, "/proposals?status=pending"); r.status != 200 || !strings.Contains(string(r.body), "Console gala") {
		t.Errorf("pending filter: %d", r.status)
	}
	if r := e.page(viewer, "/proposals?status=approved"); r.status != 200 || strings.Contains(string(r.body), "Console gala") {
		t.Errorf("approved filter shows a pending proposal: %d", r.status)
	}
	// Administration pages: admins only; the others get a readable 403 page.
	for _, path := range []string{"/admin/members", "/admin/tokens", "/admin/audit", "/admin/security"} {
		if r := e.page(viewer, path); r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("viewer %s: %d %s", path, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := e.page(viewer, "/admin/killswitch"); r.status != 200 || strings.Contains(string(r.body), `id="killswitch-form"`) {
		t.Errorf("viewer's kill switch page: %d (the form must be absent)", r.status)
	}
}

// TestConsoleRefusalsArePages: another organization's ids and malformed
// ids are the 404 page, not signed in is the sign-in page, bad input is a
// readable 400 beside the field with nothing written, and a cross-site
// form post is refused with nothing changed — all HTML with the headers.
func TestConsoleRefusalsArePages(t *testing.T) {
	e := setup(t)
	f := seedConsole(t, e)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	for _, path := range []string{"/proposals/" + f.globexProposal, "/proposals/not-an-id", "/proposals/00000000-0000-0000-0000-000000000000"} {
		r := e.page(admin, path)
		assertSafePage(t, path, r)
		if r.status != 404 || strings.Contains(string(r.body), "Globex") || !strings.Contains(string(r.body), `id="failure"`) {
			t.Errorf("%s: %d\n%s", path, r.status, r.body)
		}
	}
	// A write on another organization's object: 404 and nothing changed.
	before := e.scalar("SELECT count(*)::int FROM bom_lines")
	r := e.form(admin, "/proposals/"+f.globexProposal+"/bom/lines", url.Values{"item": {"x"}, "category": {"audio"}, "quantity": {"1"}, "unit": {"piece"}})
	if r.status != 404 || e.scalar("SELECT count(*)::int FROM bom_lines") != before {
		t.Errorf("cross-tenant BOM line: %d", r.status)
	}
	// A link from another site to a signed-in page: refused unread (no
	// title in the answer), with a same-site link to continue.
	r = e.page(admin, "/proposals/"+f.proposal, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate")
	assertSafePage(t, "cross-site link", r)
	if r.status != 403 || strings.Contains(string(r.body), "Console gala") || !strings.Contains(string(r.body), `href="/proposals/`+f.proposal+`"`) {
		t.Errorf("a cross-site link: %d\n%s", r.status, r.body)
	}
	anon := e.client()
	r = e.page(anon, "/proposals")
	assertSafePage(t, "anonymous", r)
	if r.status != 401 || !strings.Contains(string(r.body), `action="/auth/login"`) {
		t.Errorf("anonymous: %d\n%s", r.status, r.body)
	}
	// Bad input: the reason is mandatory; the message is beside the field.
	events := e.events("killswitch.activated")
	r = e.form(admin, "/admin/killswitch", url.Values{"active": {"true"}, "reason": {"  "}})
	assertSafePage(t, "no reason", r)
	if r.status != 400 || !strings.Contains(string(r.body), `id="ks-reason-err"`) || e.events("killswitch.activated") != events {
		t.Errorf("kill switch without a reason: %d", r.status)
	}
	r = e.form(admin, "/proposals", url.Values{"title": {""}})
	if r.status != 400 || !strings.Contains(string(r.body), `id="p-title-err"`) {
		t.Errorf("proposal without a title: %d\n%s", r.status, r.body)
	}
	r = e.form(admin, "/proposals/"+f.proposal+"/bom/lines", url.Values{"item": {"x"}, "category": {"audio"}, "quantity": {"lots"}, "unit": {"piece"}})
	if r.status != 400 || !strings.Contains(string(r.body), "quantity") || e.scalar("SELECT count(*)::int FROM bom_lines") != before {
		t.Errorf("a bad quantity: %d\n%s", r.status, r.body)
	}
	// Unsigning needs the reason: refused, nothing changed.
	// Cross-site: the browser says another site made the post.
	r = e.form(admin, "/admin/killswitch", url.Values{"active": {"true"}, "reason": {"forged"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != 403 || e.events("killswitch.activated") != events {
		t.Errorf("cross-site post: %d %s", r.status, r.body)
	}
	// The same form from this site (the browser's headers) passes.
	r = e.form(admin, "/admin/killswitch", url.Values{"active": {"true"}, "reason": {"drill"}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	if r.status != 200 || e.events("killswitch.activated") != events+1 || !strings.Contains(string(r.body), "drill") {
		t.Errorf("same-origin post: %d %s", r.status, r.body)
	}
}

// TestConsoleStaticAssets: the hashed URLs the pages link to answer with
// the file, its type, nosniff and a year of immutable caching; any other
// name under /static is a 404.
func TestConsoleStaticAssets(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	page := string(e.page(admin, "/proposals").body)
	urls := regexp.MustCompile(`/static/[a-z0-9.-]+`).FindAllString(page, -1)
	if len(urls) < 3 {
		t.Fatalf("the page links %v", urls)
	}
	for _, u := range urls {
		r := e.do(e.client(), http.MethodGet, u, nil)
		if r.status != 200 || r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!(strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript")) || len(r.body) == 0 {
			t.Errorf("%s: %d %v", u, r.status, r.header)
		}
	}
	if r := e.do(e.client(), http.MethodGet, "/static/console.000000000000.js", nil); r.status != 404 {
		t.Errorf("a stale hash: %d", r.status)
	}
}

// TestConsoleUsage: the usage page draws the organization's own AI jobs
// per day as server-side SVG (another organization's are not counted),
// for admins only.
func TestConsoleUsage(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	r := e.do(admin, "POST", "/api/proposals", map[string]any{"title": "Usage", "venue_code": "HALL-A", "brief": "Gala"})
	if r.status != 201 {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	if r := e.do(admin, "POST", "/api/proposals/"+r.json(t)["id"].(string)+"/generate", nil); r.status != 202 {
		t.Fatalf("generate: %d %s", r.status, r.body)
	}
	r = e.page(admin, "/admin/usage")
	assertSafePage(t, "usage", r)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, `aria-label="AI jobs per day: 1 jobs over 30 days, at most 1 in a day."`) ||
		strings.Count(body, "<rect ") < 60 {
		t.Fatalf("usage: %d\n%s", r.status, body)
	}
	r = e.page(e.signIn(globex.email(rampart.RoleAdmin)), "/admin/usage")
	if !strings.Contains(string(r.body), `aria-label="AI jobs per day: 0 jobs over 30 days`) {
		t.Errorf("another organization's jobs are counted:\n%s", r.body)
	}
	if r := e.page(e.signIn(acme.email(rampart.RoleProducer)), "/admin/usage"); r.status != 403 {
		t.Errorf("a producer's usage page: %d", r.status)
	}
}

// TestConsoleProposalPaging: the list shows 50 proposals and a link to
// the next page by cursor; following it shows the rest, none twice.
func TestConsoleProposalPaging(t *testing.T) {
	e := setup(t)
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	for i := range 52 {
		if r := e.do(admin, "POST", "/api/proposals", map[string]any{"title": fmt.Sprintf("Paged %02d", i)}); r.status != 201 {
			t.Fatalf("proposal %d: %d", i, r.status)
		}
	}
	rows := regexp.MustCompile(`Paged \d\d`)
	first := e.page(admin, "/proposals")
	more := regexp.MustCompile(`href="(/proposals\?cursor=[^"]+)"`).FindStringSubmatch(string(first.body))
	if first.status != 200 || len(rows.FindAllString(string(first.body), -1)) != 50 || more == nil {
		t.Fatalf("page 1: %d, %d rows, more %v", first.status, len(rows.FindAllString(string(first.body), -1)), more)
	}
	second := e.page(admin, strings.ReplaceAll(more[1], "&amp;", "&"))
	seen := map[string]bool{}
	for _, b := range [][]byte{first.body, second.body} {
		for _, m := range rows.FindAllString(string(b), -1) {
			if seen[m] {
				t.Errorf("%s shown twice", m)
			}
			seen[m] = true
		}
	}
	if second.status != 200 || len(seen) != 52 || strings.Contains(string(second.body), `hx-get="/proposals?cursor=`) {
		t.Errorf("page 2: %d, %d distinct proposals over both pages", second.status, len(seen))
	}
	// The filters narrow in the database: the oldest proposal (on the
	// second unfiltered page) is the first page of the pending filter.
	e.exec(`UPDATE proposals SET body_html = '<p>x</p>', ai_generated = true, review_status = 'pending_review',
		status = 'ai_pending_review' WHERE title = 'Paged 00'`)
	pending := e.page(admin, "/proposals?status=pending")
	if got := rows.FindAllString(string(pending.body), -1); pending.status != 200 || len(got) != 1 || got[0] != "Paged 00" {
		t.Errorf("pending filter: %d %v", pending.status, got)
	}
	if r := e.page(admin, "/proposals?venue=HALL-B"); r.status != 200 || !strings.Contains(string(r.body), "match the filter") {
		t.Errorf("venue filter: %d", r.status)
	}
	if r := e.page(admin, "/proposals?status=everything"); r.status != 400 || !strings.Contains(string(r.body), "status") {
		t.Errorf("a bad status filter: %d", r.status)
	}
	if r := e.page(admin, "/proposals?cursor=garbage"); r.status != 400 || !strings.Contains(string(r.body), "cursor") {
		t.Errorf("a bad cursor: %d", r.status)
	}
}
