package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleGovernance: data subject requests, learned patterns and the
// billing state are admins' pages (others get the 403 page); an export's
// one-time link is shown once to the admin who asked and downloads once;
// bad input is a 400 beside the field with no request recorded; another
// organization's request id is the 404 page.
func TestConsoleGovernance(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	producer := e.signIn(acme.email(rampart.RoleProducer))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))

	for _, p := range []string{"/admin/privacy", "/admin/learning", "/admin/billing"} {
		r := e.page(admin, p)
		assertSafePage(t, p, r)
		if r.status != 200 {
			t.Errorf("admin %s: %d", p, r.status)
		}
		if r := e.page(producer, p); r.status != http.StatusForbidden || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("producer %s: %d", p, r.status)
		}
	}
	if r := e.page(admin, "/admin/billing"); !strings.Contains(string(r.body), `id="no-billing"`) {
		t.Errorf("billing page without an account: %s", r.body)
	}
	if r := e.page(admin, "/admin/learning"); !strings.Contains(string(r.body), "vendor_ranker") || !strings.Contains(string(r.body), "crew_matcher") {
		t.Errorf("learning page lacks the rankers")
	}

	// Bad input: nothing recorded.
	if r := e.form(admin, "/admin/privacy", url.Values{"kind": {"export"}, "email": {"not an address"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(string(r.body), `id="pv-email-err"`) {
		t.Errorf("bad email: %d", r.status)
	}
	if r := e.form(admin, "/admin/privacy", url.Values{"kind": {"erasure"}, "email": {acme.email(rampart.RoleAdmin)}}); r.status != http.StatusBadRequest {
		t.Errorf("an admin erasing themself: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM privacy_requests`); n != 0 {
		t.Fatalf("%d requests after refusals", n)
	}

	// An export: requested, made ready (the worker's part), linked once.
	r := e.form(admin, "/admin/privacy", url.Values{"kind": {"export"}, "email": {acme.email(rampart.RoleTechnicalDirector)}})
	if r.status != 200 || !strings.Contains(string(r.body), "pending") {
		t.Fatalf("export: %d\n%s", r.status, r.body)
	}
	id := e.idOf(`SELECT id::text FROM privacy_requests`)
	e.exec(`UPDATE privacy_requests SET status = 'ready', archive = '\x504b0506'::bytea, archive_sha256 = sha256('\x504b0506'::bytea),
		archive_bytes = 4, completed_at = now() WHERE id = $1`, id)
	if r := e.form(outsider, "/admin/privacy/"+id+"/link", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("another organization's link: %d", r.status)
	}
	r = e.form(admin, "/admin/privacy/"+id+"/link", url.Values{})
	body := string(r.body)
	_, link, ok := strings.Cut(body, `id="export-download" href="`)
	link, _, _ = strings.Cut(link, `"`)
	if r.status != http.StatusCreated || !ok || !strings.HasPrefix(link, "/api/admin/data-exports/") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link: %d %q\n%s", r.status, link, body)
	}
	if again := e.page(admin, "/admin/privacy"); strings.Contains(string(again.body), link) {
		t.Error("the link is shown again after its answer")
	}
	if d := e.do(admin, "GET", link, nil); d.status != 200 || string(d.body) != "PK\x05\x06" {
		t.Errorf("download: %d", d.status)
	}
	if d := e.do(admin, "GET", link, nil); d.status != http.StatusNotFound {
		t.Errorf("second download: %d", d.status)
	}

	// The learned-pattern reset.
	if r := e.form(producer, "/admin/learning/reset", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("producer reset: %d", r.status)
	}
	if r := e.form(admin, "/admin/learning/reset", url.Values{}); r.status != 200 || !strings.Contains(string(r.body), "reset") {
		t.Errorf("reset: %d", r.status)
	}
}
