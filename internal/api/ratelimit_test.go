package api

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
)

// TestRateLimits: 50 concurrent sign-in attempts from one client in one
// window get exactly 5 through (auth tier, 5/min); the rest get 429
// problem+json with Retry-After and RateLimit headers, and send no mail.
// Failed authentications count against the client under the same tier,
// in a budget of their own.
func TestRateLimits(t *testing.T) {
	e := setup(t)
	now := time.Unix(1_900_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, _ := e.serverWith(func(o *Options) {
		o.Limiter = ratelimit.NewLocal(clock) // a fixed clock: one window, whatever the machine's speed
		o.Tiers = ratelimit.DefaultTiers()
	})
	member := e.orgs["acme"].email(rampart.RoleViewer)
	statuses := make([]int, 50)
	headers := make([]http.Header, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i], headers[i] = postJSON(t, srv.Client(), srv.URL+"/api/auth/login-link", `{"email":"`+member+`"}`)
		}(i)
	}
	wg.Wait()
	accepted := 0
	for i, s := range statuses {
		switch s {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			if ra, err := strconv.Atoi(headers[i].Get("Retry-After")); err != nil || ra < 1 || headers[i].Get("Content-Type") != "application/problem+json" {
				t.Errorf("429 without Retry-After or problem+json: %v", headers[i])
			}
		default:
			t.Errorf("unexpected status %d", s)
		}
		if headers[i].Get("RateLimit-Limit") != "5" {
			t.Errorf("RateLimit-Limit = %q", headers[i].Get("RateLimit-Limit"))
		}
	}
	if accepted != 5 {
		t.Fatalf("%d of 50 sign-in attempts accepted in one window, want exactly 5", accepted)
	}
	e.mail.waitCount(t, member, 5)
	// At most 5 in any minute: 12 s later (when GCRA used to admit a
	// sixth) still refused, a minute after the burst one more passes.
	mu.Lock()
	now = now.Add(12 * time.Second)
	mu.Unlock()
	if s, h := postJSON(t, srv.Client(), srv.URL+"/api/auth/login-link", `{"email":"`+member+`"}`); s != http.StatusTooManyRequests || h.Get("Retry-After") != "48" {
		t.Fatalf("12 s after the burst: %d, Retry-After %q; want 429 and 48", s, h.Get("Retry-After"))
	}
	mu.Lock()
	now = now.Add(48 * time.Second)
	mu.Unlock()
	if s, _ := postJSON(t, srv.Client(), srv.URL+"/api/auth/login-link", `{"email":"`+member+`"}`); s != http.StatusAccepted {
		t.Fatalf("a minute after the burst: %d", s)
	}
	// The sign-in budget is not the budget of anything else: a valid
	// token from the same client is served.
	admin := e.signIn(e.orgs["acme"].email(rampart.RoleAdmin))
	tok := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": "t", "role": "viewer", "venue_codes": []string{}, "expires_in_days": 1}).json(t)["token"].(string)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := srv.Client().Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("valid token from a client without sign-in budget: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	// Failed authentications draw on a budget of their own (auth, 5/min):
	// flooding with bad cookies is refused after five.
	badStatuses := map[int]int{}
	for range 8 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
		req.Header.Set("Cookie", "__Host-rampart_session=v1.k1.garbage.garbage")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		badStatuses[res.StatusCode]++
	}
	if badStatuses[http.StatusUnauthorized] != 5 || badStatuses[http.StatusTooManyRequests] != 3 {
		t.Fatalf("8 bad cookies: %v, want 5×401 then 3×429", badStatuses)
	}
}

func postJSON(t *testing.T, c *http.Client, url, body string) (int, http.Header) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	res.Body.Close()
	return res.StatusCode, res.Header
}
