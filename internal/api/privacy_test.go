package api

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/privacy"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestDataRequestRoutes drives an export end to end over HTTP (request,
// worker, link, the one download) and the refusals: bad input names the
// field, a non-admin is 403, another organization's admin gets 404 for
// the member, the request, its link and its download, and nothing of
// theirs is written.
func TestDataRequestRoutes(t *testing.T) {
	e := setup(t)
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin, other := e.signIn(acme.email(rampart.RoleAdmin)), e.signIn(globex.email(rampart.RoleAdmin))
	subject := acme.users[rampart.RoleProducer]

	for _, tc := range []struct {
		body   any
		status int
		field  string
	}{
		{map[string]any{"kind": "delete", "user_id": subject.ID.String()}, 400, "kind"},
		{map[string]any{"kind": "export"}, 400, "user_id or email"},
		{map[string]any{"kind": "export", "user_id": subject.ID.String(), "email": subject.Email}, 400, "user_id or email"},
		{map[string]any{"kind": "export", "user_id": "not-a-uuid"}, 400, "user_id"},
	} {
		r := e.do(admin, "POST", "/api/admin/data-requests", tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.field) || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
			t.Errorf("%v: %d %s, want %d naming %q", tc.body, r.status, r.body, tc.status, tc.field)
		}
	}
	if r := e.do(e.signIn(acme.email(rampart.RoleProducer)), "POST", "/api/admin/data-requests", map[string]any{"kind": "export", "email": subject.Email}); r.status != 403 {
		t.Errorf("a producer asks: %d %s", r.status, r.body)
	}
	for _, body := range []map[string]any{{"kind": "export", "user_id": subject.ID.String()}, {"kind": "erasure", "email": subject.Email}} {
		if r := e.do(other, "POST", "/api/admin/data-requests", body); r.status != 404 {
			t.Errorf("globex admin asks about acme's member %v: %d %s", body, r.status, r.body)
		}
	}
	if n := e.scalar("SELECT count(*)::int FROM privacy_requests"); n != 0 {
		t.Fatalf("%d requests written by refused calls", n)
	}

	r := e.do(admin, "POST", "/api/admin/data-requests", map[string]any{"kind": "export", "email": subject.Email})
	if r.status != 202 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	id, _ := r.json(t)["id"].(string)
	if n, err := privacy.BuildPending(context.Background(), e.store, 10); err != nil || n != 1 {
		t.Fatalf("worker: %d %v", n, err)
	}
	if r := e.do(other, "GET", "/api/admin/data-requests/"+id, nil); r.status != 404 {
		t.Errorf("globex admin reads acme's request: %d", r.status)
	}
	if r := e.do(other, "POST", "/api/admin/data-requests/"+id+"/link", nil); r.status != 404 {
		t.Errorf("globex admin links acme's export: %d", r.status)
	}
	r = e.do(admin, "POST", "/api/admin/data-requests/"+id+"/link", nil)
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	url, _ := r.json(t)["url"].(string)
	if r := e.do(other, "GET", url, nil); r.status != 404 {
		t.Errorf("globex admin with acme's link: %d", r.status)
	}
	r = e.do(admin, "GET", url, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("download: %d %v", r.status, r.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	if !names["README.md"] || !names["manifest.json"] || !names["user.json"] || !names["audit_events.json"] {
		t.Errorf("archive files: %v", names)
	}
	if r := e.do(admin, "GET", url, nil); r.status != 404 {
		t.Errorf("second download: %d", r.status)
	}
	if r := e.do(admin, "GET", "/api/admin/data-requests/"+id, nil); r.status != 200 || r.json(t)["status"] != "downloaded" {
		t.Errorf("after the download: %d %s", r.status, r.body)
	}
}
