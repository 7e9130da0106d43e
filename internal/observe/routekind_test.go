package observe

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/getsentry/sentry-go"
)

// Issue 11: agent and AI routes were sampled by a path prefix, so
// POST /api/proposals/{id}/generate (an agent route) kept 20% of its
// errors. The route's kind, recorded when it was mounted, decides; failed
// AI jobs are kept too.
func TestErrorSamplingFollowsTheRouteKind(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind, route string
		want        float64
	}{
		{RouteKindAgent, "POST /api/proposals/{id}/generate", 1},
		{RouteKindJob, "job proposal_generation", 1},
		{RouteKindAuthenticated, "POST /api/proposals/{id}/generate", 0.2},
		{RouteKindAuthenticated, "GET /api/venues", 0.2},
		{RouteKindPublic, "POST /api/auth/login-link", 1}, // sign-in stays at 100% by route
		{"", "GET /api/venues", 0.2},
	} {
		e := &sentry.Event{Tags: map[string]string{"route": c.route}}
		if c.kind != "" {
			e.Tags["route_kind"] = c.kind
		}
		if got := eventSampleRate(e); got != c.want {
			t.Errorf("kind %q route %q: rate %v, want %v", c.kind, c.route, got, c.want)
		}
	}
}

// The kind set deep in the chain is seen by a capture made with the
// outer request's context (a panic recovered at the top).
func TestRouteKindReachesTheOuterRequest(t *testing.T) {
	t.Parallel()
	outer := Track(httptest.NewRequest("POST", "/api/proposals/x/generate", nil))
	inner := outer.WithContext(context.WithValue(outer.Context(), struct{ k int }{1}, "derived"))
	SetRouteKind(inner.Context(), RouteKindAgent)
	if got := routeKindFrom(outer.Context()); got != RouteKindAgent {
		t.Fatalf("outer request's kind = %q, want agent", got)
	}
	if got := routeKindFrom(context.Background()); got != "" {
		t.Fatalf("no record: kind %q", got)
	}
}
