package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// benchTokenServer is a local model provider speaking the OpenAI chat
// completions streaming protocol (server-sent events), reached through
// internal/llm's own client. Every stream sends one 4-byte delta ("tok ",
// one token by the worker's bytes/4 count) every interval until the client
// closes it, and records how many deltas it wrote and flushed before it saw
// the close, and when it saw it.
type benchTokenServer struct {
	srv      *httptest.Server
	interval time.Duration

	mu      sync.Mutex
	changed chan struct{}
	streams map[string]*benchStream // by the proposal title found in the request
}

type benchStream struct {
	sent     int       // deltas written and flushed
	closedAt time.Time // zero while the stream is open
	sentAt   []time.Time
}

// benchTitleRE finds the proposal's title in the request (fenced by the guard).
var benchTitleRE = regexp.MustCompile(`Bench proposal [0-9]+`)

func newBenchTokenServer(b *testing.B, interval time.Duration) *benchTokenServer {
	b.Helper()
	s := &benchTokenServer{interval: interval, changed: make(chan struct{}), streams: map[string]*benchStream{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	b.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

func (s *benchTokenServer) provider(b *testing.B) llm.Provider {
	b.Helper()
	p, err := llm.New(llm.Config{Provider: llm.ProviderOpenAI, BaseURL: s.srv.URL + "/v1/", Model: "bench-stream"})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func (s *benchTokenServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	title := benchTitleRE.FindString(string(body))
	st := &benchStream{}
	s.mu.Lock()
	s.streams[title] = st
	s.notifyLocked()
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	event := func(v any) error {
		data, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		return http.NewResponseController(w).Flush()
	}
	chunk := func(content string) map[string]any {
		return map[string]any{"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "bench-stream",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": content}, "finish_reason": nil}}}
	}
	_ = event(chunk(""))
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
		case <-t.C:
			if err := event(chunk("tok ")); err == nil {
				now := time.Now()
				s.mu.Lock()
				st.sent++
				st.sentAt = append(st.sentAt, now)
				s.notifyLocked()
				s.mu.Unlock()
				continue
			}
		}
		// The client closed the stream (or the write failed: the same).
		s.mu.Lock()
		st.closedAt = time.Now()
		s.notifyLocked()
		s.mu.Unlock()
		return
	}
}

func (s *benchTokenServer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait waits until cond (called under the lock) holds.
func (s *benchTokenServer) wait(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			b.Fatalf("timed out waiting until %s", what)
		}
	}
}

// take returns the streams so far and forgets them.
func (s *benchTokenServer) take() map[string]*benchStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.streams
	s.streams = map[string]*benchStream{}
	return out
}

// BenchmarkCancelToStop measures the organization kill switch against
// streaming model calls: jobs streams tokens from a local provider (the
// OpenAI streaming protocol through internal/llm's client, one token every
// 5 ms per stream); once every stream has sent at least 20 tokens, the
// switch is committed. For every job it reports the time from the
// activating COMMIT returning to the provider seeing the stream closed by
// the client (p50/p99/max), and the tokens: sent by the provider before
// the close, and billed to the organization (the job's settled use minus
// the request's input estimate). It fails if a stream stays open, if the
// provider sends anything after the close, or if a job is billed more
// output tokens than its stream sent.
func BenchmarkCancelToStop(b *testing.B) {
	const interval = 5 * time.Millisecond
	jobs := benchSize(b, 20, 50)
	rounds := benchSize(b, 3, 10)
	env := newBenchEnv(b)
	ctx := context.Background()
	cli := env.store(b, 4) // the operator's CLI: fixtures and the switch
	claims := env.orgs(b, cli, 1)[0]
	targets := env.targets(b, []rampart.Claims{claims}, jobs) // each round re-requests them: a cancelled job frees its proposal

	srv := newBenchTokenServer(b, interval)
	st := env.store(b, int32(jobs+4))
	w := benchWatcher(b, st, killswitch.Options{}) // listening, re-read every 1 s, as deployed
	q, _ := benchQueue(b, st, Options{Provider: srv.provider(b), Watcher: w, Workers: jobs, PerOrg: jobs, PollInterval: 10 * time.Millisecond})
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	// The input estimate a stop bills on top of the streamed tokens, per proposal title.
	inputEstimate := map[string]int{}
	titles := map[uuid.UUID]string{}
	rows, err := env.admin.Query(ctx, `SELECT id, title, client_name, brief FROM proposals WHERE organization_id = $1`, claims.OrganizationID)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var p rampart.Proposal
		if err := rows.Scan(&p.ID, &p.Title, &p.ClientName, &p.Brief); err != nil {
			b.Fatal(err)
		}
		data, _ := q.guardInputs(p)
		inputEstimate[p.Title] = llm.EstimateTokens(llm.Request{Prompt: llm.ProposalWriter, Data: data, MaxTokens: 1})
		titles[p.ID] = p.Title
	}
	rows.Close()

	setSwitch := func(on bool) {
		err := cli.AsService(ctx, "benchmark: cancel to stop", func(ctx context.Context, tx *store.ServiceTx) error {
			_, err := tx.KillSwitches().SetOrg(ctx, claims.OrganizationID, on, "benchmark", "benchmark")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}

	var (
		lat                      []time.Duration
		afterCommit              []int
		sentTotal, billedTotal   int
		unbilled                 []int // per job: sent − billed output tokens
		overBilled, lateSends, n int
	)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := range rounds {
			if i > 0 || r > 0 {
				setSwitch(false)
				benchWait(b, "the watcher allows the organization", 5*time.Second, time.Millisecond, func() bool {
					return w.Check(claims.OrganizationID) == nil
				})
			}
			jobOf := map[string]uuid.UUID{}
			for _, t := range targets {
				job, err := q.Request(ctx, t.claims, t.proposal, "bench")
				if err != nil {
					b.Fatal(err)
				}
				jobOf[titles[t.proposal]] = job.ID
			}
			srv.wait(b, fmt.Sprintf("%d streams have sent 20 tokens each", jobs), func() bool {
				if len(srv.streams) < jobs {
					return false
				}
				for _, s := range srv.streams {
					if s.sent < 20 {
						return false
					}
				}
				return true
			})
			setSwitch(true)
			at := time.Now()
			srv.wait(b, "every stream is closed", func() bool {
				for _, s := range srv.streams {
					if s.closedAt.IsZero() {
						return false
					}
				}
				return true
			})
			benchWait(b, "every job is recorded as stopped", time.Minute, 5*time.Millisecond, func() bool {
				return env.count(b, sqlBenchUnfinished) == 0
			})
			time.Sleep(3 * interval) // a stream that kept sending would show now
			streams := srv.take()
			billed := map[uuid.UUID]int{}
			ids := make([]uuid.UUID, 0, len(jobOf))
			for _, id := range jobOf {
				ids = append(ids, id)
			}
			rows, err := env.admin.Query(ctx, `SELECT id, input_tokens + output_tokens FROM ai_jobs
				WHERE id = ANY($1) AND status = 'cancelled' AND error_code = 'kill_switch_organization'`, ids)
			if err != nil {
				b.Fatal(err)
			}
			if err := forEachRow(rows, func(r pgx.Rows) error {
				var id uuid.UUID
				var tokens int
				err := r.Scan(&id, &tokens)
				billed[id] = tokens
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if len(billed) != jobs {
				b.Fatalf("%d jobs stopped by the organization switch, want %d", len(billed), jobs)
			}
			for title, s := range streams {
				id, ok := jobOf[title]
				if !ok {
					b.Fatalf("a stream for %q, which no job of this round asked for", title)
				}
				out := billed[id] - inputEstimate[title]
				lat = append(lat, s.closedAt.Sub(at))
				late := 0
				for _, t := range s.sentAt {
					if t.After(at) {
						late++
					}
					if t.After(s.closedAt) {
						lateSends++
					}
				}
				afterCommit = append(afterCommit, late)
				sentTotal += s.sent
				billedTotal += out
				unbilled = append(unbilled, s.sent-out)
				if out > s.sent {
					overBilled++
				}
				n++
			}
		}
	}
	b.StopTimer()
	if lateSends > 0 {
		b.Fatalf("%d tokens sent after their stream was closed", lateSends)
	}
	if overBilled > 0 {
		b.Fatalf("%d jobs billed more output tokens than their stream sent", overBilled)
	}
	slices.Sort(afterCommit)
	slices.Sort(unbilled)
	b.ReportMetric(float64(sentTotal)/float64(n), "sent-tokens/job")
	b.ReportMetric(float64(billedTotal)/float64(n), "billed-tokens/job")
	b.ReportMetric(float64(billedTotal)/float64(sentTotal), "billed/sent")
	b.ReportMetric(float64(afterCommit[len(afterCommit)/2]), "p50-tokens-after-commit")
	b.ReportMetric(float64(afterCommit[len(afterCommit)-1]), "max-tokens-after-commit")
	b.ReportMetric(float64(unbilled[len(unbilled)-1]), "max-unbilled-tokens/job")
	b.Logf("%d jobs (%d per round, one organization, %d workers), one token per %s per stream: %d tokens sent, %d billed (%.4f); sent after COMMIT per job p50 %d max %d; sent but unbilled per job: p50 %d max %d",
		n, jobs, jobs, interval, sentTotal, billedTotal, float64(billedTotal)/float64(sentTotal),
		afterCommit[len(afterCommit)/2], afterCommit[len(afterCommit)-1], unbilled[len(unbilled)/2], unbilled[len(unbilled)-1])
	benchLatencies(b, "COMMIT returned → provider saw the stream closed", lat)
}

// forEachRow calls fn for every row and closes rows.
func forEachRow(rows pgx.Rows, fn func(pgx.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
