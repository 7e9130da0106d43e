package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

// pgTrace is a PostgreSQL wire-protocol proxy that records, in order, the
// statements its clients execute: for every Execute the text of the
// statement bound to the portal (extended protocol), for every simple
// Query its text. pgx's connection pings are left out. The statements
// are recorded as they reach the server, so a statement a request waited
// for is recorded before the request goes on.
type pgTrace struct {
	t     *testing.T
	mu    sync.Mutex
	stmts []string
}

func newPGTrace(t *testing.T) *pgTrace { return &pgTrace{t: t} }

// mark is the position of the next statement.
func (p *pgTrace) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.stmts)
}

// between returns the statements recorded from mark a up to mark b.
func (p *pgTrace) between(a, b int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.stmts[a:b])
}

func (p *pgTrace) record(stmt string) {
	p.mu.Lock()
	p.stmts = append(p.stmts, strings.Join(strings.Fields(stmt), " "))
	p.mu.Unlock()
}

// proxy starts a proxy in front of the server of dbURL and returns the URL
// that connects through it.
func (p *pgTrace) proxy(dbURL string) string {
	t := p.t
	t.Helper()
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	var ln net.Listener
	var network, target string
	if strings.HasPrefix(cfg.Host, "/") { // a unix socket directory
		network, target = "unix", filepath.Join(cfg.Host, fmt.Sprintf(".s.PGSQL.%d", cfg.Port))
		dir := t.TempDir()
		if ln, err = net.Listen("unix", filepath.Join(dir, fmt.Sprintf(".s.PGSQL.%d", cfg.Port))); err != nil {
			t.Fatal(err)
		}
		q.Set("host", dir)
	} else {
		network, target = "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		if q.Has("host") {
			q.Set("host", host)
			q.Set("port", port)
		} else {
			u.Host = ln.Addr().String()
		}
	}
	q.Set("sslmode", "disable") // the proxy reads the protocol in clear
	u.RawQuery = q.Encode()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(client, network, target)
			}()
		}
	}()
	return u.String()
}

// serve relays one connection, reading what the client sends.
func (p *pgTrace) serve(client net.Conn, network, target string) {
	defer client.Close()
	server, err := net.Dial(network, target)
	if err != nil {
		return
	}
	defer server.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(client, server)
		client.Close()
	}()
	_ = p.relayClient(bufio.NewReader(client), server)
	server.Close()
	<-done
}

// Startup-phase request codes that precede the real startup message.
const (
	pgSSLRequest    = 80877103
	pgGSSENCRequest = 80877104
)

func (p *pgTrace) relayClient(r *bufio.Reader, server net.Conn) error {
	// Untyped startup messages: SSL/GSS requests (answered with one byte,
	// relayed by the other direction), then the startup message itself.
	for {
		head := make([]byte, 8)
		if _, err := io.ReadFull(r, head); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(head[:4]))
		if n < 8 {
			return errors.New("bad startup message")
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		if _, err := server.Write(append(head, body...)); err != nil {
			return err
		}
		if code := binary.BigEndian.Uint32(head[4:]); code != pgSSLRequest && code != pgGSSENCRequest {
			break
		}
	}
	statements := map[string]string{} // prepared statement name → text
	portals := map[string]string{}    // portal name → statement text
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(r, head); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(head[1:]))
		if n < 4 {
			return errors.New("bad message")
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		fields := strings.Split(string(body), "\x00")
		switch head[0] {
		case 'P': // Parse: name, query, …
			if len(fields) > 1 {
				statements[fields[0]] = fields[1]
			}
		case 'B': // Bind: portal, statement, …
			if len(fields) > 1 {
				portals[fields[0]] = statements[fields[1]]
			}
		case 'E': // Execute: portal, …
			p.record(portals[fields[0]])
		case 'Q': // simple Query
			if q := fields[0]; q != "-- ping" {
				p.record(q)
			}
		}
		if _, err := server.Write(append(head, body...)); err != nil {
			return err
		}
	}
}

// pageNonceRE matches a page's CSP nonce, which differs in every answer.
var pageNonceRE = regexp.MustCompile(`nonce="[^"]*"`)

// answerHook runs fn once, when the handler starts its answer.
type answerHook struct {
	http.ResponseWriter
	once sync.Once
	fn   func()
}

func (w *answerHook) WriteHeader(code int) {
	w.once.Do(w.fn)
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerHook) Write(b []byte) (int, error) {
	w.once.Do(w.fn)
	return w.ResponseWriter.Write(b)
}

func (w *answerHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestLoginLinkSynchronousWorkIsTheSame is the outside review's timing
// finding, made structural: a sign-in link request for a member must do
// the same database work before its answer as one for a stranger (the
// review saw member requests slower in 79–92% of interleaved pairs). The
// API's store goes through a proxy that records every statement; the
// statements executed between the request's arrival and the start of its
// answer are compared, for the JSON API and the console form, over
// several rounds. Then the work that follows the answer is checked: both
// requests audited, the link mailed to the member only.
func TestLoginLinkSynchronousWorkIsTheSame(t *testing.T) {
	e := setup(t)
	trace := newPGTrace(t)
	traced, err := store.Open(context.Background(), trace.proxy(e.db.AppURL), store.Options{MaxConns: 8, Actor: "api test",
		ServiceURL: trace.proxy(e.db.ServiceURL), Audit: testKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	answered := make(chan int, 1)
	base, api := e.serverAround(func(o *Options) { o.Store = traced }, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&answerHook{ResponseWriter: w, fn: func() { answered <- trace.mark() }}, r)
		})
	})
	member := e.orgs["acme"].email(rampart.RoleViewer)
	const stranger = "nobody@nowhere.example"
	c := e.client()
	post := map[string]func(email string) (int, string){
		"POST /api/auth/login-link": func(email string) (int, string) {
			st, body, err := send(c, base, http.MethodPost, "/api/auth/login-link", map[string]string{"email": email})
			if err != nil {
				t.Fatal(err)
			}
			return st, string(body)
		},
		"POST /auth/login": func(email string) (int, string) {
			res, err := c.PostForm(base+"/auth/login", url.Values{"email": {email}})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, pageNonceRE.ReplaceAllString(string(b), `nonce=""`)
		},
	}
	const rounds = 3
	requests := 0
	for _, route := range []string{"POST /api/auth/login-link", "POST /auth/login"} {
		var traces [2][][]string
		var answers [2][]string
		for round := range rounds {
			for i, email := range []string{member, stranger} {
				before := trace.mark()
				status, body := post[route](email)
				at := <-answered
				requests++
				traces[i] = append(traces[i], trace.between(before, at))
				answers[i] = append(answers[i], strconv.Itoa(status)+" "+body)
				// What follows the answer finishes before the next request.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := api.DrainMail(ctx); err != nil {
					t.Fatal(err)
				}
				cancel()
				if round == 0 {
					t.Logf("%s for a %s: before the answer: %q", route, []string{"member", "stranger"}[i], traces[i][0])
				}
			}
		}
		for round := range rounds {
			if !slices.Equal(traces[0][round], traces[1][round]) {
				t.Errorf("%s, round %d: the database work before the answer differs\nmember:   %q\nstranger: %q",
					route, round, traces[0][round], traces[1][round])
			}
			if answers[0][round] != answers[1][round] || !strings.HasPrefix(answers[0][round], "20") {
				t.Errorf("%s, round %d: the answers differ or failed\nmember:   %.200s\nstranger: %.200s", route, round, answers[0][round], answers[1][round])
			}
		}
	}
	// After the answers: every request audited, the member mailed once per
	// request, the stranger never.
	if n := e.events("auth.login_link.requested"); n != requests {
		t.Errorf("%d auth.login_link.requested events, want %d", n, requests)
	}
	e.mail.waitCount(t, member, requests/2)
	if n := e.mail.count(stranger); n != 0 {
		t.Errorf("%d messages mailed to a stranger", n)
	}
}

// BenchmarkLoginLinkTiming is the review's measurement, not a test: it
// asserts nothing. Each iteration sends a pair of sign-in link requests, a
// member's and a stranger's, in random order, and times each answer at
// the client. It reports the share of pairs in which the member's answer
// was the slower one (50% is no signal) and the median answer times.
// "paced" lets the work that follows each answer finish before the next
// request (the auth tier allows 5 requests a minute per address, so an
// attacker's requests are far apart); "back-to-back" does not, so a
// request may share the machine with the previous one's background work.
func BenchmarkLoginLinkTiming(b *testing.B) {
	bs := newBenchStream(b, 0)
	c := bs.srv.Client()
	const member = "admin@bench.example"
	post := func(email string, paced bool) time.Duration {
		t0 := time.Now()
		res, err := c.Post(bs.srv.URL+"/api/auth/login-link", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(t0)
		if res.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", res.StatusCode)
		}
		if paced {
			if err := bs.api.DrainMail(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		return d
	}
	for _, paced := range []bool{true, false} {
		name := map[bool]string{true: "paced", false: "back-to-back"}[paced]
		b.Run(name, func(b *testing.B) {
			post(member, true) // warm up both paths
			post("n----@bench.example", true)
			var m, s []time.Duration
			slower := 0
			for i := 0; i < b.N; i++ {
				// As long as the member's address: the bodies differ only in content.
				stranger := fmt.Sprintf("n%04d@bench.example", i%10000)
				var dm, ds time.Duration
				if rand.IntN(2) == 0 {
					dm = post(member, paced)
					ds = post(stranger, paced)
				} else {
					ds = post(stranger, paced)
					dm = post(member, paced)
				}
				m, s = append(m, dm), append(s, ds)
				if dm > ds {
					slower++
				}
			}
			b.StopTimer()
			if err := bs.api.DrainMail(context.Background()); err != nil {
				b.Fatal(err)
			}
			slices.Sort(m)
			slices.Sort(s)
			b.ReportMetric(100*float64(slower)/float64(b.N), "%member-slower")
			b.ReportMetric(float64(m[len(m)/2].Microseconds()), "µs-member-p50")
			b.ReportMetric(float64(s[len(s)/2].Microseconds()), "µs-stranger-p50")
		})
	}
}

// TestLoginLinkBusyAnswersTheSame: while the background slots are all
// taken, a sign-in link request waits for one (signin.SlotWait) and is
// then refused with 503, before and without any database work, for a
// member and a stranger alike. The one slot is held by a sign-up request
// whose mail hangs.
func TestLoginLinkBusyAnswersTheSame(t *testing.T) {
	e := setup(t)
	hang := &hangingMailer{Sender: e.mail, to: "occupier@elsewhere.example", entered: make(chan struct{}), release: make(chan struct{})}
	base, _ := e.serverAround(func(o *Options) { o.Mailer, o.SignInInFlight, o.Signup = hang, 1, signin.Open },
		func(h http.Handler) http.Handler { return h })
	if st, body, err := send(e.client(), base, http.MethodPost, "/api/auth/signup", map[string]string{"email": hang.to, "organization_name": "Occupier"}); err != nil || st != http.StatusAccepted {
		t.Fatalf("sign-up to hold the slot: %d %s %v", st, body, err)
	}
	<-hang.entered // the slot is held until release
	released := false
	release := func() {
		if !released {
			close(hang.release)
			released = true
		}
	}
	t.Cleanup(release)
	member := e.orgs["acme"].email(rampart.RoleViewer)
	type answer struct {
		status int
		body   string
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i, email := range []string{member, "nobody@nowhere.example"} {
		wg.Go(func() {
			st, body, err := send(e.client(), base, http.MethodPost, "/api/auth/login-link", map[string]string{"email": email})
			if err != nil {
				t.Error(err)
			}
			answers[i] = answer{st, string(body)}
		})
	}
	wg.Wait()
	if answers[0] != answers[1] || answers[0].status != http.StatusServiceUnavailable {
		t.Fatalf("busy answers: member %+v, stranger %+v", answers[0], answers[1])
	}
	release()
	if n := e.events("auth.login_link.requested"); n != 0 {
		t.Errorf("%d sign-in link requests recorded for refused requests", n)
	}
	if n := e.scalar("SELECT count(*)::int FROM login_links"); n != 0 || e.mail.count(member) != 0 {
		t.Errorf("a refused request made a link (%d) or mailed", n)
	}
	// With a slot free, the same request goes through.
	if st, body, err := send(e.client(), base, http.MethodPost, "/api/auth/login-link", map[string]string{"email": member}); err != nil || st != http.StatusAccepted {
		t.Fatalf("after release: %d %s %v", st, body, err)
	}
	e.mail.waitCount(t, member, 1)
}

// hangingMailer holds a send to address to until release is closed.
type hangingMailer struct {
	mail.Sender
	to      string
	entered chan struct{}
	release chan struct{}
}

func (m *hangingMailer) Send(ctx context.Context, msg mail.Message) error {
	if msg.To == m.to {
		close(m.entered)
		<-m.release
		return nil
	}
	return m.Sender.Send(ctx, msg)
}
