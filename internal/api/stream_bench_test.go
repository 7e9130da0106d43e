package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/pgtest"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// benchStream is a running API over its own database: one organization,
// its admin signed in (a real session row and cookie), and one proposal
// with jobs changed in the last hour (jobs must be under 3,600).
type benchStream struct {
	api    *Server
	srv    *httptest.Server
	cookie string
	jobs   int
}

func newBenchStream(b *testing.B, jobs int) *benchStream {
	b.Helper()
	ctx := context.Background()
	db := pgtest.New(b)
	st, err := store.Open(ctx, db.AppURL, store.Options{MaxConns: 8, Actor: "api bench", ServiceURL: db.ServiceURL, Audit: testKeyring(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	var orgID, userID, sessionID uuid.UUID
	err = st.AsService(ctx, "benchmark fixture", func(ctx context.Context, tx *store.ServiceTx) error {
		org, err := tx.Provision().CreateOrganization(ctx, "Bench", "bench")
		if err != nil {
			return err
		}
		u, err := tx.Provision().UpsertUser(ctx, "admin@bench.example", "")
		if err != nil {
			return err
		}
		if err := tx.Provision().AddMembership(ctx, rampart.Membership{OrganizationID: org.ID, UserID: u.ID, Role: rampart.RoleAdmin}); err != nil {
			return err
		}
		_, hash := auth.NewLinkToken()
		if _, err := tx.SignIn().CreateLoginLink(ctx, u.Email, hash, store.ClientInfo{}); err != nil {
			return err
		}
		ns, err := tx.SignIn().RedeemLoginLink(ctx, hash, nil, store.ClientInfo{})
		if err != nil {
			return err
		}
		orgID, userID, sessionID = org.ID, u.ID, ns.Session.ID
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var proposalID uuid.UUID
	if err := conn.QueryRow(ctx, `INSERT INTO proposals (organization_id, title, author_id) VALUES ($1, 'Bench', $2) RETURNING id`,
		orgID, userID).Scan(&proposalID); err != nil {
		b.Fatal(err)
	}
	// One change a second, the last one now: a stream's lag window (5 s)
	// holds a few of them, as in real use.
	if _, err := conn.Exec(ctx, `INSERT INTO ai_jobs (organization_id, kind, proposal_id, agent_type, requested_by, status, updated_at)
SELECT $1, 'proposal_generation', $2, 'proposal_writer', $3, 'succeeded', now() - ($4 - g) * interval '1 second' FROM generate_series(1, $4) g`,
		orgID, proposalID, userID, jobs); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	rc, err := st.Auth().ResolveSession(ctx, sessionID)
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sealer, _ := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: secret}})
	api := New(Options{Store: st, Sealer: sealer, Mailer: &mailbox{}, Version: "bench", Tiers: roomyTiers(), StreamPoll: time.Millisecond})
	srv := httptest.NewServer(api)
	b.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = api.DrainMail(ctx)
	})
	ck := sealer.Cookie(auth.SessionCookie{SessionID: sessionID, ExpiresAt: rc.ExpiresAt})
	return &benchStream{api: api, srv: srv, cookie: ck.Name + "=" + ck.Value, jobs: jobs}
}

// BenchmarkJobStreamDelivery opens the job stream over HTTP and reads the
// backlog of 2,000 job events (pages of store.MaxJobEvents), then hangs
// up: one iteration is one stream delivering 2,000 events. It reports
// events delivered per second.
func BenchmarkJobStreamDelivery(b *testing.B) {
	bs := newBenchStream(b, 2000)
	want := []byte("event: job\n")
	buf := make([]byte, 64<<10)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, bs.srv.URL+"/api/jobs/stream", nil)
		req.Header.Set("Cookie", bs.cookie)
		res, err := bs.srv.Client().Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("stream: %v %v", err, res)
		}
		seen, tail := 0, []byte{}
		for seen < bs.jobs {
			n, err := res.Body.Read(buf)
			chunk := append(tail, buf[:n]...)
			seen += bytes.Count(chunk, want)
			// Keep the last bytes: a marker may straddle two reads.
			tail = append([]byte{}, chunk[max(0, len(chunk)-len(want)+1):]...)
			if err == io.EOF {
				b.Fatalf("stream ended after %d of %d events", seen, bs.jobs)
			} else if err != nil {
				b.Fatal(err)
			}
		}
		cancel()
		res.Body.Close()
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(bs.jobs*b.N)/elapsed.Seconds(), "events/s")
}
