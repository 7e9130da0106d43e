package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// The console's vendor and crew forms (internal/console/directory.go).

const consoleRate = "987.65"

// dayRate is the crew member's stored day rate as the admin reads it
// through the API ("" when there is none).
func (e *env) dayRate(admin *http.Client, id string) string {
	e.t.Helper()
	r := e.do(admin, "GET", "/api/crew/"+id, nil)
	if r.status != 200 {
		e.t.Fatalf("read crew %s: %d %s", id, r.status, r.body)
	}
	if dr, ok := r.json(e.t)["day_rate"].(map[string]any); ok {
		return dr["amount"].(string) + " " + dr["currency"].(string)
	}
	return ""
}

// TestConsoleVendorForms: who may add, edit and remove vendors in the
// console (the roles with full cost access, as the API), the removal's
// confirmation page, 422 with the message beside the field and nothing
// written, and another organization's vendor the 404 page with nothing
// changed.
func TestConsoleVendorForms(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	vendorCount := func() int { return e.scalar(`SELECT count(*)::int FROM vendors`) }
	add := func(c *http.Client, name string) resp {
		return e.form(c, "/vendors", url.Values{"name": {name}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"10"},
			"on_time_count": {"3"}, "late_count": {"1"}, "depot_latitude": {"51.5072"}, "depot_longitude": {"-0.1276"}})
	}
	editors := map[rampart.Role]bool{rampart.RoleAdmin: true, rampart.RoleExecutiveProducer: true, rampart.RoleProducer: true}
	for _, role := range rampart.Roles {
		c := e.signIn(acme.email(role))
		name := "Console Sound " + string(role)
		before := vendorCount()
		list := e.page(c, "/vendors")
		r := add(c, name)
		if editors[role] {
			assertSafePage(t, "vendors as "+string(role), list)
			if list.status != 200 || !strings.Contains(string(list.body), `id="add-vendor"`) {
				t.Errorf("%s: vendors page %d without the add form", role, list.status)
			}
			if r.status != 200 || !strings.Contains(string(r.body), name) || vendorCount() != before+1 {
				t.Errorf("%s: add a vendor: %d", role, r.status)
				continue
			}
			id := e.idOf(`SELECT id::text FROM vendors WHERE name = $1`, name)
			if p := e.page(c, "/vendors/"+id); p.status != 200 || !strings.Contains(string(p.body), `id="edit-vendor"`) ||
				!strings.Contains(string(p.body), `value="51.5072"`) {
				t.Errorf("%s: the vendor's page: %d", role, p.status)
			}
			ed := e.form(c, "/vendors/"+id, url.Values{"name": {name + " renamed"}, "category": {"lighting"}, "price_band": {"3"},
				"lead_time_days": {"5"}, "on_time_count": {"4"}, "late_count": {"1"}, "depot_latitude": {""}, "depot_longitude": {""}})
			got := e.scalarString(`SELECT name || '/' || category || '/' || price_band || '/' || (depot_latitude IS NULL)::text FROM vendors WHERE id = $1`, id)
			if ed.status != 200 || got != name+" renamed/lighting/3/true" {
				t.Errorf("%s: edit a vendor: %d, stored %s", role, ed.status, got)
			}
			cf := e.page(c, "/vendors/"+id+"/delete")
			assertSafePage(t, "confirm removal", cf)
			if cf.status != 200 || !strings.Contains(string(cf.body), `action="/vendors/`+id+`/delete"`) || vendorCount() != before+1 {
				t.Errorf("%s: the removal's confirmation page: %d (or it removed)", role, cf.status)
			}
			if d := e.form(c, "/vendors/"+id+"/delete", url.Values{}); d.status != 200 || vendorCount() != before {
				t.Errorf("%s: remove a vendor: %d", role, d.status)
			}
			continue
		}
		// Roles without full cost access: refused before anything is read
		// or written, by the use case.
		if list.status != http.StatusForbidden || strings.Contains(string(list.body), `id="add-vendor"`) {
			t.Errorf("%s: vendors page %d", role, list.status)
		}
		if r.status != http.StatusForbidden || vendorCount() != before {
			t.Errorf("%s: added a vendor: %d", role, r.status)
		}
	}

	// A vendor to edit, remove and attack.
	if r := add(admin, "Stage Sound Ltd"); r.status != 200 {
		t.Fatalf("add: %d", r.status)
	}
	id := e.idOf(`SELECT id::text FROM vendors WHERE name = 'Stage Sound Ltd'`)
	stored := func() string {
		return e.scalarString(`SELECT name || '/' || price_band || '/' || lead_time_days || '/' || updated_at::text FROM vendors WHERE id = $1`, id)
	}
	was := stored()
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	for _, c := range []struct {
		who    string
		client *http.Client
		status int
	}{{"technical director", td, http.StatusForbidden}, {"another organization", outsider, http.StatusNotFound}} {
		if r := e.page(c.client, "/vendors/"+id); r.status != c.status || strings.Contains(string(r.body), "Stage Sound") {
			t.Errorf("%s: the vendor's page: %d", c.who, r.status)
		}
		if r := e.form(c.client, "/vendors/"+id, url.Values{"name": {"Hijacked"}}); r.status != c.status {
			t.Errorf("%s: edit: %d", c.who, r.status)
		}
		// Invalid input is no way around the check either: still not 422.
		if r := e.form(c.client, "/vendors/"+id, url.Values{"price_band": {"nine"}}); r.status != c.status {
			t.Errorf("%s: invalid edit: %d", c.who, r.status)
		}
		if r := e.page(c.client, "/vendors/"+id+"/delete"); r.status != c.status || strings.Contains(string(r.body), "Stage Sound") {
			t.Errorf("%s: the removal's confirmation page: %d", c.who, r.status)
		}
		if r := e.form(c.client, "/vendors/"+id+"/delete", url.Values{}); r.status != c.status {
			t.Errorf("%s: remove: %d", c.who, r.status)
		}
		if now := stored(); now != was {
			t.Errorf("%s: the vendor changed: %s → %s", c.who, was, now)
		}
	}
	if r := e.page(outsider, "/vendors/"+id); !strings.Contains(string(r.body), "belongs to another organization") {
		t.Errorf("another organization's vendor is not the 404 page:\n%s", r.body)
	}

	// Invalid input: 422, the form again with the input and the message
	// beside the field, nothing written.
	before := vendorCount()
	events := e.scalar(`SELECT count(*)::int FROM audit_events`)
	for _, c := range []struct {
		form     url.Values
		errID    string
		contains string
	}{
		{url.Values{"name": {"Loud & Co"}, "category": {"audio"}, "price_band": {"9"}, "lead_time_days": {"10"}}, `id="v-band-err"`, "price_band: must be from 1"},
		{url.Values{"name": {"Loud & Co"}, "category": {"lasers"}, "price_band": {"2"}, "lead_time_days": {"10"}}, `id="v-category-err"`, "category"},
		{url.Values{"name": {"Loud & Co"}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"ten"}}, `id="v-lead-err"`, "must be a whole number"},
		{url.Values{"name": {"Loud & Co"}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"1"}, "depot_latitude": {"95"}, "depot_longitude": {"0"}}, `id="v-depot-err"`, "latitude must be"},
		{url.Values{"name": {"Loud & Co"}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"1"}, "depot_latitude": {"51"}}, `id="v-depot-err"`, "both"},
		{url.Values{"name": {""}, "category": {"audio"}, "price_band": {"2"}, "lead_time_days": {"1"}}, `id="v-name-err"`, "name"},
	} {
		r := e.form(admin, "/vendors", c.form)
		b := string(r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(b, c.errID) || !strings.Contains(b, c.contains) ||
			(c.form.Get("name") != "" && !strings.Contains(b, `value="Loud &amp; Co"`)) {
			t.Errorf("%v: %d, want 422 with %s and the input\n%s", c.form, r.status, c.errID, b)
		}
	}
	r := e.form(admin, "/vendors/"+id, url.Values{"name": {"Renamed"}, "lead_time_days": {"999"}})
	if b := string(r.body); r.status != http.StatusUnprocessableEntity || !strings.Contains(b, `id="v-lead-err"`) || !strings.Contains(b, `value="Renamed"`) {
		t.Errorf("invalid edit: %d\n%s", r.status, b)
	}
	if vendorCount() != before || stored() != was || e.scalar(`SELECT count(*)::int FROM audit_events`) != events {
		t.Errorf("invalid input wrote something")
	}
}

// TestConsoleCrewForms: who may add, edit and remove crew members in the
// console; the day rate absent (not hidden) from every crew page and form
// of a role without full cost access; an edit that does not set the rate
// never erases it; 422 with the field's message and nothing written;
// another organization's member the 404 page with nothing changed.
func TestConsoleCrewForms(t *testing.T) {
	e := setup(t)
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	outsider := e.signIn(e.orgs["globex"].email(rampart.RoleAdmin))
	crewCount := func() int { return e.scalar(`SELECT count(*)::int FROM crew_members`) }
	if r := e.form(admin, "/crew", url.Values{"name": {"Sam Rigger"}, "skills": {"rigging, follow spot"},
		"certifications": {"ipaf 2028-05-31\n\n"}, "availability": {"2027-03-01 to 2027-03-31"}, "day_rate": {consoleRate}, "currency": {"eur"}}); r.status != 200 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	id := e.idOf(`SELECT id::text FROM crew_members WHERE name = 'Sam Rigger'`)
	if got := e.dayRate(admin, id); got != consoleRate+" EUR" {
		t.Fatalf("stored day rate %q", got)
	}
	if got := e.scalarString(`SELECT skills::text || certifications::text || availability::text FROM crew_members WHERE id = $1`, id); !strings.Contains(got, "follow spot") ||
		!strings.Contains(got, "2028-05-31") || !strings.Contains(got, "2027-03-31") {
		t.Errorf("stored fields: %s", got)
	}

	editors := map[rampart.Role]bool{rampart.RoleAdmin: true, rampart.RoleExecutiveProducer: true, rampart.RoleProducer: true}
	for _, role := range rampart.Roles {
		c := e.signIn(acme.email(role))
		list, member := e.page(c, "/crew"), e.page(c, "/crew/"+id)
		if role == rampart.RoleVenueManager {
			// Venue managers see crew through crew matching only.
			n := crewCount()
			add := e.form(c, "/crew", url.Values{"name": {"Crew of a venue manager"}})
			if list.status != http.StatusForbidden || member.status != http.StatusForbidden || strings.Contains(string(member.body), "Sam Rigger") ||
				add.status != http.StatusForbidden || crewCount() != n {
				t.Errorf("venue manager: crew %d, member %d, add %d", list.status, member.status, add.status)
			}
			continue
		}
		for name, p := range map[string]resp{"crew": list, "member": member} {
			b := string(p.body)
			assertSafePage(t, string(role)+" "+name, p)
			if p.status != 200 || !strings.Contains(b, "Sam Rigger") {
				t.Errorf("%s: %s page %d", role, name, p.status)
			}
			hasRate := strings.Contains(b, consoleRate) || strings.Contains(b, `name="day_rate"`) || strings.Contains(b, "Day rate") ||
				strings.Contains(b, "day rate") || strings.Contains(b, "clear_day_rate")
			if full := access.HasFullCostAccess(role); full != hasRate {
				t.Errorf("%s: %s page has the day rate: %v", role, name, hasRate)
			}
			if hasForm := strings.Contains(b, `id="add-crew"`) || strings.Contains(b, `id="edit-crew"`); hasForm != editors[role] {
				t.Errorf("%s: %s page has a crew form: %v", role, name, hasForm)
			}
		}
		n := crewCount()
		r := e.form(c, "/crew", url.Values{"name": {"Crew of " + string(role)}, "skills": {"audio"}})
		if editors[role] != (r.status == 200) || crewCount() != n+map[bool]int{true: 1}[editors[role]] {
			t.Errorf("%s: add a crew member: %d", role, r.status)
		}
	}

	// Every crew editor edits the member with the form their page gives
	// (the fields it renders); the rate survives each edit that does not
	// set it.
	edit := func(c *http.Client, v url.Values) resp { return e.form(c, "/crew/"+id, v) }
	for _, role := range []rampart.Role{rampart.RoleAdmin, rampart.RoleExecutiveProducer, rampart.RoleProducer} {
		c := e.signIn(acme.email(role))
		// Without the rate fields at all (the form of a role without full
		// cost access carries none).
		if r := edit(c, url.Values{"name": {"Sam Rigger"}, "skills": {"rigging, " + string(role)}, "certifications": {"ipaf 2028-05-31"}, "availability": {""}}); r.status != 200 {
			t.Errorf("%s: edit: %d %s", role, r.status, r.body)
		}
		if got := e.dayRate(admin, id); got != consoleRate+" EUR" {
			t.Fatalf("%s: an edit without rate fields changed the day rate to %q", role, got)
		}
		// With the rate field emptied (not a removal: that is the box).
		if r := edit(c, url.Values{"name": {"Sam Rigger"}, "day_rate": {""}, "currency": {"EUR"}}); r.status != 200 {
			t.Errorf("%s: edit: %d", role, r.status)
		}
		if got := e.dayRate(admin, id); got != consoleRate+" EUR" {
			t.Fatalf("%s: an empty rate field erased the day rate (%q)", role, got)
		}
	}
	// The same rate again is no rate change (no re-seal, no cost event).
	mark := e.scalar(`SELECT coalesce(max(id), 0)::int FROM audit_events`)
	if r := edit(admin, url.Values{"name": {"Sam Rigger"}, "day_rate": {consoleRate}, "currency": {"EUR"}}); r.status != 200 {
		t.Errorf("edit with the same rate: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE id > $1 AND action = 'crew.member.updated' AND (metadata->'sealed_fields_changed')::jsonb = '[]'::jsonb`, mark); n != 1 {
		t.Errorf("the unchanged rate was written again (%d events without a sealed change)", n)
	}
	// A technical director reads the crew but may not edit it: a forged
	// form with a rate, or asking to remove it, is refused by the use case
	// and nothing changes.
	td := e.signIn(acme.email(rampart.RoleTechnicalDirector))
	was := e.scalarString(`SELECT updated_at::text || name FROM crew_members WHERE id = $1`, id)
	for _, v := range []url.Values{{"name": {"Sam"}}, {"day_rate": {"1.00"}, "currency": {"EUR"}}, {"clear_day_rate": {"1"}}} {
		if r := edit(td, v); r.status != http.StatusForbidden || strings.Contains(string(r.body), consoleRate) {
			t.Errorf("technical director's edit %v: %d", v, r.status)
		}
	}
	if e.dayRate(admin, id) != consoleRate+" EUR" || e.scalarString(`SELECT updated_at::text || name FROM crew_members WHERE id = $1`, id) != was {
		t.Errorf("a refused edit changed the member")
	}

	// Invalid input: 422 beside the field, the input kept, nothing written.
	events := e.scalar(`SELECT count(*)::int FROM audit_events`)
	n := crewCount()
	for _, c := range []struct {
		path  string
		form  url.Values
		errID string
	}{
		{"/crew", url.Values{"name": {"Ann Light"}, "certifications": {"ipaf"}}, `id="cr-certs-err"`},
		{"/crew", url.Values{"name": {"Ann Light"}, "certifications": {"ipaf 2028-02-30"}}, `id="cr-certs-err"`},
		{"/crew", url.Values{"name": {"Ann Light"}, "availability": {"2027-03-01"}}, `id="cr-avail-err"`},
		{"/crew", url.Values{"name": {"Ann Light"}, "availability": {"2027-03-31 2027-03-01"}}, `id="cr-avail-err"`},
		{"/crew", url.Values{"name": {"Ann Light"}, "day_rate": {"12.5"}, "currency": {"XXY"}}, `id="cr-rate-err"`},
		{"/crew", url.Values{"name": {"Ann Light"}, "day_rate": {"-3"}, "currency": {"EUR"}}, `id="cr-rate-err"`},
		{"/crew", url.Values{"name": {""}}, `id="cr-name-err"`},
		{"/crew/" + id, url.Values{"name": {"Ann Light"}, "availability": {"soon"}}, `id="cr-avail-err"`},
		{"/crew/" + id, url.Values{"name": {"Ann Light"}, "day_rate": {"1.999"}, "currency": {"EUR"}}, `id="cr-rate-err"`},
		{"/crew/" + id, url.Values{"name": {"Ann Light"}, "day_rate": {"5.00"}, "currency": {"EUR"}, "clear_day_rate": {"1"}}, `id="cr-rate-err"`},
	} {
		r := e.form(admin, c.path, c.form)
		b := string(r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(b, c.errID) || (c.form.Get("name") != "" && !strings.Contains(b, `value="Ann Light"`)) {
			t.Errorf("%s %v: %d, want 422 with %s and the input\n%s", c.path, c.form, r.status, c.errID, b)
		}
	}
	if crewCount() != n || e.scalar(`SELECT count(*)::int FROM audit_events`) != events || e.dayRate(admin, id) != consoleRate+" EUR" ||
		e.scalarString(`SELECT name FROM crew_members WHERE id = $1`, id) != "Sam Rigger" {
		t.Errorf("invalid input wrote something")
	}

	// Another organization: the 404 page, nothing changed or shown.
	was = e.scalarString(`SELECT updated_at::text || name FROM crew_members WHERE id = $1`, id)
	for _, r := range []resp{e.page(outsider, "/crew/"+id), e.form(outsider, "/crew/"+id, url.Values{"name": {"Hijacked"}}),
		e.form(outsider, "/crew/"+id, url.Values{"availability": {"soon"}}), e.form(outsider, "/crew/"+id, url.Values{"clear_day_rate": {"1"}}),
		e.page(outsider, "/crew/"+id+"/delete"), e.form(outsider, "/crew/"+id+"/delete", url.Values{})} {
		if r.status != http.StatusNotFound || strings.Contains(string(r.body), "Sam Rigger") || strings.Contains(string(r.body), consoleRate) {
			t.Errorf("another organization: %d", r.status)
		}
	}
	if e.scalarString(`SELECT updated_at::text || name FROM crew_members WHERE id = $1`, id) != was || e.dayRate(admin, id) != consoleRate+" EUR" {
		t.Errorf("another organization changed the member")
	}

	// Removing the rate is explicit; then the member is removed after the
	// confirmation page.
	if r := edit(admin, url.Values{"clear_day_rate": {"1"}}); r.status != 200 || e.dayRate(admin, id) != "" {
		t.Errorf("remove the rate: %d, rate %q", r.status, e.dayRate(admin, id))
	}
	if r := e.page(admin, "/crew/"+id+"/delete"); r.status != 200 || !strings.Contains(string(r.body), `action="/crew/`+id+`/delete"`) {
		t.Errorf("confirmation page: %d", r.status)
	}
	if r := e.form(td, "/crew/"+id+"/delete", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("technical director removed a member: %d", r.status)
	}
	n = crewCount()
	if r := e.form(admin, "/crew/"+id+"/delete", url.Values{}); r.status != 200 || crewCount() != n-1 {
		t.Errorf("remove: %d", r.status)
	}
}
