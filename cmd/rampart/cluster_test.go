package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/redistest"
	"github.com/rampart-dev/rampart/internal/store"
)

// slowModel is an OpenAI-compatible server whose completions start and
// then hang until the client goes away: AI jobs stay running until they
// are stopped.
type slowModel struct {
	srv      *httptest.Server
	inFlight atomic.Int64
	aborted  atomic.Int64
}

func newSlowModel(t *testing.T) *slowModel {
	m := &slowModel{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/models" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"slow","object":"model","created":0,"owned_by":"test"}]}`))
			return
		}
		m.inFlight.Add(1)
		defer m.inFlight.Add(-1)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(`data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"slow","choices":[{"index":0,"delta":{"role":"assistant","content":"Working"},"finish_reason":null}]}` + "\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			m.aborted.Add(1)
		case <-time.After(2 * time.Minute):
		}
	}))
	t.Cleanup(func() { m.srv.CloseClientConnections(); m.srv.Close() })
	return m
}

// osProcess is rampart running as its own OS process (the test binary
// re-executed as main; see TestMain).
type osProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen chan string // lines of interest
}

func startOS(t testing.TB, env map[string]string, args ...string) *osProcess {
	t.Helper()
	p := &osProcess{cmd: exec.Command(os.Args[0], args...), seen: make(chan string, 100)}
	p.cmd.Env = append(os.Environ(), "RAMPART_TEST_RUN_MAIN=1")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if strings.Contains(line, "URL:") || strings.Contains(line, "worker ready") {
				select {
				case p.seen <- line:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); _ = pw.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("%v did not stop on SIGINT within 30 s", args)
		}
	})
	return p
}

func (p *osProcess) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

// ready waits for the banner (serve: returns its URL) or "worker ready".
func (p *osProcess) ready(t testing.TB) string {
	t.Helper()
	select {
	case line := <-p.seen:
		if m := regexp.MustCompile(`http://\S+`).FindString(line); m != "" {
			return m
		}
		return ""
	case <-time.After(90 * time.Second):
		t.Fatalf("process not ready:\n%s", p.output())
	}
	return ""
}

// Issue 11: two serve processes and a worker, as real OS processes on one
// database. Sealing runs once per interval for the cluster; the auth
// rate limit is one budget across both serves (shared through Redis);
// the AI jobs running in all three processes stop when the global kill
// switch is turned on, and new requests are refused by both serves.
func TestClusterOfRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three OS processes")
	}
	t.Parallel()
	db := pgtest.New(t)
	model := newSlowModel(t)
	env := externalEnv(db, db.AppURL)
	for k, v := range map[string]string{
		"RAMPART_AUDIT_SEAL_INTERVAL": "1s", "RAMPART_LOG_FORMAT": "text", "RAMPART_REDIS_URL": redistest.Start(t),
		"RAMPART_LLM": "openai", "RAMPART_OPENAI_BASE_URL": model.srv.URL + "/v1", "RAMPART_LLM_MODEL": "slow",
		"RAMPART_AI_WORKERS": "2", "RAMPART_AI_ORG_CONCURRENCY": "6", "RAMPART_AI_POLL_INTERVAL": "50ms",
	} {
		env[k] = v
	}
	serveA := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	serveB := startOS(t, env, "serve", "--addr", "127.0.0.1:0")
	worker := startOS(t, env, "worker")
	urlA, urlB := serveA.ready(t), serveB.ready(t)
	worker.ready(t)

	st := openTestStore(t, db)
	ctx := context.Background()

	// Periodic work: consecutive seal runs start at least 0.9 s apart.
	starts, runners := waitSealRuns(t, st, 6)
	t.Logf("%d seal runs by %d OS processes", len(starts), len(runners))

	// One rate-limit budget across both serves: auth is 5 a minute per
	// address, so the sixth sign-in link request, whichever serve gets it,
	// is refused.
	var statuses []int
	for i := range 6 {
		base := urlA
		if i%2 == 1 {
			base = urlB
		}
		res, err := http.Post(base+"/api/auth/login-link", "application/json", strings.NewReader(`{"email":"nobody@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		statuses = append(statuses, res.StatusCode)
	}
	if fmt.Sprint(statuses) != "[202 202 202 202 202 429]" {
		t.Errorf("sign-in link requests alternating between two serves: %v, want five 202 then 429", statuses)
	}

	// Six AI jobs: with two workers per process, six running at once means
	// all three processes run some.
	producer := seedProducer(t, st)
	provider, _ := llm.New(llm.Config{})
	g, _ := guard.New(guard.Options{})
	watcher, _ := killswitch.New(st, killswitch.Options{})
	if err := watcher.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	requester, err := jobs.New(ctx, st, jobs.Options{Provider: provider, Guard: g, Watcher: watcher, Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = requester.Stop(context.Background()) })
	var ids []rampart.AIJob
	for i := range 6 {
		p, err := store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
			code := "HALL"
			return tx.Proposals().Create(ctx, rampart.Proposal{ProposalSummary: rampart.ProposalSummary{
				Title: fmt.Sprintf("Gala %d", i), ClientName: "Acme", VenueCode: &code},
				Brief: "An evening gala for 300 guests with a stage, live music and dinner."})
		})
		if err != nil {
			t.Fatal(err)
		}
		j, err := requester.Request(ctx, producer, p.ID, "proposal_writer")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j)
	}
	for deadline := time.Now().Add(60 * time.Second); model.inFlight.Load() < 6; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d model calls in flight, want 6 (two per process)\nserve A:\n%s\nworker:\n%s", model.inFlight.Load(), serveA.output(), worker.output())
		}
	}
	if code, out, errOut := run(t, env, "killswitch", "on", "--global", "--reason", "cluster test"); code != 0 {
		t.Fatalf("killswitch on: %d %s %s", code, out, errOut)
	}
	for deadline := time.Now().Add(30 * time.Second); model.inFlight.Load() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d model calls still running after the global kill switch", model.inFlight.Load())
		}
	}
	for _, j := range ids {
		var got rampart.AIJob
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			got, err = store.InTenantValue(ctx, st, producer, func(ctx context.Context, tx *store.TenantTx) (rampart.AIJob, error) {
				return tx.AIJobs().Get(ctx, j.ID)
			})
			if err != nil {
				t.Fatal(err)
			}
			if rampart.JobFinished(got.Status) || time.Now().After(deadline) {
				break
			}
		}
		if got.Status == rampart.JobSucceeded || !rampart.JobFinished(got.Status) {
			t.Errorf("job %s after the global kill switch: %s", j.ID, got.Status)
		}
	}
	if n := model.aborted.Load(); n < 6 {
		t.Errorf("%d model calls aborted, want 6", n)
	}
}

// seedProducer creates an organization with a producer and a venue.
func seedProducer(t testing.TB, st *store.Store) rampart.Claims {
	t.Helper()
	var c rampart.Claims
	err := st.AsService(context.Background(), "cluster test fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, "Cluster Co", "cluster-co")
		if err != nil {
			return err
		}
		u, err := tx.Provision().UpsertUser(ctx, "producer@cluster.example", "")
		if err != nil {
			return err
		}
		if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleProducer}); err != nil {
			return err
		}
		if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: org.ID, Code: "HALL", Name: "Hall"}); err != nil {
			return err
		}
		c = rampart.Claims{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleProducer}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
