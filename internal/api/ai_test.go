package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// hangDeadline bounds every wait for the AI pipeline. It detects a hang; it
// is not a performance bound (a loaded machine under -race is slow).
const hangDeadline = 60 * time.Second

// newProposal creates a proposal as c and returns its id.
func (e *env) newProposal(c *http.Client, body map[string]any) string {
	e.t.Helper()
	r := e.do(c, http.MethodPost, "/api/proposals", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create proposal: %d %s", r.status, r.body)
	}
	id, _ := r.json(e.t)["id"].(string)
	if id == "" {
		e.t.Fatalf("create proposal: no id in %s", r.body)
	}
	return id
}

// generate requests a generation of proposal id as c; on 202 it returns the job.
func (e *env) generate(c *http.Client, id string) (resp, map[string]any) {
	e.t.Helper()
	r := e.do(c, http.MethodPost, "/api/proposals/"+id+"/generate", nil)
	if r.status != http.StatusAccepted {
		return r, nil
	}
	job := r.json(e.t)
	if loc := r.header.Get("Location"); loc != "/api/jobs/"+job["id"].(string) {
		e.t.Fatalf("Location %q for job %v", loc, job["id"])
	}
	return r, job
}

// mustGenerate is generate that insists on 202 and returns the job id.
func (e *env) mustGenerate(c *http.Client, id string) string {
	e.t.Helper()
	r, job := e.generate(c, id)
	if job == nil {
		e.t.Fatalf("generate %s: %d %s", id, r.status, r.body)
	}
	return job["id"].(string)
}

// waitJob polls GET /api/jobs/{id} as c until the job has finished.
func (e *env) waitJob(c *http.Client, id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for {
		r := e.do(c, http.MethodGet, "/api/jobs/"+id, nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("job %s: %d %s", id, r.status, r.body)
		}
		job := r.json(e.t)
		if status, _ := job["status"].(string); rampart.JobFinished(status) {
			return job
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %v after %s", id, job["status"], hangDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProposalCRUDAndValidation: proposals are created, read and edited
// with strict bodies (400 naming the field, nothing written); another
// organization's proposal or job is not found; roles without the edit
// right are refused; a venue manager sees only their venues' proposals.
func TestProposalCRUDAndValidation(t *testing.T) {
	// Insert-only: a requested generation stays queued, so the conflict
	// of a second request is deterministic.
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))

	id := e.newProposal(producer, map[string]any{"title": "Spring gala", "client_name": "Initech", "venue_code": "HALL-A", "brief": "Dinner for 120 guests"})
	p := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).json(t)
	if p["title"] != "Spring gala" || p["venue_code"] != "HALL-A" || p["status"] != "draft" || p["review_status"] != "none" ||
		p["ai_generated"] != false || p["body_html"] != "" || p["author_id"] != acme.users[rampart.RoleProducer].ID.String() {
		t.Fatalf("created proposal: %v", p)
	}
	r := e.do(producer, http.MethodPatch, "/api/proposals/"+id, map[string]any{"client_name": "Initrode"})
	if r.status != http.StatusOK || r.json(t)["client_name"] != "Initrode" || r.json(t)["title"] != "Spring gala" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}

	// Bad bodies: 400 problem+json naming the field; nothing written.
	for _, tc := range []struct {
		name, method string
		body         any
		field        string
	}{
		{"empty title", http.MethodPost, map[string]any{"title": ""}, "title"},
		{"blank title", http.MethodPost, map[string]any{"title": "   "}, "title"},
		{"long title", http.MethodPost, map[string]any{"title": strings.Repeat("x", 201)}, "title"},
		{"missing title", http.MethodPost, map[string]any{"client_name": "Initech"}, "title"},
		{"unknown field", http.MethodPost, `{"title":"x","owner":"me"}`, "owner"},
		{"venue pattern", http.MethodPost, map[string]any{"title": "x", "venue_code": "hall a"}, "venue_code"},
		{"no such venue", http.MethodPost, map[string]any{"title": "x", "venue_code": "HALL-Z"}, "venue_code"},
		{"long brief", http.MethodPost, map[string]any{"title": "x", "brief": strings.Repeat("b", 20001)}, "brief"},
		{"patch empty title", http.MethodPatch, map[string]any{"title": ""}, "title"},
		{"patch venue pattern", http.MethodPatch, map[string]any{"venue_code": "-X"}, "venue_code"},
		{"patch no such venue", http.MethodPatch, map[string]any{"venue_code": "HALL-Z"}, "venue_code"},
		{"patch the review state", http.MethodPatch, `{"status":"approved"}`, "status"},
		{"NUL in title", http.MethodPost, map[string]any{"title": "gala\u0000"}, "title"},
		{"NUL in brief", http.MethodPost, map[string]any{"title": "x", "brief": "a\u0000b"}, "brief"},
		{"patch NUL in client", http.MethodPatch, map[string]any{"client_name": "\u0000"}, "client_name"},
	} {
		path := "/api/proposals"
		if tc.method == http.MethodPatch {
			path += "/" + id
		}
		r := e.do(producer, tc.method, path, tc.body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.name, r.status, r.body)
			continue
		}
		if d, _ := problem(t, r, http.StatusBadRequest)["detail"].(string); !strings.Contains(d, tc.field) {
			t.Errorf("%s: detail %q does not name %s", tc.name, d, tc.field)
		}
	}
	if n := e.scalar("SELECT count(*)::int FROM proposals"); n != 1 {
		t.Fatalf("%d proposals after invalid requests, want 1", n)
	}
	if p := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).json(t); p["title"] != "Spring gala" || p["venue_code"] != "HALL-A" || p["status"] != "draft" {
		t.Fatalf("an invalid patch changed the proposal: %v", p)
	}
	if e.events("proposal.created") != 1 || e.events("proposal.updated") != 1 {
		t.Fatal("invalid requests were audited as changes")
	}

	// A generation is queued; a second one while it is pending conflicts.
	jobID := e.mustGenerate(producer, id)
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/generate", nil), http.StatusConflict)
	if jobs := e.do(producer, http.MethodGet, "/api/proposals/"+id+"/jobs", nil).json(t)["jobs"].([]any); len(jobs) != 1 ||
		jobs[0].(map[string]any)["id"] != jobID || jobs[0].(map[string]any)["status"] != "queued" {
		t.Fatalf("proposal jobs: %v", jobs)
	}

	// Another organization's proposal and job are not found, whatever the
	// caller's role there, and nothing changes.
	gp := e.signIn(globex.email(rampart.RoleProducer))
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/api/proposals/" + id, nil},
		{http.MethodPatch, "/api/proposals/" + id, map[string]any{"title": "Mine now"}},
		{http.MethodPost, "/api/proposals/" + id + "/approve", nil},
		{http.MethodPost, "/api/proposals/" + id + "/generate", nil},
		{http.MethodGet, "/api/proposals/" + id + "/jobs", nil},
		{http.MethodGet, "/api/jobs/" + jobID, nil},
		{http.MethodPost, "/api/jobs/" + jobID + "/cancel", map[string]any{"reason": "not yours"}},
	} {
		r := e.do(gp, rq.method, rq.path, rq.body)
		if r.status != http.StatusNotFound {
			t.Errorf("globex %s %s: %d %s, want 404", rq.method, rq.path, r.status, r.body)
			continue
		}
		problem(t, r, http.StatusNotFound)
	}
	if l := e.do(gp, http.MethodGet, "/api/proposals", nil).json(t)["proposals"].([]any); len(l) != 0 {
		t.Fatalf("globex lists acme's proposals: %v", l)
	}
	if p := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).json(t); p["title"] != "Spring gala" {
		t.Fatalf("another organization changed the proposal: %v", p)
	}
	if j := e.do(producer, http.MethodGet, "/api/jobs/"+jobID, nil).json(t); j["status"] != "queued" {
		t.Fatalf("another organization changed the job: %v", j)
	}
	if n := e.scalar("SELECT count(*)::int FROM ai_jobs"); n != 1 {
		t.Fatalf("%d AI jobs, want 1", n)
	}

	// Roles: viewers and stakeholders cannot create or edit.
	for _, role := range []rampart.Role{rampart.RoleViewer, rampart.RoleStakeholder} {
		c := e.signIn(acme.email(role))
		problem(t, e.do(c, http.MethodPost, "/api/proposals", map[string]any{"title": "Sneaky"}), http.StatusForbidden)
		problem(t, e.do(c, http.MethodPatch, "/api/proposals/"+id, map[string]any{"title": "Sneaky"}), http.StatusForbidden)
		if l := e.do(c, http.MethodGet, "/api/proposals", nil).json(t)["proposals"].([]any); len(l) != 1 {
			t.Fatalf("%s lists %d proposals, want 1", role, len(l))
		}
	}

	// A venue manager (HALL-A) sees and edits only proposals of HALL-A.
	hallB := e.newProposal(producer, map[string]any{"title": "Hall B show", "venue_code": "HALL-B"})
	noVenue := e.newProposal(producer, map[string]any{"title": "Anywhere"})
	vm := e.signIn(acme.email(rampart.RoleVenueManager))
	own := e.newProposal(vm, map[string]any{"title": "Hall A show", "venue_code": "HALL-A"})
	problem(t, e.do(vm, http.MethodPost, "/api/proposals", map[string]any{"title": "Sneaky", "venue_code": "HALL-B"}), http.StatusForbidden)
	problem(t, e.do(vm, http.MethodPost, "/api/proposals", map[string]any{"title": "Sneaky"}), http.StatusForbidden)
	problem(t, e.do(vm, http.MethodPatch, "/api/proposals/"+own, map[string]any{"venue_code": "HALL-B"}), http.StatusForbidden)
	var listed []string
	for _, p := range e.do(vm, http.MethodGet, "/api/proposals", nil).json(t)["proposals"].([]any) {
		listed = append(listed, p.(map[string]any)["id"].(string))
	}
	slices.Sort(listed)
	want := []string{id, own}
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("venue manager lists %v, want %v", listed, want)
	}
	for _, other := range []string{hallB, noVenue} {
		problem(t, e.do(vm, http.MethodGet, "/api/proposals/"+other, nil), http.StatusNotFound)
		problem(t, e.do(vm, http.MethodPatch, "/api/proposals/"+other, map[string]any{"title": "Mine now"}), http.StatusNotFound)
		problem(t, e.do(vm, http.MethodPost, "/api/proposals/"+other+"/generate", nil), http.StatusNotFound)
		problem(t, e.do(vm, http.MethodGet, "/api/proposals/"+other+"/jobs", nil), http.StatusNotFound)
	}
	if n := e.scalar("SELECT count(*)::int FROM proposals WHERE title IN ('Sneaky', 'Mine now') OR venue_code = 'HALL-B' AND title <> 'Hall B show'"); n != 0 {
		t.Fatal("a refused request wrote a proposal")
	}
	if n := e.scalar("SELECT count(*)::int FROM ai_jobs"); n != 1 {
		t.Fatalf("%d AI jobs, want 1", n)
	}
}

// TestGenerateProposalEndToEnd: a producer requests a generation (202 and
// the job's location, in the agent rate-limit tier), the worker runs it
// with the offline model, and the proposal holds sanitised AI output
// pending review until a person (not an API token) approves it, once.
func TestGenerateProposalEndToEnd(t *testing.T) {
	// A slowed model keeps the job running for a while (the conflict below).
	e := setupAI(t, aiOptions{Workers: 2, OfflineDelay: 10 * time.Millisecond})
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	brief := "Product launch for 300 guests in Oslo on 12 May 2026. Stage, LED wall, catering and a DJ."
	id := e.newProposal(producer, map[string]any{"title": "Product launch", "client_name": "Initech", "venue_code": "HALL-A", "brief": brief})

	r, job := e.generate(producer, id)
	if job == nil {
		t.Fatalf("generate: %d %s", r.status, r.body)
	}
	if job["status"] != "queued" || job["proposal_id"] != id || job["agent_type"] != "proposal_writer" {
		t.Fatalf("requested job: %v", job)
	}
	// The route is in the agent rate-limit tier.
	if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(testAgentTierSize) {
		t.Fatalf("RateLimit-Limit %q on the generate route, want the agent tier's %d", got, testAgentTierSize)
	}
	if r.header.Get("RateLimit-Remaining") == "" || r.header.Get("RateLimit-Reset") == "" {
		t.Fatalf("rate-limit headers missing: %v", r.header)
	}
	jobID := job["id"].(string)
	// One generation per proposal at a time.
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/generate", nil), http.StatusConflict)
	// Roles without the right to request AI.
	for _, role := range []rampart.Role{rampart.RoleStakeholder, rampart.RoleViewer} {
		problem(t, e.do(e.signIn(acme.email(role)), http.MethodPost, "/api/proposals/"+id+"/generate", nil), http.StatusForbidden)
	}

	done := e.waitJob(producer, jobID)
	if done["status"] != "succeeded" || done["provider"] != "offline" || done["output_tokens"].(float64) <= 0 {
		t.Fatalf("finished job: %v", done)
	}
	p := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).json(t)
	body, _ := p["body_html"].(string)
	if p["ai_generated"] != true || p["review_status"] != "pending_review" || p["status"] != "ai_pending_review" {
		t.Fatalf("generated proposal: %v", p)
	}
	if !strings.HasPrefix(strings.TrimSpace(body), "<") || strings.Contains(strings.ToLower(body), "<script") {
		t.Fatalf("body_html is not sanitised HTML: %q", body)
	}
	if n := e.events("ai.generation.requested"); n != 1 {
		t.Fatalf("%d generation requests audited, want 1", n)
	}
	if n := e.events("ai.generation.completed"); n != 1 {
		t.Fatalf("%d completions audited, want 1", n)
	}

	// Approval is a human act: an API token, even a producer's, is refused.
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	tr := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": "ci", "role": "producer", "venue_codes": []string{}, "expires_in_days": 1})
	if tr.status != http.StatusCreated {
		t.Fatalf("token: %d %s", tr.status, tr.body)
	}
	bearer := tr.json(t)["token"].(string)
	problem(t, e.do(e.client(), http.MethodPost, "/api/proposals/"+id+"/approve", nil, "Authorization", "Bearer "+bearer), http.StatusForbidden)
	if p := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).json(t); p["review_status"] != "pending_review" {
		t.Fatalf("a token approved the proposal: %v", p)
	}
	// Approval names the version read: a stale ETag is a conflict (a draft
	// may have arrived since), a malformed one a 400; nothing changes.
	etag := e.do(producer, http.MethodGet, "/api/proposals/"+id, nil).header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /api/proposals/{id} has no ETag")
	}
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/approve", nil, "If-Match", `"1"`), http.StatusConflict)
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/approve", nil, "If-Match", "yesterday"), http.StatusBadRequest)
	if n := e.events("proposal.approved"); n != 0 {
		t.Fatalf("%d approvals recorded after refused approvals", n)
	}
	ar := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/approve", nil, "If-Match", etag)
	if ar.status != http.StatusOK {
		t.Fatalf("approve: %d %s", ar.status, ar.body)
	}
	if a := ar.json(t); a["review_status"] != "approved" || a["status"] != "approved" || a["approved_by"] != acme.users[rampart.RoleProducer].ID.String() {
		t.Fatalf("approved proposal: %v", a)
	}
	problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/approve", nil), http.StatusConflict)
	if n := e.events("proposal.approved"); n != 1 {
		t.Fatalf("%d approvals audited, want 1", n)
	}
}

// killSwitch reads GET /api/killswitch as c.
func (e *env) killSwitch(c *http.Client) map[string]any {
	e.t.Helper()
	r := e.do(c, http.MethodGet, "/api/killswitch", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("kill switch: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// TestKillSwitchAPI: an admin switches the organization's AI off with a
// reason that the refused requests (423) carry; other organizations are
// not affected; non-admins and reasonless changes are refused.
func TestKillSwitchAPI(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	producer := e.signIn(acme.email(rampart.RoleProducer))
	gadmin := e.signIn(globex.email(rampart.RoleAdmin))
	id := e.newProposal(producer, map[string]any{"title": "Gala"})
	gid := e.newProposal(gadmin, map[string]any{"title": "Globex gala"})

	if v := e.killSwitch(producer); v["effective"] != "on" || v["organization"].(map[string]any)["active"] != false {
		t.Fatalf("initial state: %v", v)
	}
	// Admins only; a reason is required.
	problem(t, e.do(producer, http.MethodPut, "/api/killswitch", map[string]any{"active": true, "reason": "x"}), http.StatusForbidden)
	for _, body := range []any{map[string]any{"active": true}, map[string]any{"active": true, "reason": ""}, `{"active":true,"reason":"   "}`} {
		if d, _ := problem(t, e.do(admin, http.MethodPut, "/api/killswitch", body), http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "reason") {
			t.Errorf("%v: detail %q does not name reason", body, d)
		}
	}
	if n := e.events("killswitch.activated"); n != 0 {
		t.Fatalf("refused changes were applied (%d activations)", n)
	}

	r := e.do(admin, http.MethodPut, "/api/killswitch", map[string]any{"active": true, "reason": "incident 42"})
	if r.status != http.StatusOK {
		t.Fatalf("switch on: %d %s", r.status, r.body)
	}
	if v := r.json(t); v["effective"] != "off" || v["organization"].(map[string]any)["active"] != true || v["organization"].(map[string]any)["reason"] != "incident 42" {
		t.Fatalf("after switching on: %v", v)
	}
	if v := e.killSwitch(producer); v["effective"] != "off" {
		t.Fatalf("producer sees %v", v)
	}
	p := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/generate", nil), http.StatusLocked)
	if d, _ := p["detail"].(string); !strings.Contains(d, "incident 42") {
		t.Fatalf("423 detail %q lacks the reason", d)
	}
	if n := e.scalar("SELECT count(*)::int FROM ai_jobs WHERE organization_id = $1", acme.org.ID); n != 0 {
		t.Fatalf("%d jobs queued while switched off", n)
	}
	if n := e.events("ai.generation.blocked_by_killswitch"); n != 1 {
		t.Fatalf("%d refusals audited, want 1", n)
	}

	// Another organization is not affected and does not see the reason.
	gv := e.killSwitch(gadmin)
	if gv["effective"] != "on" || gv["organization"].(map[string]any)["active"] != false || strings.Contains(string(mustJSON(gv)), "incident 42") {
		t.Fatalf("globex sees %v", gv)
	}
	e.mustGenerate(gadmin, gid)

	r = e.do(admin, http.MethodPut, "/api/killswitch", map[string]any{"active": false, "reason": "resolved"})
	if r.status != http.StatusOK || r.json(t)["effective"] != "on" {
		t.Fatalf("switch off: %d %s", r.status, r.body)
	}
	if v := e.killSwitch(producer); v["effective"] != "on" {
		t.Fatalf("after switching off: %v", v)
	}
	e.mustGenerate(producer, id)
	if e.events("killswitch.activated") != 1 || e.events("killswitch.deactivated") != 1 {
		t.Fatal("kill-switch changes not audited once each")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// budget reads GET /api/ai/budget as c.
func (e *env) budget(c *http.Client) map[string]any {
	e.t.Helper()
	r := e.do(c, http.MethodGet, "/api/ai/budget", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("budget: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// TestBudgetAPI: an admin sets the monthly token budget; a job the budget
// cannot cover ends refused (budget_exhausted), a request when the month's
// use already equals the budget gets 429, and null removes the limit.
func TestBudgetAPI(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 1})
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	producer := e.signIn(acme.email(rampart.RoleProducer))
	id := e.newProposal(producer, map[string]any{"title": "Gala", "brief": "Dinner for 80 guests in Bergen."})

	if b := e.budget(producer); b["monthly_tokens"] != nil || b["remaining_tokens"] != float64(-1) {
		t.Fatalf("initial budget: %v", b)
	}
	problem(t, e.do(producer, http.MethodPut, "/api/ai/budget", map[string]any{"monthly_tokens": 1000}), http.StatusForbidden)
	for _, body := range []any{map[string]any{"monthly_tokens": 0}, map[string]any{"monthly_tokens": -5}, map[string]any{}, `{"monthly_tokens":"lots"}`} {
		if d, _ := problem(t, e.do(admin, http.MethodPut, "/api/ai/budget", body), http.StatusBadRequest)["detail"].(string); !strings.Contains(d, "monthly_tokens") {
			t.Errorf("%v: detail %q does not name monthly_tokens", body, d)
		}
	}
	if n := e.events("ai.budget.updated"); n != 0 {
		t.Fatalf("refused changes were applied (%d updates)", n)
	}

	// A budget of one token cannot cover a job: the worker refuses it.
	r := e.do(admin, http.MethodPut, "/api/ai/budget", map[string]any{"monthly_tokens": 1})
	if r.status != http.StatusOK || r.json(t)["monthly_tokens"] != float64(1) || r.json(t)["remaining_tokens"] != float64(1) {
		t.Fatalf("set budget: %d %s", r.status, r.body)
	}
	job := e.waitJob(producer, e.mustGenerate(producer, id))
	if job["status"] != "refused" || job["error_code"] != "budget_exhausted" {
		t.Fatalf("job under a one-token budget: %v", job)
	}
	if b := e.budget(producer); b["used_tokens"] != float64(0) || b["reserved_tokens"] != float64(0) {
		t.Fatalf("a refused job spent tokens: %v", b)
	}
	// When the month's use already equals the budget, the request itself is refused.
	e.exec(`INSERT INTO ai_usage (organization_id, month, used_tokens) VALUES ($1, (date_trunc('month', now() AT TIME ZONE 'UTC'))::date, 1)
		ON CONFLICT (organization_id, month) DO UPDATE SET used_tokens = 1`, acme.org.ID)
	p := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/generate", nil), http.StatusTooManyRequests)
	if d, _ := p["detail"].(string); !strings.Contains(d, "budget") {
		t.Fatalf("429 detail %q", d)
	}
	if n := e.scalar("SELECT count(*)::int FROM ai_jobs"); n != 1 {
		t.Fatalf("%d jobs, want 1 (the refused request queued one)", n)
	}
	if n := e.events("ai.budget.exhausted"); n != 2 {
		t.Fatalf("%d budget refusals audited, want 2", n)
	}

	// null removes the limit.
	r = e.do(admin, http.MethodPut, "/api/ai/budget", `{"monthly_tokens":null}`)
	if r.status != http.StatusOK || r.json(t)["monthly_tokens"] != nil || r.json(t)["remaining_tokens"] != float64(-1) {
		t.Fatalf("remove budget: %d %s", r.status, r.body)
	}
	if job := e.waitJob(producer, e.mustGenerate(producer, id)); job["status"] != "succeeded" {
		t.Fatalf("job without a budget: %v", job)
	}
	if b := e.budget(producer); b["used_tokens"].(float64) <= 1 || b["reserved_tokens"] != float64(0) {
		t.Fatalf("usage not counted: %v", b)
	}
	if n := e.events("ai.budget.updated"); n != 2 {
		t.Fatalf("%d budget updates audited, want 2", n)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event, data string
}

// job decodes the event's data.
func (ev sseEvent) job(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
		t.Fatalf("event data is not JSON: %q", ev.data)
	}
	return m
}

// sseStream reads a job progress stream in the background, over a real
// streaming HTTP response.
type sseStream struct {
	mu     sync.Mutex
	events []sseEvent
	err    error // why reading stopped
	more   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// openStream opens GET /api/jobs/stream as c, resuming after lastID when
// it is not empty. The stream is closed at cleanup (or by close).
func (e *env) openStream(c *http.Client, lastID string) *sseStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/jobs/stream", nil)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	// The same cookies, no client timeout: a stream is one long response.
	res, err := (&http.Client{Transport: c.Transport, Jar: c.Jar}).Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		e.t.Fatalf("stream: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	s := &sseStream{more: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go s.read(res.Body)
	e.t.Cleanup(s.close)
	return s
}

// read parses the stream: "field: value" lines, a blank line ends an
// event, lines starting with ':' are comments.
func (s *sseStream) read(body io.ReadCloser) {
	defer close(s.done)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				s.mu.Lock()
				s.events = append(s.events, ev)
				s.mu.Unlock()
				s.signal()
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				if ev.data != "" {
					ev.data += "\n"
				}
				ev.data += value
			}
		}
	}
	s.mu.Lock()
	s.err = sc.Err()
	if s.err == nil {
		s.err = io.EOF
	}
	s.mu.Unlock()
	s.signal()
}

func (s *sseStream) signal() {
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *sseStream) close() {
	s.cancel()
	<-s.done
}

// received returns the events so far.
func (s *sseStream) received() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// waitJobStatus waits until the stream has sent job id with status.
func (s *sseStream) waitJobStatus(t *testing.T, id, status string) {
	t.Helper()
	deadline := time.NewTimer(hangDeadline)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		evs, err := slices.Clone(s.events), s.err
		s.mu.Unlock()
		for _, ev := range evs {
			if j := ev.job(t); j["id"] == id && j["status"] == status {
				return
			}
		}
		if err != nil {
			t.Fatalf("stream ended (%v) before job %s was %s; got %v", err, id, status, evs)
		}
		select {
		case <-s.more:
		case <-deadline.C:
			t.Fatalf("job %s not %s on the stream after %s; got %v", id, status, hangDeadline, evs)
		}
	}
}

// checkOwnEvents asserts that every event of s is a job event with an id,
// that none mentions a foreign id or leaks content, and that job's
// statuses arrived in order, from queued (when wantQueued) through running
// to succeeded. It returns the event ids.
func checkOwnEvents(t *testing.T, who string, evs []sseEvent, job string, wantQueued bool, foreign []string, secrets []string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	rank := map[string]int{"queued": 0, "running": 1, "succeeded": 2}
	var statuses []string
	for _, ev := range evs {
		if ev.event != "job" || ev.id == "" {
			t.Errorf("%s: event without type or id: %+v", who, ev)
		}
		if ids[ev.id] {
			t.Errorf("%s: event id %s sent twice", who, ev.id)
		}
		ids[ev.id] = true
		for _, f := range foreign {
			if strings.Contains(ev.data, f) || strings.Contains(ev.id, f) {
				t.Errorf("%s: received another organization's id %s: %+v", who, f, ev)
			}
		}
		for _, s := range secrets {
			if strings.Contains(ev.data, s) {
				t.Errorf("%s: event data contains %q: %s", who, s, ev.data)
			}
		}
		if j := ev.job(t); j["id"] == job {
			statuses = append(statuses, j["status"].(string))
		}
	}
	for i, st := range statuses {
		if _, ok := rank[st]; !ok || i > 0 && rank[st] < rank[statuses[i-1]] {
			t.Errorf("%s: job %s statuses out of order: %v", who, job, statuses)
			break
		}
	}
	first := "running"
	if wantQueued {
		first = "queued"
	}
	if len(statuses) == 0 || !slices.Contains(statuses, first) || !slices.Contains(statuses, "running") || statuses[len(statuses)-1] != "succeeded" {
		t.Errorf("%s: job %s statuses %v, want %s → running → succeeded", who, job, statuses, first)
	}
	return ids
}

// TestJobStreamIsOrgScoped opens the progress stream as a member of each
// organization, runs a generation in both, and checks that each stream
// carries its own organization's job through queued → running → succeeded
// and never the other's job, nor any content. Then it resumes a stream
// with Last-Event-ID.
func TestJobStreamIsOrgScoped(t *testing.T) {
	// Held: jobs stay queued until both streams have seen them queued.
	// The slowed model keeps each job running for several stream polls.
	e := setupAI(t, aiOptions{Workers: 2, OfflineDelay: 5 * time.Millisecond, Held: true})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	a := e.signIn(acme.email(rampart.RoleProducer))
	b := e.signIn(globex.email(rampart.RoleProducer))
	const briefA, briefB = "Acme secret brief: gala for 150 guests in Oslo.", "Globex secret brief: launch for 90 guests in Rome."
	propA := e.newProposal(a, map[string]any{"title": "Acme gala", "venue_code": "HALL-B", "brief": briefA})
	propB := e.newProposal(b, map[string]any{"title": "Globex launch", "brief": briefB})

	problem(t, e.do(e.client(), http.MethodGet, "/api/jobs/stream", nil), http.StatusUnauthorized)
	for _, bad := range []string{"yesterday", "2026-01-01T00:00:00Z_not-a-uuid", "2026-01-01T00:00:00Z", "_" + propA} {
		problem(t, e.do(a, http.MethodGet, "/api/jobs/stream", nil, "Last-Event-ID", bad), http.StatusBadRequest)
	}

	sa, sb := e.openStream(a, ""), e.openStream(b, "")
	// A venue manager of HALL-A: acme's job is about HALL-B.
	svm := e.openStream(e.signIn(acme.email(rampart.RoleVenueManager)), "")
	jobA, jobB := e.mustGenerate(a, propA), e.mustGenerate(b, propB)
	sa.waitJobStatus(t, jobA, "queued")
	sb.waitJobStatus(t, jobB, "queued")
	e.startWorkers()
	sa.waitJobStatus(t, jobA, "succeeded")
	sb.waitJobStatus(t, jobB, "succeeded")

	secrets := []string{"body_html", "brief", briefA, briefB, "secret"}
	seenA := checkOwnEvents(t, "acme", sa.received(), jobA, true, []string{jobB, propB, globex.org.ID.String()}, secrets)
	checkOwnEvents(t, "globex", sb.received(), jobB, true, []string{jobA, propA, acme.org.ID.String()}, secrets)
	if evs := svm.received(); len(evs) != 0 {
		t.Errorf("the HALL-A venue manager received events of a HALL-B job: %v", evs)
	}

	// Resume: reconnect with the last id seen. Nothing already seen is
	// sent again; later events arrive.
	evs := sa.received()
	last := evs[len(evs)-1].id
	sa.close()
	resumed := e.openStream(a, last)
	jobA2 := e.mustGenerate(a, propA)
	resumed.waitJobStatus(t, jobA2, "succeeded")
	for _, ev := range resumed.received() {
		if seenA[ev.id] {
			t.Errorf("resumed stream repeated event %s", ev.id)
		}
		if j := ev.job(t); j["id"] == jobA {
			t.Errorf("resumed stream repeated the finished job: %+v", ev)
		}
	}
	checkOwnEvents(t, "acme resumed", resumed.received(), jobA2, false, []string{jobB, propB, globex.org.ID.String()}, secrets)
	for _, ev := range sb.received() {
		if strings.Contains(ev.data, jobA2) {
			t.Errorf("globex received acme's second job: %+v", ev)
		}
	}
}

// TestReadinessReportsAIPipeline: with the pipeline wired, readiness
// reports the job queue, the model and the kill-switch watcher as ok;
// without it, as not configured.
func TestReadinessReportsAIPipeline(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 1})
	type report struct {
		Status     string `json:"status"`
		Components map[string]struct {
			Status string `json:"status"`
		} `json:"components"`
	}
	read := func(srv *httptest.Server) (int, report) {
		status, body, err := send(srv.Client(), srv.URL, http.MethodGet, "/api/health/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		var rep report
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatalf("readiness is not JSON (%d): %s", status, body)
		}
		return status, rep
	}
	ai := []string{"job_queue", "llm", "killswitch_watcher"}
	// The watcher's listener connects in the background and answers are
	// cached for a second: poll.
	deadline := time.Now().Add(hangDeadline)
	for {
		status, rep := read(e.srv)
		ok := status == http.StatusOK && rep.Status == "ok"
		for _, name := range ai {
			ok = ok && rep.Components[name].Status == "ok"
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness %d %+v", status, rep)
		}
		time.Sleep(100 * time.Millisecond)
	}
	plain, _ := e.serverWith(func(*Options) {})
	if _, rep := read(plain); rep.Components["job_queue"].Status != "not_configured" ||
		rep.Components["llm"].Status != "not_configured" || rep.Components["killswitch_watcher"].Status != "not_configured" {
		t.Fatalf("readiness without the pipeline: %+v", rep)
	}
}

// Issue 12 (found by the worker drill): a generation requested with an API
// token runs to completion under the token's live claims, and its events
// trace to the person behind the token; a revoked token's queued job
// stops as its requester's would.
func TestGenerateWithAPIToken(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 1})
	acme := e.orgs["acme"]
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	tok := e.mintToken(admin, "", "ci generator", "producer", 1)
	bearer := []string{"Authorization", "Bearer " + tok}
	r := e.do(e.client(), http.MethodPost, "/api/proposals", map[string]any{"title": "Launch", "venue_code": "HALL-A", "brief": "Launch for 200 guests"}, bearer...)
	if r.status != http.StatusCreated {
		t.Fatalf("create with a token: %d %s", r.status, r.body)
	}
	id, _ := r.json(t)["id"].(string)
	r = e.do(e.client(), http.MethodPost, "/api/proposals/"+id+"/generate", nil, bearer...)
	if r.status != http.StatusAccepted {
		t.Fatalf("generate with a token: %d %s", r.status, r.body)
	}
	jobID, _ := r.json(t)["id"].(string)
	done := e.waitJob(admin, jobID)
	if done["status"] != "succeeded" {
		t.Fatalf("a token's job: %v", done)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE action = 'ai.generation.completed' AND target_id = $1
AND actor_scope->>'person_id' = $2`, jobID, acme.users[rampart.RoleAdmin].ID.String()); n != 1 {
		t.Errorf("%d completion events tracing to the token's person, want 1", n)
	}
}
