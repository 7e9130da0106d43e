package mail

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestLogSenderConformance(t *testing.T) {
	t.Parallel()
	runSenderSuite(t, func(t *testing.T) senderHarness {
		s := NewLogSender(slog.New(slog.DiscardHandler))
		return senderHarness{sender: s, delivered: func(*testing.T) []Message { return s.Recent() }}
	})
}

func TestLogSenderLogsMessage(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s, err := Open("", "Rampart <no-reply@rampart.example>", slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m := sampleMessage()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var rec struct {
		Level, Msg, To, Subject, Text, From string
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Level != "INFO" || !strings.Contains(rec.Msg, "delivered to the log") ||
		rec.To != m.To || rec.Subject != m.Subject || rec.Text != m.Text || rec.From != "\"Rampart\" <no-reply@rampart.example>" {
		t.Fatalf("log record %+v", rec)
	}
}

func TestLogSenderRecentOrderAndCap(t *testing.T) {
	t.Parallel()
	s := NewLogSender(slog.New(slog.DiscardHandler))
	if got := s.Recent(); len(got) != 0 {
		t.Fatalf("Recent of a new sender = %q", got)
	}
	msg := func(i int) Message {
		return Message{To: fmt.Sprintf("u%d@example.com", i), Subject: fmt.Sprintf("n%d", i), Text: "t"}
	}
	for i := range 3 {
		if err := s.Send(t.Context(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Recent(); len(got) != 3 || got[0] != msg(2) || got[2] != msg(0) {
		t.Fatalf("Recent after 3 = %q, want newest first", got)
	}
	for i := 3; i < recentCap+12; i++ {
		if err := s.Send(t.Context(), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Recent()
	if len(got) != recentCap {
		t.Fatalf("Recent holds %d, want %d", len(got), recentCap)
	}
	for j, m := range got {
		if want := msg(recentCap + 11 - j); m != want {
			t.Fatalf("Recent()[%d] = %q, want %q", j, m, want)
		}
	}
	got[0].Subject = "changed"
	if s.Recent()[0].Subject == "changed" {
		t.Fatal("Recent returned the sender's own storage")
	}
}

func TestLogSenderConcurrent(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s := NewLogSender(slog.New(slog.NewTextHandler(&logs, nil)))
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := Message{To: fmt.Sprintf("w%d@example.com", w), Subject: fmt.Sprintf("%d", i), Text: "t"}
				if err := s.Send(t.Context(), m); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for range each {
				if n := len(s.Recent()); n > recentCap {
					t.Errorf("Recent holds %d", n)
				}
			}
		})
	}
	wg.Wait()
	got := s.Recent()
	if len(got) != recentCap {
		t.Fatalf("Recent holds %d, want %d", len(got), recentCap)
	}
	// Each writer's messages appear newest first.
	last := map[string]int{}
	for _, m := range got {
		var i int
		fmt.Sscan(m.Subject, &i)
		if prev, ok := last[m.To]; ok && i >= prev {
			t.Fatalf("writer %s: %d listed after %d, want newest first", m.To, i, prev)
		}
		last[m.To] = i
	}
	if n := strings.Count(logs.String(), "delivered to the log"); n != writers*each {
		t.Fatalf("logged %d messages, want %d", n, writers*each)
	}
}
