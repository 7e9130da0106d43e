package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/pgtest"
)

// residentMB reads a process's resident memory from /proc: total,
// anonymous (heap, stacks) and file-backed (the binary's pages) in MB.
func residentMB(pid int) (rss, anon, file float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:":
			file = kb / 1024
		}
	}
	return rss, anon, file, nil
}

// benchBinary is the rampart binary built as the Makefile builds it
// (-trimpath, -ldflags "-s -w"), or RAMPART_BENCH_BINARY when set (make
// bench passes bin/rampart).
func benchBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("RAMPART_BENCH_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "rampart")
	out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkServeMemory measures the resident memory of `rampart serve` (a
// real process, built with the Makefile's flags, on an existing database
// with the default settings: 10 database connections, 4 AI workers) idle
// after start-up and at its peak under the list load: GET
// /api/proposals?limit=20 on 32 keep-alive connections, 20 organizations
// × 200 proposals with 5.3 kB bodies. Goals: ≤ 40 MB idle, ≤ 128 MB
// under load.
func BenchmarkServeMemory(b *testing.B) {
	load := 15 * time.Second
	if pgtest.Quick() {
		load = 4 * time.Second
	}
	const orgs, perOrg, conns = 20, 200, 32
	bin := benchBinary(b)
	db := pgtest.New(b)
	ctx := context.Background()
	sessions := seedListLoad(b, db.AdminURL, orgs, perOrg)

	dir := b.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "text", "--log-level", "warn")
	cmd.Env = os.Environ()
	for k, v := range externalEnv(db, db.AppURL) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "RAMPART_RATE_LIMITS=api=100000/1s,org-api=100000/1s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _, _ = cmd.Process.Wait(); close(exited) }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "URL:"); ok {
				urls <- strings.TrimSpace(u)
			}
		}
	}()
	var base string
	select {
	case base = <-urls:
	case <-exited:
		b.Fatal("rampart serve exited")
	case <-time.After(60 * time.Second):
		b.Fatal("rampart serve printed no URL within 60s")
	}
	pid := cmd.Process.Pid

	// Idle: started, one health probe answered, then left alone.
	res, err := http.Get(base + "/api/health")
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	time.Sleep(3 * time.Second)
	idle, idleAnon, idleFile, err := residentMB(pid)
	if err != nil {
		b.Fatal(err)
	}

	sealer, err := auth.NewSealer([]auth.HMACKey{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	cookies := make([]string, len(sessions))
	for i, s := range sessions {
		c := sealer.Cookie(auth.SessionCookie{SessionID: s, ExpiresAt: time.Now().Add(24 * time.Hour)})
		cookies[i] = c.Name + "=" + c.Value
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var peak, peakAnon float64
	var ops atomic.Int64
	var failed atomic.Value
	b.ResetTimer()
	lctx, cancel := context.WithTimeout(ctx, load)
	defer cancel()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for k := w; lctx.Err() == nil; k += conns {
				req, _ := http.NewRequest(http.MethodGet, base+"/api/proposals?limit=20", nil)
				req.Header.Set("Cookie", cookies[k%len(cookies)])
				res, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Store(fmt.Errorf("status %d", res.StatusCode))
					return
				}
				ops.Add(1)
			}
		})
	}
	start := time.Now()
	for lctx.Err() == nil {
		rss, anon, _, err := residentMB(pid)
		if err != nil {
			b.Fatal(err)
		}
		peak, peakAnon = max(peak, rss), max(peakAnon, anon)
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(idle, "idle-rss-MB")
	b.ReportMetric(idleAnon, "idle-anon-MB")
	b.ReportMetric(idleFile, "idle-file-MB")
	b.ReportMetric(peak, "load-rss-MB")
	b.ReportMetric(peakAnon, "load-anon-MB")
	b.ReportMetric(float64(ops.Load())/elapsed.Seconds(), "load-req/s")
	b.Logf("rampart serve: idle %.1f MB (anonymous %.1f, file %.1f); under %d connections for %s: peak %.1f MB (anonymous %.1f), %.0f req/s",
		idle, idleAnon, idleFile, conns, load, peak, peakAnon, float64(ops.Load())/elapsed.Seconds())
}

// seedListLoad seeds orgs organizations × perOrg proposals with 5.3 kB
// bodies, a producer and a live session each (as the owner, set-based),
// and returns the sessions.
func seedListLoad(b *testing.B, adminURL string, orgs, perOrg int) []uuid.UUID {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	body := strings.Repeat("<p>The launch runs over two evenings: a keynote for 300 guests, a product floor with twelve stations, and a dinner. </p>", 47)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO organizations (name, slug) SELECT 'Bench ' || g, 'bench-' || g FROM generate_series(1, %d) g`, orgs),
		`INSERT INTO users (email) SELECT 'producer@' || slug || '.example' FROM organizations`,
		`INSERT INTO memberships (organization_id, user_id, role)
SELECT o.id, u.id, 'producer' FROM organizations o JOIN users u ON u.email = 'producer@' || o.slug || '.example'`,
		fmt.Sprintf(`INSERT INTO proposals (organization_id, title, client_name, brief, body_html, body_sanitizer, author_id, ai_generated,
review_status, status, updated_at)
SELECT m.organization_id, 'Launch ' || g, 'Northwind Audio', repeat('Headphones launch, 300 guests, two evenings. ', 23), %s, 1, m.user_id,
true, 'pending_review', 'ai_pending_review', now() - g * interval '1 minute' FROM memberships m, generate_series(1, %d) g`,
			pgQuote(body), perOrg),
		`INSERT INTO sessions (user_id, active_organization_id, expires_at) SELECT user_id, organization_id, now() + interval '1 day' FROM memberships`,
		`VACUUM ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	rows, err := conn.Query(ctx, `SELECT id FROM sessions`)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) != orgs {
		b.Fatalf("seed: %d sessions, %v", len(ids), err)
	}
	return ids
}

// pgQuote quotes a constant string literal (the body has no quotes).
func pgQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
