package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m, store.Prepare) }

// mailbox is a mail.Sender that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

var linkRE = regexp.MustCompile(`https://[^\s]+/auth/link\?token=[A-Za-z0-9_-]+`)

// lastLink returns the newest link mailed to addr. Sign-in links are
// mailed in the background, so it waits (up to 10 s) for one to arrive.
func (m *mailbox) lastLink(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l := m.newestLink(addr); l != "" {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link mailed to %s", addr)
			return ""
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *mailbox) newestLink(addr string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].To == addr {
			if l := linkRE.FindString(m.msgs[i].Text); l != "" {
				return l
			}
		}
	}
	return ""
}

// waitCount waits (up to 10 s) until n messages have been mailed to addr.
func (m *mailbox) waitCount(t *testing.T, addr string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for m.count(addr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages mailed to %s, want %d", m.count(addr), addr, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *mailbox) count(addr string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, msg := range m.msgs {
		if msg.To == addr {
			n++
		}
	}
	return n
}

// env is one test's running API: its own database, a real HTTPS server
// (httptest TLS) and a mailbox; with setupAI also the AI pipeline.
type env struct {
	t      *testing.T
	db     *pgtest.DB
	store  *store.Store
	srv    *httptest.Server
	api    *Server
	mail   *mailbox
	tokens *auth.Tokens
	orgs   map[string]orgFixture

	queue   *jobs.Queue // nil without setupAI
	watcher *killswitch.Watcher
	chat    *chat.Service // the proposal chat on the offline model; nil without setupAI

	// provider is a local OAuth authorization server configured as the
	// integration provider "ledger" (integrations_test.go).
	provider *authServer
	secrets  *fieldcrypt.Ring
}

type orgFixture struct {
	org   rampart.Organization
	users map[rampart.Role]rampart.User
}

func (o orgFixture) email(r rampart.Role) string { return o.users[r].Email }

// setup starts the API without the AI pipeline (its AI endpoints answer 503).
func setup(t *testing.T) *env { return newEnv(t, nil) }

// aiOptions configure the AI pipeline of setupAI.
type aiOptions struct {
	// Workers is the queue's concurrency; 0 makes an insert-only queue:
	// generation requests are recorded and nothing ever runs them.
	Workers int
	// OfflineDelay slows the offline model down (the pause between its
	// chunks of four words), so a job stays running for a while.
	OfflineDelay time.Duration
	// Held leaves the workers stopped until the test calls startWorkers
	// (jobs stay queued meanwhile).
	Held bool
}

// Timings of the AI pipeline under test: workers look for jobs every 20 ms,
// the progress stream reads changes every 50 ms, and the kill-switch
// watcher re-reads every 100 ms (its state goes stale only after 10 s, so
// a loaded test machine does not fail closed by accident).
const (
	testJobPoll       = 20 * time.Millisecond
	testStreamPoll    = 50 * time.Millisecond
	testKillRefresh   = 100 * time.Millisecond
	testKillStale     = 10 * time.Second
	testAgentTierSize = 50000 // distinct from roomyTiers' 100000: shows which tier a route is in
	testChatTierSize  = 40000 // likewise for the chat tier
)

// setupAI starts the API with the AI pipeline wired as in a serve process:
// the offline model, the guard, a running kill-switch watcher and a job
// queue (working jobs unless o.Workers is 0). Everything stops at cleanup.
func setupAI(t *testing.T, o aiOptions) *env { return newEnv(t, &o) }

func newEnv(t *testing.T, ai *aiOptions) *env { return newTracedEnv(t, ai, nil) }

// newTracedEnv is newEnv with tracer on the store's connections.
func newTracedEnv(t *testing.T, ai *aiOptions, tracer pgx.QueryTracer) *env {
	t.Helper()
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	fieldKeys, err := fieldcrypt.ParseRing(storetest.FieldKeySpec)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := fieldcrypt.ParseRing(testSecretsKeySpec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, db.AppURL, store.Options{MaxConns: 8, Actor: "api test", ServiceURL: db.ServiceURL, Audit: testKeyring(t),
		Tracer: tracer, FieldKeys: fieldKeys, SecretsKeys: secrets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, _ := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: secret}})
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	keys, _ := auth.ParseTokenKeys("t1:" + b64std(seed))
	tokens, _ := auth.NewTokens(keys, "rampart", "rampart-api")
	e := &env{t: t, db: db, store: st, mail: &mailbox{}, tokens: tokens, orgs: map[string]orgFixture{}, secrets: secrets}
	opts := Options{Store: st, Sealer: sealer, Tokens: tokens, Mailer: e.mail, Version: "test", Logger: testLogger(t),
		Tiers: roomyTiers(), Billing: billing.New(st, billing.Options{Secrets: []string{testStripeSecret}})}
	if ai != nil {
		// Started before the server so that it stops after it (cleanups run
		// last-registered first): no request can reach a stopped queue.
		e.startPipeline(*ai)
		opts.AI, opts.Watcher, opts.StreamPoll, opts.Chat = e.queue, e.watcher, testStreamPoll, e.chat
		opts.Tiers["agent"] = ratelimit.Limit{N: testAgentTierSize, Period: time.Minute}
		opts.Tiers["chat"] = ratelimit.Limit{N: testChatTierSize, Period: time.Minute}
	}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	opts.BaseURL = e.srv.URL
	e.provider = newAuthServer(t)
	if opts.Integrations, err = oauth.New([]oauth.Provider{e.provider.provider("ledger")}, e.srv.URL, oauth.Options{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	e.api = New(opts)
	e.srv.Config.Handler = e.api
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.api.DrainMail(ctx); err != nil {
			t.Errorf("background mail still in flight: %v", err)
		}
	})
	for _, slug := range []string{"acme", "globex"} {
		e.orgs[slug] = e.seedOrg(slug)
	}
	return e
}

// startPipeline builds the AI pipeline on e's store and starts the watcher
// (and, unless o.Held, the workers). Cleanup stops the queue (running jobs
// get 10 s to finish), then the watcher, and waits for both.
func (e *env) startPipeline(o aiOptions) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	provider, err := llm.New(llm.Config{OfflineDelay: o.OfflineDelay})
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(guard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// River and the watcher log a lot at debug level; warnings are enough.
	quiet := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.watcher, err = killswitch.New(e.store, killswitch.Options{Refresh: testKillRefresh, StaleAfter: testKillStale, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.queue, err = jobs.New(ctx, e.store, jobs.Options{Provider: provider, Guard: g, Watcher: e.watcher,
		Workers: o.Workers, PollInterval: testJobPoll, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if e.chat, err = chat.New(chat.Options{Store: e.store, Provider: provider, Guard: g, Watcher: e.watcher, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		e.watcher.Run(wctx)
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := e.queue.Stop(sctx); err != nil {
			t.Errorf("stop the job queue: %v", err)
		}
		cancel()
		<-watching
	})
	// The first read, so the server starts with a known state.
	if err := e.watcher.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !o.Held {
		e.startWorkers()
	}
}

// startWorkers starts the workers of a Held pipeline.
func (e *env) startWorkers() {
	e.t.Helper()
	// Not the test's context: River stops when Start's context ends, and
	// the cleanup stops it in order.
	if err := e.queue.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// seedOrg creates an organization with one user per role (the venue
// manager scoped to HALL-A) and venues HALL-A and HALL-B.
func (e *env) seedOrg(slug string) orgFixture {
	e.t.Helper()
	f := orgFixture{users: map[rampart.Role]rampart.User{}}
	err := e.store.AsService(context.Background(), "api test fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if f.org, err = tx.Provision().CreateOrganization(ctx, "Org "+slug, slug); err != nil {
			return err
		}
		for _, role := range rampart.Roles {
			u, err := tx.Provision().UpsertUser(ctx, string(role)+"@"+slug+".example", "")
			if err != nil {
				return err
			}
			f.users[role] = u
			m := rampart.Membership{OrganizationID: f.org.ID, UserID: u.ID, Role: role}
			if role == rampart.RoleVenueManager {
				m.VenueCodes = []string{"HALL-A"}
			}
			if err := tx.Provision().AddMembership(ctx, m); err != nil {
				return err
			}
		}
		for _, code := range []string{"HALL-A", "HALL-B"} {
			if _, err := tx.Provision().CreateVenue(ctx, rampart.Venue{OrganizationID: f.org.ID, Code: code, Name: code + " of " + slug}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// client is a browser-like HTTPS client with its own cookie jar.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar, Timeout: 30 * time.Second}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

// do sends a request; body may be nil, a string (raw) or a value (JSON).
func (e *env) do(c *http.Client, method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// openLink follows a magic link the way a browser does: GET (the token
// moves into the link cookie, redirect to the confirmation page), then
// the confirmation POST.
func (e *env) openLink(c *http.Client, link string) resp {
	e.t.Helper()
	res, err := c.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/auth/confirm" {
		e.t.Fatalf("GET link ended at %s with %d", res.Request.URL, res.StatusCode)
	}
	return e.do(c, http.MethodPost, "/auth/confirm", nil)
}

// signIn signs email in with a fresh sign-in link and returns the client.
func (e *env) signIn(email string) *http.Client {
	e.t.Helper()
	c := e.client()
	before := e.mail.count(email)
	if r := e.do(c, http.MethodPost, "/api/auth/login-link", map[string]string{"email": email}); r.status != http.StatusAccepted {
		e.t.Fatalf("login-link: %d %s", r.status, r.body)
	}
	e.mail.waitCount(e.t, email, before+1) // mailed in the background
	if r := e.openLink(c, e.mail.lastLink(e.t, email)); r.status != http.StatusOK {
		e.t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	return c
}

// admin runs SQL as the superuser (assertions and deliberate tampering).
func (e *env) admin(sql string, args ...any) pgx.Rows {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.db.AdminURL)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close(context.Background()) })
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func (e *env) scalar(sql string, args ...any) int {
	e.t.Helper()
	rows := e.admin(sql, args...)
	n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// scalarString runs a one-value query as the superuser.
func (e *env) scalarString(sql string, args ...any) string {
	e.t.Helper()
	rows := e.admin(sql, args...)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// events counts audit events with action (and optionally a reason).
func (e *env) events(action string) int {
	return e.scalar("SELECT count(*)::int FROM audit_events WHERE action = $1", action)
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

// testLogger sends the server's log to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// exec runs a statement as the superuser and fails the test on error.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.db.AdminURL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

func testKeyring(t testing.TB) *audit.Keyring {
	k, err := audit.NewKeyring([]audit.Key{{ID: "test", Secret: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// roomyTiers lets the functional tests sign in as often as they like from
// one address; TestRateLimits exercises the real limits.
func roomyTiers() ratelimit.Tiers {
	t := ratelimit.DefaultTiers()
	for k := range t {
		t[k] = ratelimit.Limit{N: 100000, Period: time.Minute}
	}
	return t
}
