package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestConsoleVenueForms: the venue pages (internal/console/venues.go). An
// admin adds, edits and removes a venue (producers and executive producers
// may too: the matrix lets them edit); a venue manager edits only the
// venue of their scope (another venue is the 404 page, a new code outside
// the scope is refused); other roles get no form and their posts are
// refused; invalid input is 422 beside the field with nothing written; a
// duplicate code is 409 beside the code; another organization's venue is
// the 404 page with nothing changed; the code never changes.
func TestConsoleVenueForms(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	manager := e.signIn(acme.email(rampart.RoleVenueManager))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	venues := func() int { return e.scalar(`SELECT count(*)::int FROM venues`) }
	snapshot := func() string {
		return e.scalarString(`SELECT coalesce(string_agg(code || '/' || name || '/' || city || '/' || coalesce(capacity::text, '-'), ',' ORDER BY code), '') FROM venues`)
	}

	// The admin: list, add, edit, confirm and remove.
	list := e.page(admin, "/venues")
	assertSafePage(t, "venues", list)
	if list.status != 200 || !strings.Contains(string(list.body), `id="add-venue"`) || !strings.Contains(string(list.body), "HALL-A") {
		t.Fatalf("admin's venues page: %d", list.status)
	}
	before := venues()
	if r := e.form(admin, "/venues", url.Values{"code": {"riverside-2"}, "name": {"Riverside Two"}, "city": {"London"}, "capacity": {"1200"},
		"latitude": {"51.5"}, "longitude": {"-0.12"}}); r.status != 200 || venues() != before+1 {
		t.Fatalf("add a venue: %d", r.status)
	}
	id := e.idOf(`SELECT id::text FROM venues WHERE code = 'RIVERSIDE-2'`)
	if p := e.page(admin, "/venues/"+id); p.status != 200 || !strings.Contains(string(p.body), `id="edit-venue"`) || !strings.Contains(string(p.body), `value="51.5"`) {
		t.Errorf("the venue's page: %d", p.status)
	}
	// The code in an edit is ignored: it never changes.
	if r := e.form(admin, "/venues/"+id, url.Values{"code": {"OTHER"}, "name": {"Riverside 2"}, "city": {"London"}, "capacity": {""}}); r.status != 200 {
		t.Errorf("edit a venue: %d", r.status)
	}
	if got := e.scalarString(`SELECT code || '/' || name || '/' || coalesce(capacity::text, '-') || '/' || (latitude IS NULL)::text FROM venues WHERE id = $1`, id); got != "RIVERSIDE-2/Riverside 2/-/true" {
		t.Errorf("after the edit the venue is %s", got)
	}

	// Invalid input: 422 beside the field, the input kept, nothing written.
	stored := snapshot()
	for _, c := range []struct {
		v     url.Values
		field string
	}{
		{url.Values{"code": {"bad code!"}, "name": {"X"}}, "code"},
		{url.Values{"code": {"NEW-1"}, "name": {""}}, "name"},
		{url.Values{"code": {"NEW-1"}, "name": {"X"}, "capacity": {"lots"}}, "capacity"},
		{url.Values{"code": {"NEW-1"}, "name": {"X"}, "capacity": {"0"}}, "capacity"},
		{url.Values{"code": {"NEW-1"}, "name": {"X"}, "latitude": {"51.5"}}, "location"},
		{url.Values{"code": {"NEW-1"}, "name": {"X"}, "latitude": {"95"}, "longitude": {"0"}}, "location"},
	} {
		r := e.form(admin, "/venues", c.v)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `id="ve-`+c.field+`-err"`) {
			t.Errorf("%v: %d, want 422 beside %s", c.v, r.status, c.field)
		}
	}
	if r := e.form(admin, "/venues/"+id, url.Values{"name": {"Y"}, "capacity": {"-3"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.body), `id="ve-capacity-err"`) || !strings.Contains(string(r.body), `value="-3"`) {
		t.Errorf("invalid edit: %d", r.status)
	}
	if r := e.form(admin, "/venues", url.Values{"code": {"HALL-A"}, "name": {"Dup"}}); r.status != http.StatusConflict || !strings.Contains(string(r.body), `id="ve-code-err"`) {
		t.Errorf("duplicate code: %d", r.status)
	}
	if now := snapshot(); now != stored {
		t.Errorf("refused input changed the venues: %s → %s", stored, now)
	}

	// The venue manager (scoped to HALL-A): edits HALL-A, not HALL-B, and
	// cannot add a venue outside the scope.
	hallA := e.idOf(`SELECT id::text FROM venues WHERE code = 'HALL-A' AND organization_id = $1`, acme.org.ID)
	hallB := e.idOf(`SELECT id::text FROM venues WHERE code = 'HALL-B' AND organization_id = $1`, acme.org.ID)
	if r := e.form(manager, "/venues/"+hallA, url.Values{"name": {"Hall A, refitted"}, "city": {"Leeds"}}); r.status != 200 ||
		e.scalarString(`SELECT name FROM venues WHERE id = $1`, hallA) != "Hall A, refitted" {
		t.Errorf("the venue manager editing their venue: %d", r.status)
	}
	stored = snapshot()
	if r := e.page(manager, "/venues/"+hallB); r.status != http.StatusNotFound {
		t.Errorf("the venue manager opening another venue: %d", r.status)
	}
	if r := e.form(manager, "/venues/"+hallB, url.Values{"name": {"Taken"}}); r.status != http.StatusNotFound {
		t.Errorf("the venue manager editing another venue: %d", r.status)
	}
	if r := e.form(manager, "/venues", url.Values{"code": {"ELSEWHERE"}, "name": {"Elsewhere"}}); r.status != http.StatusForbidden {
		t.Errorf("the venue manager adding a venue outside the scope: %d", r.status)
	}

	// Roles that may not edit venues: no form, posts refused, nothing changes.
	for _, role := range []rampart.Role{rampart.RoleTechnicalDirector, rampart.RoleViewer, rampart.RoleStakeholder} {
		c := e.signIn(acme.email(role))
		if p := e.page(c, "/venues"); strings.Contains(string(p.body), `id="add-venue"`) {
			t.Errorf("%s is offered the add form", role)
		}
		if r := e.form(c, "/venues", url.Values{"code": {"ROGUE"}, "name": {"Rogue"}}); r.status != http.StatusForbidden {
			t.Errorf("%s adding a venue: %d", role, r.status)
		}
		if r := e.form(c, "/venues/"+hallA+"/delete", url.Values{}); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
			t.Errorf("%s removing a venue: %d", role, r.status)
		}
	}
	// Another organization's admin: the 404 page for every form.
	for _, path := range []string{"/venues/" + hallA, "/venues/" + hallA + "/delete"} {
		if r := e.page(outsider, path); r.status != http.StatusNotFound {
			t.Errorf("outsider GET %s: %d", path, r.status)
		}
		if r := e.form(outsider, path, url.Values{"name": {"Hijacked"}}); r.status != http.StatusNotFound {
			t.Errorf("outsider POST %s: %d", path, r.status)
		}
	}
	if now := snapshot(); now != stored {
		t.Errorf("refused posts changed the venues: %s → %s", stored, now)
	}

	// Removal: a confirmation page, then the post.
	before = venues()
	if cf := e.page(admin, "/venues/"+id+"/delete"); cf.status != 200 || !strings.Contains(string(cf.body), `action="/venues/`+id+`/delete"`) || venues() != before {
		t.Errorf("the removal's confirmation page: %d", cf.status)
	}
	if r := e.form(admin, "/venues/"+id+"/delete", url.Values{}); r.status != 200 || venues() != before-1 {
		t.Errorf("remove a venue: %d", r.status)
	}
}
