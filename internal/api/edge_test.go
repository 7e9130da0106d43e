package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/redistest"
)

// TestRateLimitSharedThroughRedis: two server instances sharing one Redis
// share one budget — 50 concurrent sign-in attempts from one client, split
// across both instances, get exactly 5 through.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	e := setup(t)
	url := redistest.Start(t)
	var servers []string
	var clients []*http.Client
	for range 2 {
		rl, err := ratelimit.NewRedis(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rl.Close() })
		srv, _ := e.serverWith(func(o *Options) { o.Limiter = rl; o.Tiers = ratelimit.DefaultTiers() })
		servers = append(servers, srv.URL)
		clients = append(clients, srv.Client())
	}
	member := e.orgs["acme"].email(rampart.RoleViewer)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := range 50 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, _ := postJSON(t, clients[i%2], servers[i%2]+"/api/auth/login-link", `{"email":"`+member+`"}`)
			mu.Lock()
			counts[s]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if counts[http.StatusAccepted] != 5 || counts[http.StatusTooManyRequests] != 45 {
		t.Fatalf("statuses %v, want 5 accepted and 45 refused across both instances", counts)
	}
}

// TestMetricsEndpoint: /metrics counts requests by route pattern and
// status and rate-limit refusals, and requires its bearer token.
func TestMetricsEndpoint(t *testing.T) {
	e := setup(t)
	m := observe.NewMetrics()
	const token = "metrics-token-for-tests"
	srv, _ := e.serverWith(func(o *Options) { o.Metrics = m; o.MetricsToken = token })
	for range 3 {
		res, err := srv.Client().Get(srv.URL + "/api/health")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	body := b.String()
	if res.StatusCode != 200 || !strings.Contains(body, `http_requests_total{method="GET",route="GET /api/health",status="200"} 3`) ||
		!strings.Contains(body, "http_request_duration_seconds_bucket") {
		t.Fatalf("/metrics: %d\n%s", res.StatusCode, body)
	}
}
