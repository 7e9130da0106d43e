package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// TestDrillIsolationUnderLoad (issue #12): while clients of organization
// A read their proposals, venues and jobs through the API, a client of
// organization B (an admin, with an API token) sends every route that
// takes an id — reads and writes — with A's ids picked at random, for 3 s
// (RAMPART_DRILL_ISOLATION_SECONDS, 60 in make drills). Every one of B's
// answers is 404 (never 2xx, never 403), no answer body holds a byte of
// A's data (its ids, titles, names, codes, addresses), A's reads keep
// succeeding, and nothing of A's changed.
func TestDrillIsolationUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an OS process")
	}
	t.Parallel()
	seconds := 3
	if v, err := time.ParseDuration(os.Getenv("RAMPART_DRILL_ISOLATION_SECONDS") + "s"); err == nil && v > 0 {
		seconds = int(v / time.Second)
	}
	db := pgtest.New(t)
	env := externalEnv(db, db.AppURL)
	env["RAMPART_LOG_FORMAT"] = "text"
	env["RAMPART_RATE_LIMITS"] = "api=100000/1m,org-api=100000/1m,agent=100000/1m,org-agent=100000/1m"
	env["RAMPART_AI_WORKERS"] = "0" // A's jobs stay queued: nothing of A's changes but by B
	serve := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	url := serve.ready(t)
	st := openTestStore(t, db)
	ctx := context.Background()

	// Organization A: venues, proposals, AI jobs, a second member, an
	// invite, a second token; every name carries a marker.
	adminA, tokenA := drillOrgAdmin(t, st, "Alpha Secret Events", "alpha-secret", "admin@alpha-secret.example")
	_, tokenB := drillOrgAdmin(t, st, "Bravo Co", "bravo-co", "admin@bravo.example")
	client := &http.Client{Timeout: 10 * time.Second}
	a := drillAPI{base: url, token: tokenA, client: client}
	b := drillAPI{base: url, token: tokenB, client: client}
	secrets := []string{adminA.OrganizationID.String(), adminA.UserID.String(), "alpha-secret", "Alpha Secret", "ALPHASECRET"}
	ids := map[string][]string{}
	for i := range 5 {
		var v struct{ ID string }
		code := fmt.Sprintf("ALPHASECRET%d", i)
		a.json(t, http.MethodPost, "/api/venues", fmt.Sprintf(`{"code":%q,"name":"Alpha Secret Hall %d","city":"Alphaville"}`, code, i), http.StatusCreated, &v)
		ids["venue"] = append(ids["venue"], v.ID)
		secrets = append(secrets, v.ID, code, fmt.Sprintf("Alpha Secret Hall %d", i))

		var p struct{ ID string }
		title := fmt.Sprintf("Alpha Secret Gala %d", i)
		a.json(t, http.MethodPost, "/api/proposals", fmt.Sprintf(`{"title":%q,"client_name":"Alpha Secret Client","venue_code":%q,"brief":"Alpha secret brief %d: 300 guests, a stage and dinner."}`, title, code, i),
			http.StatusCreated, &p)
		ids["proposal"] = append(ids["proposal"], p.ID)
		secrets = append(secrets, p.ID, title, "Alpha Secret Client", "Alpha secret brief")
	}
	requester := drillRequester(t, st)
	for _, p := range ids["proposal"][:3] {
		j, err := requester.Request(ctx, adminA, uuid.MustParse(p), "proposal_writer")
		if err != nil {
			t.Fatal(err)
		}
		ids["job"] = append(ids["job"], j.ID.String())
		secrets = append(secrets, j.ID.String())
	}
	err := st.AsService(ctx, "drill fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		u, err := tx.Provision().UpsertUser(ctx, "producer@alpha-secret.example", "")
		if err != nil {
			return err
		}
		ids["member"] = append(ids["member"], u.ID.String(), adminA.UserID.String())
		secrets = append(secrets, u.ID.String(), "producer@alpha-secret.example")
		return tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: adminA.OrganizationID, UserID: u.ID, Role: rampart.RoleProducer})
	})
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		Invite struct{ ID string } `json:"invite"`
	}
	a.json(t, http.MethodPost, "/api/invites", `{"email":"guest@alpha-secret.example","role":"viewer"}`, http.StatusCreated, &inv)
	ids["invite"] = append(ids["invite"], inv.Invite.ID)
	secrets = append(secrets, inv.Invite.ID, "guest@alpha-secret.example")
	var tok struct {
		Token struct{ ID string } `json:"api_token"`
	}
	a.json(t, http.MethodPost, "/api/tokens", `{"name":"Alpha secret integration","expires_in_days":30,"role":"viewer"}`, http.StatusCreated, &tok)
	ids["token"] = append(ids["token"], tok.Token.ID)
	secrets = append(secrets, tok.Token.ID, "Alpha secret integration")
	for kind, list := range ids {
		for _, id := range list {
			if _, err := uuid.Parse(id); err != nil {
				t.Fatalf("fixture %s id %q", kind, id)
			}
		}
	}
	before := isolationFingerprint(t, db.AdminURL, adminA.OrganizationID)

	// B's probes: every route that takes an id, reads and writes.
	type probe struct{ method, path, kind, body string }
	probes := []probe{
		{"GET", "/api/venues/%s", "venue", ""},
		{"PATCH", "/api/venues/%s", "venue", `{"name":"Taken over"}`},
		{"DELETE", "/api/venues/%s", "venue", ""},
		{"GET", "/api/proposals/%s", "proposal", ""},
		{"PATCH", "/api/proposals/%s", "proposal", `{"title":"Taken over"}`},
		{"POST", "/api/proposals/%s/approve", "proposal", ""},
		{"GET", "/api/proposals/%s/jobs", "proposal", ""},
		{"POST", "/api/proposals/%s/generate", "proposal", ""},
		{"GET", "/api/jobs/%s", "job", ""},
		{"POST", "/api/jobs/%s/cancel", "job", `{"reason":"taken over"}`},
		{"PATCH", "/api/members/%s", "member", `{"role":"viewer"}`},
		{"DELETE", "/api/members/%s", "member", ""},
		{"DELETE", "/api/members/%s/sessions", "member", ""},
		{"POST", "/api/invites/%s/resend", "invite", ""},
		{"DELETE", "/api/invites/%s", "invite", ""},
		{"DELETE", "/api/tokens/%s", "token", ""},
	}
	// A's reads, alongside.
	reads := []string{"/api/proposals", "/api/venues", "/api/proposals/" + ids["proposal"][0], "/api/jobs/" + ids["job"][0], "/api/members"}

	var (
		stop            = make(chan struct{})
		wg              sync.WaitGroup
		aReads, aFailed atomic.Int64
		bProbes         atomic.Int64
		mu              sync.Mutex
		statuses        = map[string]map[int]int{} // route → status → count
		violations      []string
		bBytes          atomic.Int64
		firstAFailure   atomic.Value
		secretBytes     = make([][]byte, len(secrets))
		routeOf         = func(p probe) string { return p.method + " " + strings.Replace(p.path, "%s", "{id}", 1) }
		send            = func(api drillAPI, method, path, body string) (int, []byte, error) {
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req, _ := http.NewRequest(method, api.base+path, rd)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer "+api.token)
			res, err := api.client.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer res.Body.Close()
			out, err := io.ReadAll(res.Body)
			return res.StatusCode, out, err
		}
	)
	for i, s := range secrets {
		secretBytes[i] = []byte(strings.ToLower(s))
	}
	// No existence oracle: for each route, B's answer for an id of A's is
	// the answer for an id nobody has (the id itself aside).
	for _, p := range probes {
		var answers []string
		for _, id := range []string{ids[p.kind][0], uuid.NewString()} {
			path := fmt.Sprintf(p.path, id)
			code, body, err := send(b, p.method, path, p.body)
			if err != nil {
				t.Fatal(err)
			}
			answers = append(answers, fmt.Sprintf("%d %s", code, strings.ReplaceAll(string(body), id, "{id}")))
		}
		if answers[0] != answers[1] {
			t.Errorf("%s: B's answer for A's id differs from the answer for an unknown id:\n%s\n%s", routeOf(p), answers[0], answers[1])
		}
	}
	for range 3 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := send(a, http.MethodGet, reads[n%len(reads)], "")
				aReads.Add(1)
				if err != nil || code != http.StatusOK {
					aFailed.Add(1)
					firstAFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %d %v %s", reads[n%len(reads)], code, err, body))
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := probes[rand.IntN(len(probes))]
				list := ids[p.kind]
				path := fmt.Sprintf(p.path, list[rand.IntN(len(list))])
				code, body, err := send(b, p.method, path, p.body)
				bProbes.Add(1)
				bBytes.Add(int64(len(body)))
				// The problem's "instance" echoes the path B sent: not A's data.
				lower := bytes.ReplaceAll(bytes.ToLower(body), []byte(strings.ToLower(path)), nil)
				mu.Lock()
				if statuses[routeOf(p)] == nil {
					statuses[routeOf(p)] = map[int]int{}
				}
				statuses[routeOf(p)][code]++
				switch {
				case err != nil:
					violations = append(violations, fmt.Sprintf("%s %s: %v", p.method, path, err))
				case code != http.StatusNotFound:
					violations = append(violations, fmt.Sprintf("%s %s: %d %s", p.method, path, code, body))
				}
				for _, s := range secretBytes {
					if bytes.Contains(lower, s) {
						violations = append(violations, fmt.Sprintf("%s %s: the answer holds A's %q: %s", p.method, path, s, body))
					}
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	close(stop)
	wg.Wait()

	routes := make([]string, 0, len(statuses))
	for r := range statuses {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	var dist []string
	for _, r := range routes {
		dist = append(dist, fmt.Sprintf("%s %v", r, statuses[r]))
	}
	t.Logf("%d s: B sent %d requests for A's ids (%d routes; %d bytes of answers); A read %d times (%d failed)\n%s",
		seconds, bProbes.Load(), len(statuses), bBytes.Load(), aReads.Load(), aFailed.Load(), strings.Join(dist, "\n"))
	if len(violations) > 0 {
		if len(violations) > 20 {
			violations = append(violations[:20], fmt.Sprintf("… and %d more", len(violations)-20))
		}
		t.Errorf("%d of B's answers were not a bare 404:\n%s", len(violations), strings.Join(violations, "\n"))
	}
	if len(statuses) != len(probes) {
		t.Errorf("B reached %d of the %d routes: the drill was too short", len(statuses), len(probes))
	}
	if aFailed.Load() > 0 || aReads.Load() == 0 {
		t.Errorf("A's reads: %d of %d failed; the first: %v", aFailed.Load(), aReads.Load(), firstAFailure.Load())
	}
	if after := isolationFingerprint(t, db.AdminURL, adminA.OrganizationID); after != before {
		t.Errorf("A's data changed during the drill:\nbefore %s\nafter  %s", before, after)
	}
}

// isolationFingerprint summarises what B could have changed of org's
// data: its venues, proposals, members, invites, tokens and the job
// rows' statuses (not their progress, which A's workers make).
func isolationFingerprint(t *testing.T, adminURL string, org uuid.UUID) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	err = conn.QueryRow(ctx, `SELECT concat_ws(' | ',
  (SELECT string_agg(code || ':' || name || ':' || updated_at::text, ',' ORDER BY code) FROM venues WHERE organization_id = $1),
  (SELECT string_agg(title || ':' || updated_at::text, ',' ORDER BY title) FROM proposals WHERE organization_id = $1),
  (SELECT string_agg(user_id::text || ':' || role, ',' ORDER BY user_id) FROM memberships WHERE organization_id = $1),
  (SELECT string_agg(id::text || ':' || (revoked_at IS NULL)::text, ',' ORDER BY id) FROM invites WHERE organization_id = $1),
  (SELECT string_agg(id::text || ':' || (revoked_at IS NULL)::text, ',' ORDER BY id) FROM api_tokens WHERE organization_id = $1),
  (SELECT string_agg(id::text || ':' || coalesce(cancelled_by::text, '-'), ',' ORDER BY id) FROM ai_jobs WHERE organization_id = $1))`, org).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
