package api

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/health"
	"github.com/rampart-dev/rampart/internal/llm"
)

// Issue 11: readiness reported the model provider healthy without asking
// it. The probe's answer decides, at most once per interval, and the
// report says why in safe words.
func TestModelProbeReportsAndCaches(t *testing.T) {
	calls := 0
	answer := error(nil)
	m := &modelProbe{every: time.Hour, probe: func(context.Context) error { calls++; return answer }}
	check := health.New(health.Options{}, health.Check{Name: "llm", Run: m.run})
	if rep := check.Run(context.Background()); rep.Components["llm"].Status != health.ComponentOK {
		t.Fatalf("healthy provider: %+v", rep.Components["llm"])
	}
	answer = errors.New("boom")
	if rep := check.Run(context.Background()); rep.Components["llm"].Status != health.ComponentOK || calls != 1 {
		t.Fatalf("within the interval the provider must not be asked again (calls %d)", calls)
	}
	for _, c := range []struct {
		err    error
		detail string
	}{
		{&llm.ProviderError{Provider: "anthropic", StatusCode: http.StatusUnauthorized}, "the model provider refused the API key"},
		{&llm.ProviderError{Provider: "openai", StatusCode: http.StatusBadGateway}, "the model provider answered HTTP 502"},
		{context.DeadlineExceeded, "the model provider did not answer"},
	} {
		m.at = time.Time{} // the interval is over
		answer = c.err
		comp := check.Run(context.Background()).Components["llm"]
		if comp.Status != health.ComponentFail || comp.Detail != c.detail {
			t.Errorf("%v: %+v, want fail %q", c.err, comp, c.detail)
		}
	}
}
