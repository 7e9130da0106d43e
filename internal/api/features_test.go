package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/edge"
	"github.com/rampart-dev/rampart/internal/feature"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// setFeatures changes an organization's feature flags as a platform
// operator does (the use case `rampart org features --set` calls, on the
// service path).
func (e *env) setFeatures(slug, set, reason string) {
	e.t.Helper()
	changes, err := rampart.ParseFeatureChanges(set)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.store.AsService(context.Background(), "api test: set feature flags", func(ctx context.Context, tx *store.ServiceTx) error {
		_, err := feature.Set(ctx, tx, "cli:test", e.orgs[slug].org.ID, changes, reason)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// gatedCall is one request to a gated route (an agent or chat route of the
// API or the console), with a body that would do work if the flag were on.
type gatedCall struct {
	route   edge.Route
	path    string
	console bool
	json    any
	form    url.Values
}

// gatedCalls lists every registered agent and chat route, API and console,
// for proposal id: discovered from the router, so a route added later is
// covered without editing this test.
func (e *env) gatedCalls(id string) []gatedCall {
	e.t.Helper()
	match := map[string]any{"skills": []string{"rigging"}, "dates": map[string]any{"from": "2027-03-14", "to": "2027-03-16"}}
	jsonBodies := map[string]any{
		"POST /api/proposals/{id}/vendors/rank": map[string]any{"category": "audio"},
		"POST /api/proposals/{id}/crew/match":   match,
		"POST /api/proposals/{id}/chat":         map[string]any{"question": "How many guests are expected?"},
	}
	forms := map[string]url.Values{
		"POST /proposals/{id}/vendors/rank": {"category": {"audio"}},
		"POST /proposals/{id}/crew/match":   {"skills": {"rigging"}},
		"POST /proposals/{id}/chat":         {"question": {"How many guests are expected?"}},
	}
	var out []gatedCall
	for _, rt := range e.api.edge.Routes() {
		if _, gated := rt.Kind.Feature(); !gated {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != http.MethodPost {
			e.t.Errorf("gated route %s: this test only knows POST routes", rt.Pattern)
			continue
		}
		c := gatedCall{route: rt, path: strings.ReplaceAll(path, "{id}", id), console: !strings.HasPrefix(path, "/api/")}
		if c.console {
			c.form = forms[rt.Pattern]
			if c.form == nil {
				c.form = url.Values{}
			}
		} else {
			c.json = jsonBodies[rt.Pattern]
		}
		out = append(out, c)
	}
	return out
}

func (e *env) callGated(c *http.Client, g gatedCall) resp {
	e.t.Helper()
	if g.console {
		return e.form(c, g.path, g.form)
	}
	return e.do(c, http.MethodPost, g.path, g.json)
}

// aiSideEffects is what an AI request of org could have written: jobs,
// chat turns, agent proposals, token reservations, and audit events
// (everyone's: a refusal must not write one anywhere).
func (e *env) aiSideEffects(orgID any) [5]int {
	return [5]int{
		e.scalar(`SELECT count(*)::int FROM ai_jobs WHERE organization_id = $1`, orgID),
		e.scalar(`SELECT count(*)::int FROM proposal_chat_messages WHERE organization_id = $1`, orgID),
		e.scalar(`SELECT count(*)::int FROM agent_proposals WHERE organization_id = $1`, orgID),
		e.scalar(`SELECT coalesce(sum(reserved_tokens + used_tokens), 0)::int FROM ai_usage WHERE organization_id = $1`, orgID),
		e.scalar(`SELECT count(*)::int FROM audit_events`),
	}
}

// TestFeatureFlagsRefuseEveryAIDoor: with the ai flag off, every agent and
// chat route — the API's and the console's — refuses with 403
// feature_disabled naming the flag and the operator's reason, before any
// side effect (no job, chat turn, agent proposal, reservation or audit
// event); GET /api/me shows the flags; the other organization is not
// affected; with only chat off the chat is refused and generation works;
// back on, everything works again.
func TestFeatureFlagsRefuseEveryAIDoor(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	admin := e.signIn(acme.email(rampart.RoleAdmin))
	gproducer := e.signIn(globex.email(rampart.RoleProducer))
	tok := e.mintToken(admin, "", "ci generator", "producer", 1)
	id := e.newProposal(producer, map[string]any{"title": "Gala", "venue_code": "HALL-A",
		"brief": "An awards gala for 400 guests at the Grand Hall in Oslo on 12 May 2026."})
	gid := e.newProposal(gproducer, map[string]any{"title": "Globex gala", "venue_code": "HALL-A"})
	for _, v := range []map[string]any{{"name": "Near Sound", "category": "audio", "price_band": 2, "lead_time_days": 3}} {
		if r := e.do(producer, http.MethodPost, "/api/vendors", v); r.status != http.StatusCreated {
			t.Fatalf("vendor: %d %s", r.status, r.body)
		}
	}

	// Defaults: every feature on, and /api/me says so.
	me := e.do(producer, http.MethodGet, "/api/me", nil).json(t)
	if f, _ := me["features"].(map[string]any); f["ai"] != true || f["chat"] != true || f["reason"] != nil {
		t.Fatalf("default features in /api/me: %v", me["features"])
	}

	e.setFeatures("acme", "ai=off", "contract paused")
	for _, c := range []*http.Client{producer, admin} {
		me := e.do(c, http.MethodGet, "/api/me", nil).json(t)
		if f, _ := me["features"].(map[string]any); f["ai"] != false || f["chat"] != true || f["reason"] != "contract paused" || f["updated_at"] == nil {
			t.Fatalf("features in /api/me after ai=off: %v", me["features"])
		}
	}

	calls := e.gatedCalls(id)
	api, console := 0, 0
	for _, g := range calls {
		if g.console {
			console++
		} else {
			api++
		}
	}
	// generate, bom/draft, budget/analyze, vendors/rank, crew/match, chat;
	// the console's rank, match and chat.
	if api < 6 || console < 3 {
		t.Fatalf("found %d API and %d console gated routes, want at least 6 and 3: %v", api, console, calls)
	}
	before := e.aiSideEffects(acme.org.ID)
	for _, who := range []struct {
		name string
		hc   *http.Client
	}{{"producer", producer}, {"admin", admin}} {
		for _, g := range calls {
			r := e.callGated(who.hc, g)
			if r.status != http.StatusForbidden {
				t.Errorf("%s %s with ai off: %d %s", who.name, g.route.Pattern, r.status, r.body)
				continue
			}
			if g.console {
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.body), "platform operator") ||
					!strings.Contains(string(r.body), "contract paused") {
					t.Errorf("%s %s: %s page\n%s", who.name, g.route.Pattern, ct, r.body)
				}
				assertSafePage(t, g.route.Pattern, r)
				continue
			}
			p := problem(t, r, http.StatusForbidden)
			if p["type"] != "https://rampart.dev/problems/feature-disabled" || p["code"] != "feature_disabled" || p["feature"] != "ai" ||
				!strings.Contains(p["detail"].(string), "platform operator") || !strings.Contains(p["detail"].(string), "contract paused") {
				t.Errorf("%s %s: problem %v", who.name, g.route.Pattern, p)
			}
		}
	}
	// An API token's request meets the same gate (its flags are read with
	// the token's resolution).
	r := e.do(e.client(), http.MethodPost, "/api/proposals/"+id+"/generate", nil, "Authorization", "Bearer "+tok)
	if p := problem(t, r, http.StatusForbidden); p["code"] != "feature_disabled" || p["feature"] != "ai" {
		t.Errorf("generate with an API token, ai off: %v", p)
	}
	if after := e.aiSideEffects(acme.org.ID); after != before {
		t.Fatalf("refused AI requests wrote something: jobs, turns, agent proposals, tokens, audit events %v → %v", before, after)
	}

	// The other organization is not affected.
	e.mustGenerate(gproducer, gid)
	if r := e.do(gproducer, http.MethodPost, "/api/proposals/"+gid+"/chat", map[string]any{"question": "How many guests are expected?"}); r.status != http.StatusCreated {
		t.Fatalf("globex chat: %d %s", r.status, r.body)
	}

	// Only chat off: the chat is refused (naming chat), generation works.
	e.setFeatures("acme", "ai=on,chat=off", "chat is not in the pilot")
	p := problem(t, e.do(producer, http.MethodPost, "/api/proposals/"+id+"/chat", map[string]any{"question": "How many guests?"}), http.StatusForbidden)
	if p["feature"] != "chat" || p["code"] != "feature_disabled" || !strings.Contains(p["detail"].(string), "chat is not in the pilot") {
		t.Fatalf("chat with chat off: %v", p)
	}
	if r := e.form(producer, "/proposals/"+id+"/chat", url.Values{"question": {"How many guests?"}}); r.status != http.StatusForbidden {
		t.Fatalf("console chat with chat off: %d", r.status)
	}
	if n := e.scalar(`SELECT count(*)::int FROM proposal_chat_messages WHERE organization_id = $1`, acme.org.ID); n != 0 {
		t.Fatalf("%d chat turns stored with chat off", n)
	}
	e.mustGenerate(producer, id)

	// Back on: the chat answers again.
	e.setFeatures("acme", "chat=on", "pilot extended")
	if r := e.do(producer, http.MethodPost, "/api/proposals/"+id+"/chat", map[string]any{"question": "How many guests are expected?"}); r.status != http.StatusCreated {
		t.Fatalf("chat back on: %d %s", r.status, r.body)
	}
}

// TestFeatureFlagsHaveNoWriteRoute: no API route changes a flag; writes
// aimed at plausible paths by an admin change nothing.
func TestFeatureFlagsHaveNoWriteRoute(t *testing.T) {
	e := setup(t)
	for _, rt := range e.api.edge.Routes() {
		if strings.Contains(strings.ToLower(rt.Pattern), "feature") {
			t.Errorf("route %s: feature flags are set by platform operators on the CLI only", rt.Pattern)
		}
	}
	e.setFeatures("acme", "ai=off", "contract paused")
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	body := map[string]any{"features": map[string]any{"ai": true, "chat": true}, "ai": true}
	for _, rq := range []struct{ method, path string }{
		{http.MethodPut, "/api/me"}, {http.MethodPatch, "/api/me"}, {http.MethodPut, "/api/features"},
		{http.MethodPost, "/api/features"}, {http.MethodPut, "/api/organization/features"},
	} {
		if r := e.do(admin, rq.method, rq.path, body); r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %s", rq.method, rq.path, r.status, r.body)
		}
	}
	me := e.do(admin, http.MethodGet, "/api/me", nil).json(t)
	if f, _ := me["features"].(map[string]any); f["ai"] != false {
		t.Fatalf("after the admin's attempts: %v", me["features"])
	}

	// /openapi.json documents the refusal on every gated route, and the
	// features of GET /api/me with an example.
	doc := e.do(e.client(), http.MethodGet, "/openapi.json", nil)
	var spec struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Description string
				Content     map[string]struct{ Example map[string]any }
			}
		}
	}
	if err := json.Unmarshal(doc.body, &spec); err != nil {
		t.Fatal(err)
	}
	for _, rt := range e.api.edge.Routes() {
		if _, gated := rt.Kind.Feature(); !gated {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		r403 := spec.Paths[path][strings.ToLower(method)].Responses["403"]
		ex := r403.Content["application/problem+json"].Example
		if !strings.Contains(r403.Description, "feature_disabled") || ex["code"] != "feature_disabled" {
			t.Errorf("%s: 403 not documented as feature_disabled: %+v", rt.Pattern, r403)
		}
	}
	meDoc := spec.Paths["/api/me"]["get"].Responses["200"].Content["application/json"].Example
	if f, _ := meDoc["features"].(map[string]any); f == nil || f["chat"] != false {
		t.Errorf("GET /api/me example lacks features: %v", meDoc)
	}
}

// TestFeatureFlagStopsQueuedJob: a job queued while ai was on is
// cancelled by the operator's change itself (feature_disabled, the reason
// says why) and never calls the model once workers start; the other
// organization's job runs. (The worker's own check, for a job queued
// after the change's cancellation, is internal/jobs'
// TestFeatureFlagCancelsQueuedJob.)
func TestFeatureFlagStopsQueuedJob(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 2, Held: true})
	acme, globex := e.orgs["acme"], e.orgs["globex"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	gproducer := e.signIn(globex.email(rampart.RoleProducer))
	id := e.newProposal(producer, map[string]any{"title": "Gala", "brief": "A gala for 400 guests."})
	gid := e.newProposal(gproducer, map[string]any{"title": "Globex gala", "brief": "A launch for 200 guests."})
	job := e.mustGenerate(producer, id)
	gjob := e.mustGenerate(gproducer, gid)

	e.setFeatures("acme", "ai=off", "contract paused")
	e.startWorkers()

	got := e.waitJob(producer, job)
	if got["status"] != rampart.JobCancelled || got["error_code"] != "feature_disabled" ||
		!strings.Contains(got["cancel_reason"].(string), "platform operator turned off the ai feature") {
		t.Fatalf("acme's queued job: %v", got)
	}
	if got["started_at"] != nil || got["input_tokens"].(float64) != 0 || got["output_tokens"].(float64) != 0 {
		t.Fatalf("acme's job ran: %v", got)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE organization_id = $1 AND action = 'ai.generation.blocked_by_feature'
AND metadata->>'feature' = 'ai'`, acme.org.ID); n != 1 {
		t.Fatalf("%d feature stops audited, want 1", n)
	}
	if n := e.scalar(`SELECT count(*)::int FROM audit_events WHERE organization_id = $1 AND action = 'ai.generation.started'`, acme.org.ID); n != 0 {
		t.Fatalf("acme's job started %d times", n)
	}
	if n := e.scalar(`SELECT coalesce(sum(reserved_tokens + used_tokens), 0)::int FROM ai_usage WHERE organization_id = $1`, acme.org.ID); n != 0 {
		t.Fatalf("acme holds %d tokens", n)
	}
	if body := e.scalarString(`SELECT coalesce(body_html, '') FROM proposals WHERE id = $1`, id); body != "" {
		t.Fatalf("acme's proposal got a body: %q", body)
	}
	if g := e.waitJob(gproducer, gjob); g["status"] != rampart.JobSucceeded {
		t.Fatalf("globex's job: %v", g)
	}
}

// TestFeatureFlagStopsRunningJob: a job already calling the model when the
// operator turns ai off is stopped in the worker (the change cancels it,
// and the job-level notice cancels the call), nothing of its answer is
// stored, and its reservation is settled.
func TestFeatureFlagStopsRunningJob(t *testing.T) {
	// A slowed model: the job runs for seconds, long enough to be caught.
	e := setupAI(t, aiOptions{Workers: 1, OfflineDelay: 50 * time.Millisecond})
	acme := e.orgs["acme"]
	producer := e.signIn(acme.email(rampart.RoleProducer))
	id := e.newProposal(producer, map[string]any{"title": "Gala", "brief": "A gala for 400 guests in Oslo with a stage, an LED wall and a band."})
	job := e.mustGenerate(producer, id)
	deadline := time.Now().Add(hangDeadline)
	for e.do(producer, http.MethodGet, "/api/jobs/"+job, nil).json(t)["status"] != rampart.JobRunning {
		if time.Now().After(deadline) {
			t.Fatal("the job never started")
		}
		time.Sleep(10 * time.Millisecond)
	}

	e.setFeatures("acme", "ai=off", "contract paused")
	got := e.waitJob(producer, job)
	if got["status"] != rampart.JobCancelled || got["error_code"] != "feature_disabled" {
		t.Fatalf("the running job: %v", got)
	}
	if body := e.scalarString(`SELECT body_html FROM proposals WHERE id = $1`, id); body != "" {
		t.Fatalf("the stopped job's answer was stored: %q", body)
	}
	for time.Now().Before(deadline) && e.scalar(`SELECT coalesce(sum(reserved_tokens), 0)::int FROM ai_usage WHERE organization_id = $1`, acme.org.ID) != 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.scalar(`SELECT coalesce(sum(reserved_tokens), 0)::int FROM ai_usage WHERE organization_id = $1`, acme.org.ID); n != 0 {
		t.Fatalf("%d tokens still reserved", n)
	}
	if n := e.events("ai.generation.completed"); n != 0 {
		t.Fatalf("%d completions", n)
	}
}
