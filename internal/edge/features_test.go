package edge

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestFeatureGate: agent routes need ai, chat routes need chat (and ai),
// other kinds need nothing; unknown flags fail closed; a refusal is a 403
// problem naming the flag.
func TestFeatureGate(t *testing.T) {
	on := rampart.DefaultFeatures()
	aiOff := rampart.OrgFeatures{AI: false, Chat: true, Reason: "contract paused"}
	chatOff := rampart.OrgFeatures{AI: true, Chat: false}
	cases := []struct {
		kind  Kind
		flags *rampart.OrgFeatures
		want  rampart.Kind // KindInternal: no error
		flag  string
	}{
		{KindAuthenticated, nil, rampart.KindInternal, ""},
		{KindUpload, &aiOff, rampart.KindInternal, ""},
		{KindPublic, &aiOff, rampart.KindInternal, ""},
		{KindAgent, &on, rampart.KindInternal, ""},
		{KindChat, &on, rampart.KindInternal, ""},
		{KindAgent, &chatOff, rampart.KindInternal, ""},
		{KindAgent, nil, rampart.KindUnavailable, ""},
		{KindChat, nil, rampart.KindUnavailable, ""},
		{KindAgent, &aiOff, rampart.KindFeatureDisabled, "ai"},
		{KindChat, &aiOff, rampart.KindFeatureDisabled, "ai"},
		{KindChat, &chatOff, rampart.KindFeatureDisabled, "chat"},
	}
	for _, c := range cases {
		err := requireFeature(c.kind, c.flags)
		if err == nil {
			if c.want != rampart.KindInternal {
				t.Errorf("kind %d flags %+v: allowed, want %v", c.kind, c.flags, c.want)
			}
			continue
		}
		if got := rampart.ErrorKind(err); got != c.want {
			t.Errorf("kind %d flags %+v: %v (kind %v), want %v", c.kind, c.flags, err, got, c.want)
			continue
		}
		if c.flag == "" {
			continue
		}
		w := httptest.NewRecorder()
		writeError(w, httptest.NewRequest(http.MethodPost, "/api/x", nil), slog.New(slog.DiscardHandler), err)
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusForbidden || p.Type != problemBase+"feature-disabled" || p.Code != "feature_disabled" || p.Feature != c.flag {
			t.Errorf("kind %d flags %+v: %d %+v", c.kind, c.flags, w.Code, p)
		}
	}
}
