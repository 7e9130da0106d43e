package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// streamEndDeadline bounds the wait for a stream whose claims changed to
// end. The stream re-checks its claims on every read (testStreamPoll), so
// it ends within a few polls; the bound only has to be well under the
// stream's two-minute maximum age, which used to be the only thing that
// ended it.
const streamEndDeadline = 15 * time.Second

// wireStream is an open GET /api/jobs/stream as the client sees it on the
// wire: every byte received, and whether the server ended the response.
type wireStream struct {
	mu     sync.Mutex
	raw    bytes.Buffer
	more   chan struct{}
	ended  chan struct{}
	cancel context.CancelFunc
}

// openWireStream opens the job stream at base as c; headers are name,
// value pairs (e.g. Authorization). It is closed at cleanup.
func openWireStream(t *testing.T, base string, c *http.Client, headers ...string) *wireStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/jobs/stream", nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := (&http.Client{Transport: c.Transport, Jar: c.Jar}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("stream: %d %s", res.StatusCode, b)
	}
	s := &wireStream{more: make(chan struct{}, 1), ended: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.ended)
		defer res.Body.Close()
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			s.mu.Lock()
			s.raw.Write(buf[:n])
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-s.ended
	})
	return s
}

func (s *wireStream) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.raw.Bytes())
}

// waitFor waits until the stream has carried want.
func (s *wireStream) waitFor(t *testing.T, who, want string) {
	t.Helper()
	deadline := time.NewTimer(hangDeadline)
	defer deadline.Stop()
	for !bytes.Contains(s.bytes(), []byte(want)) {
		select {
		case <-s.more:
		case <-s.ended:
			if !bytes.Contains(s.bytes(), []byte(want)) {
				t.Fatalf("%s: stream ended before it carried %s:\n%s", who, want, s.bytes())
			}
		case <-deadline.C:
			t.Fatalf("%s: %s not on the stream after %s:\n%s", who, want, hangDeadline, s.bytes())
		}
	}
}

// endedWithin reports whether the server ended the stream within d.
func (s *wireStream) endedWithin(d time.Duration) bool {
	select {
	case <-s.ended:
		return true
	case <-time.After(d):
		return false
	}
}

// serverAround serves a new Server on a test TLS server whose handler is
// wrap(the Server). The Server has e's store, session and token keys,
// mailbox and AI pipeline, and e's stream poll; mod may change that.
// Cookies of e's server work on it (the same keys; a cookie jar does not
// tell ports apart).
func (e *env) serverAround(mod func(*Options), wrap func(http.Handler) http.Handler) (base string, api *Server) {
	e.t.Helper()
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	base = "https://" + srv.Listener.Addr().String()
	opts := Options{Store: e.store, Sealer: e.api.sealer, Tokens: e.tokens, Mailer: e.mail, BaseURL: base,
		Version: "test", Logger: testLogger(e.t), Tiers: roomyTiers(), AI: e.queue, Watcher: e.watcher, StreamPoll: testStreamPoll}
	if mod != nil {
		mod(&opts)
	}
	api = New(opts)
	h = wrap(api)
	srv.StartTLS()
	e.t.Cleanup(srv.Close)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := api.DrainMail(ctx); err != nil {
			e.t.Errorf("background work still in flight: %v", err)
		}
	})
	return base, api
}

// streamServer is serverAround counting the job streams being served, so
// a test sees when a stream's handler has returned (nothing of it left
// running).
func (e *env) streamServer() (base string, serving *atomic.Int64) {
	e.t.Helper()
	serving = new(atomic.Int64)
	base, _ = e.serverAround(nil, func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/jobs/stream" {
				serving.Add(1)
				defer serving.Add(-1)
			}
			api.ServeHTTP(w, r)
		})
	})
	return base, serving
}

// TestJobStreamEndsWhenClaimsChange is the outside review's finding: a job
// stream kept the claims it started with, so a member removed while it was
// open still received the next job's event. Each stream here has its
// credential or membership changed while open — membership removed, role
// changed, venue codes changed, session ended by the member, sessions
// ended by an admin, session switched to another organization, API token
// revoked — and then a new job is created in
// the organization, in a venue every one of them could see before. The
// admin's unchanged stream carries it; none of the changed streams does,
// every one of them ends, and no stream handler is left running. The
// re-check never renews a session: the stream could not send the renewed
// cookie.
func TestJobStreamEndsWhenClaimsChange(t *testing.T) {
	e := setupAI(t, aiOptions{Workers: 0}) // insert-only: jobs stay queued
	acme := e.orgs["acme"]
	uid := func(r rampart.Role) string { return acme.users[r].ID.String() }
	base, serving := e.streamServer()
	admin := e.signIn(acme.email(rampart.RoleAdmin))

	tr := e.do(admin, http.MethodPost, "/api/tokens", map[string]any{"name": "stream", "role": "producer", "venue_codes": []string{}, "expires_in_days": 1})
	if tr.status != http.StatusCreated {
		t.Fatalf("token: %d %s", tr.status, tr.body)
	}
	bearer := tr.json(t)["token"].(string)
	tokenID := tr.json(t)["api_token"].(map[string]any)["id"].(string)

	type changed struct {
		name   string
		stream *wireStream
		change func() resp
		status int
	}
	var loggedOut, switcher *http.Client
	globex := e.orgs["globex"]
	cases := []changed{
		{name: "member removed", change: func() resp { return e.do(admin, http.MethodDelete, "/api/members/"+uid(rampart.RoleProducer), nil) }, status: http.StatusNoContent},
		{name: "role changed", change: func() resp {
			return e.do(admin, http.MethodPatch, "/api/members/"+uid(rampart.RoleTechnicalDirector), map[string]any{"role": "viewer", "venue_codes": []string{}})
		}, status: http.StatusOK},
		{name: "venue codes changed", change: func() resp {
			return e.do(admin, http.MethodPatch, "/api/members/"+uid(rampart.RoleVenueManager), map[string]any{"role": "venue_manager", "venue_codes": []string{"HALL-B"}})
		}, status: http.StatusOK},
		{name: "signed out", change: func() resp { return e.do(loggedOut, http.MethodPost, "/api/auth/logout", nil) }, status: http.StatusNoContent},
		{name: "sessions ended by an admin", change: func() resp {
			return e.do(admin, http.MethodDelete, "/api/members/"+uid(rampart.RoleExecutiveProducer)+"/sessions", nil)
		}, status: http.StatusOK},
		{name: "switched to another organization", change: func() resp {
			return e.do(switcher, http.MethodPost, "/api/auth/switch-org", map[string]any{"organization_id": globex.org.ID})
		}, status: http.StatusNoContent},
		{name: "token revoked", change: func() resp { return e.do(admin, http.MethodDelete, "/api/tokens/"+tokenID, nil) }, status: http.StatusNoContent},
	}
	cases[0].stream = openWireStream(t, base, e.signIn(acme.email(rampart.RoleProducer)))
	cases[1].stream = openWireStream(t, base, e.signIn(acme.email(rampart.RoleTechnicalDirector)))
	cases[2].stream = openWireStream(t, base, e.signIn(acme.email(rampart.RoleVenueManager))) // of HALL-A
	loggedOut = e.signIn(acme.email(rampart.RoleStakeholder))
	cases[3].stream = openWireStream(t, base, loggedOut)
	cases[4].stream = openWireStream(t, base, e.signIn(acme.email(rampart.RoleExecutiveProducer)))
	// acme's viewer is also a member of globex.
	err := e.store.AsService(context.Background(), "api test fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		return tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: globex.org.ID, UserID: acme.users[rampart.RoleViewer].ID, Role: rampart.RoleViewer})
	})
	if err != nil {
		t.Fatal(err)
	}
	switcher = e.signIn(acme.email(rampart.RoleViewer))
	if me := e.do(switcher, http.MethodGet, "/api/me", nil).json(t); me["organization"].(map[string]any)["slug"] != "acme" {
		t.Fatalf("the viewer's session is not in acme: %v", me)
	}
	cases[5].stream = openWireStream(t, base, switcher)
	cases[6].stream = openWireStream(t, base, e.client(), "Authorization", "Bearer "+bearer)
	// The control stream has a session of its own, which then passes half
	// its lifetime: a request would renew it (and send the new cookie).
	watcher := e.signIn(acme.email(rampart.RoleAdmin))
	sc, err := e.api.sealer.Open(e.sessionCookie(watcher))
	if err != nil {
		t.Fatal(err)
	}
	control := openWireStream(t, base, watcher)
	e.exec("UPDATE sessions SET expires_at = now() + interval '5 hours' WHERE id = $1", sc.SessionID)

	// Every stream is live: the first job reaches all of them.
	job1 := e.mustGenerate(admin, e.newProposal(admin, map[string]any{"title": "Before the changes", "venue_code": "HALL-A"}))
	control.waitFor(t, "admin", job1)
	for _, c := range cases {
		c.stream.waitFor(t, c.name, job1)
	}

	for _, c := range cases {
		if r := c.change(); r.status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	job2 := e.mustGenerate(admin, e.newProposal(admin, map[string]any{"title": "After the changes", "venue_code": "HALL-A"}))
	control.waitFor(t, "admin", job2)
	if n := e.scalar("SELECT count(*)::int FROM sessions WHERE id = $1 AND expires_at > now() + interval '6 hours'", sc.SessionID); n != 0 {
		t.Error("the stream's re-check renewed the admin's session behind its cookie")
	}

	for _, c := range cases {
		if !c.stream.endedWithin(streamEndDeadline) {
			t.Errorf("%s: the stream is still open %s after the change", c.name, streamEndDeadline)
		}
		if raw := c.stream.bytes(); bytes.Contains(raw, []byte(job2)) {
			t.Errorf("%s: the stream carried the job created after the change:\n%s", c.name, raw)
		}
	}
	if t.Failed() {
		return
	}
	// The changed streams' handlers have returned; only the admin's runs.
	waitServing(t, serving, 1)
	control.cancel()
	<-control.ended
	waitServing(t, serving, 0)
}

// waitServing waits until n job streams are being served.
func waitServing(t *testing.T, serving *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for serving.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d job stream handlers still running, want %d", serving.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
