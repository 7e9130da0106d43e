package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var outboxLinkRE = regexp.MustCompile(`http://[^\s]+/auth/link\?token=[A-Za-z0-9_-]+`)

// plainClient talks to serve over plain HTTP and keeps cookies by hand:
// the session cookie is Secure (browsers accept it on http://127.0.0.1,
// Go's cookie jar does not).
type plainClient struct {
	t       *testing.T
	base    string
	cookies map[string]string
}

func (c *plainClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, out
}

// redeem opens a magic link and confirms it, as the console's page does.
func (c *plainClient) redeem(link string) {
	c.t.Helper()
	path := strings.TrimPrefix(link, c.base)
	if status, _ := c.do(http.MethodGet, path, ""); status != http.StatusSeeOther {
		c.t.Fatalf("open %s: %d", link, status)
	}
	if status, body := c.do(http.MethodPost, "/auth/confirm", ""); status != http.StatusOK {
		c.t.Fatalf("confirm %s: %d %v", link, status, body)
	}
}

// Issue 10's first-run gap: from a fresh `serve --demo`, an operator
// creates a second organization, its admin signs in and invites a member,
// who signs in too — with no SMTP server and no SQL.
func TestFirstRunSecondOrganizationWithoutSMTP(t *testing.T) {
	t.Parallel()
	env := map[string]string{"RAMPART_DATA_DIR": dataDir(t), "RAMPART_LOG_FORMAT": "text"}
	r := start(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	addr := r.waitListen(t).String()
	env["RAMPART_ADDR"] = addr
	base := "http://" + addr
	if strings.Contains(r.errOut.String(), "/auth/link?token=") {
		t.Fatalf("a magic link reached the log:\n%s", r.errOut)
	}
	if !strings.Contains(r.out.String(), base+"/demo?key=") {
		t.Fatalf("the banner does not print the mailbox link:\n%s", r.out)
	}

	// Bad input: a clear error, exit 2, nothing created.
	for _, args := range [][]string{
		{"org", "create", "--name", "Second Stage"},
		{"org", "create", "--name", "Second Stage", "--admin-email", "not-an-address"},
		{"org", "create", "--name", "Second Stage", "--admin-email", "a@b.example", "--slug", "Bad Slug"},
		{"org", "frobnicate"},
		{"org", "invite", "--email", "a@b.example", "--name", "X Co"}, // sign-up is operator-only by default
		{"mail", "outbox", "--last", "0"},
	} {
		if code, _, errOut := run(t, env, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}

	code, out, errOut := run(t, env, "org", "create", "--name", "Second Stage", "--admin-email", "Boss@Second.example")
	if code != 0 || !strings.Contains(out, "slug second-stage") {
		t.Fatalf("org create: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "org", "create", "--name", "Again", "--admin-email", "x@second.example", "--slug", "second-stage"); code == 0 || !strings.Contains(errOut, "taken") {
		t.Errorf("a taken slug: exit %d %q", code, errOut)
	}
	code, out, _ = run(t, env, "org", "list")
	if code != 0 || !strings.Contains(out, "second-stage") || !strings.Contains(out, "demo") {
		t.Fatalf("org list: %d\n%s", code, out)
	}

	// The admin's welcome link is in the outbox, not in any log.
	code, out, errOut = run(t, env, "mail", "outbox", "--to", "boss@second.example", "--last", "1")
	link := outboxLinkRE.FindString(out)
	if code != 0 || link == "" {
		t.Fatalf("mail outbox: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(r.errOut.String(), link) || strings.Contains(errOut, link) {
		t.Fatal("the welcome link reached a log")
	}
	boss := &plainClient{t: t, base: base, cookies: map[string]string{}}
	boss.redeem(link)
	status, me := boss.do(http.MethodGet, "/api/me", "")
	if status != http.StatusOK || me["role"] != "admin" || me["organization"].(map[string]any)["slug"] != "second-stage" {
		t.Fatalf("me: %d %v", status, me)
	}
	if status, body := boss.do(http.MethodPost, "/api/invites", `{"email":"crew@second.example","role":"producer","venue_codes":[]}`); status != http.StatusCreated {
		t.Fatalf("invite: %d %v", status, body)
	}
	_, out, _ = run(t, env, "mail", "outbox", "--to", "crew@second.example")
	invite := outboxLinkRE.FindString(out)
	if invite == "" {
		t.Fatalf("no invite in the outbox:\n%s", out)
	}
	crew := &plainClient{t: t, base: base, cookies: map[string]string{}}
	crew.redeem(invite)
	status, me = crew.do(http.MethodGet, "/api/me", "")
	if status != http.StatusOK || me["role"] != "producer" || me["organization"].(map[string]any)["slug"] != "second-stage" {
		t.Fatalf("member's me: %d %v", status, me)
	}
	// The second organization sees none of the demo's data.
	status, venues := boss.do(http.MethodGet, "/api/venues", "")
	if status != http.StatusOK || len(venues["venues"].([]any)) != 0 {
		t.Fatalf("venues of the new organization: %d %v", status, venues)
	}
	// The demo mailbox lists every address's mail to the key's holder.
	key := regexp.MustCompile(`/demo\?key=([A-Za-z0-9_-]+)`).FindStringSubmatch(r.out.String())[1]
	anon := &plainClient{t: t, base: base, cookies: map[string]string{}}
	if status, box := anon.do(http.MethodGet, "/demo?key="+key, ""); status != http.StatusOK || len(box["messages"].([]any)) < 3 {
		t.Fatalf("demo mailbox: %d %v", status, box)
	}
	if status, _ := anon.do(http.MethodGet, "/demo", ""); status != http.StatusNotFound {
		t.Fatalf("demo mailbox without the key: %d", status)
	}
}
