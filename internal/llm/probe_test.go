package llm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// modelsServer answers the model list with status, recording the path.
func modelsServer(t *testing.T, status int, paths *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*paths = append(*paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status != http.StatusOK {
			_, _ = w.Write([]byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"m","object":"model","type":"model","created":0,"created_at":"2025-01-01T00:00:00Z","display_name":"m","owned_by":"x"}],"has_more":false,"first_id":"m","last_id":"m"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Issue 11: readiness reported the model provider healthy without asking
// it. Probe asks for the model list: no tokens spent, the key checked.
func TestProbe(t *testing.T) {
	for _, name := range []string{"anthropic", "openai"} {
		for _, status := range []int{http.StatusOK, http.StatusUnauthorized, http.StatusInternalServerError} {
			var paths []string
			srv := modelsServer(t, status, &paths)
			cfg := Config{Provider: name, BaseURL: srv.URL + "/v1", HTTPClient: plainClient(t)}
			if name == "anthropic" {
				cfg = Config{Provider: name, APIKey: "test-anthropic-key", HTTPClient: &http.Client{Transport: newRedirectTransport(t, "api.anthropic.com", srv.URL)}}
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = Probe(context.Background(), p)
			if len(paths) != 1 || paths[0] != "GET /v1/models" {
				t.Errorf("%s: the probe asked %v, want one GET /v1/models", name, paths)
			}
			var pe *ProviderError
			switch {
			case status == http.StatusOK && err != nil:
				t.Errorf("%s answering 200: %v", name, err)
			case status != http.StatusOK && (!errors.As(err, &pe) || pe.StatusCode != status || rampart.ErrorKind(err) != rampart.KindUnavailable):
				t.Errorf("%s answering %d: %v, want an unavailable ProviderError with that status", name, status, err)
			}
		}
	}
	offline, _ := New(Config{})
	if err := Probe(context.Background(), offline); err != nil {
		t.Errorf("offline: %v", err)
	}
}
