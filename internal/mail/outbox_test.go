package mail

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOutboxConformance(t *testing.T) {
	t.Parallel()
	runSenderSuite(t, func(t *testing.T) senderHarness {
		s, err := NewOutbox(t.TempDir(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return senderHarness{sender: s, delivered: func(t *testing.T) []Message {
			got, err := ReadOutbox(s.dir)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]Message, len(got))
			for i, m := range got {
				out[i] = m.Message
			}
			return out
		}}
	})
}

// Issue 10: links were redacted in the log while start-up said they
// appeared there. The outbox keeps them where only the owner can read
// them, and the log never carries a body.
func TestOutboxKeepsSecretsOutOfTheLog(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	dir := filepath.Join(t.TempDir(), "mail")
	s, err := Open("", "Rampart <no-reply@rampart.example>", dir, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ob, ok := s.(*Outbox)
	if !ok {
		t.Fatalf("Open(\"\") = %T, want *Outbox", s)
	}
	m := sampleMessage()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "auth/link") || strings.Contains(logs.String(), m.Text[:20]) {
		t.Fatalf("the log carries the body: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "rampart mail outbox") || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("no warning saying where mail goes: %s", logs.String())
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, ob.Path(): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	got, err := ob.Recent(10)
	if err != nil || len(got) != 1 || got[0].Message != m || got[0].SentAt.IsZero() {
		t.Fatalf("Recent = %+v, %v", got, err)
	}
}

func TestOutboxTightensLoosePermissions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, OutboxFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOutbox(dir, nil); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, OutboxFile): 0o600} {
		if st, _ := os.Stat(path); st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if _, err := NewOutbox(" ", nil); err == nil {
		t.Error("an outbox without a directory was accepted")
	}
}

func TestOutboxRotatesAndReadsInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := NewOutbox(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 60<<10)
	n := outboxRotateBytes/len(body) + 5
	for i := range n {
		if err := s.Send(t.Context(), Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Text: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(s.Path() + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	all, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].SentAt.Before(all[i-1].SentAt) {
			t.Fatalf("out of order at %d", i)
		}
	}
	if last := all[len(all)-1].To; last != fmt.Sprintf("u%d@example.com", n-1) {
		t.Fatalf("newest = %s", last)
	}
	// A torn line (a crash mid-write) is skipped, not fatal.
	f, _ := os.OpenFile(s.Path(), os.O_WRONLY|os.O_APPEND, 0o600)
	_, _ = f.WriteString(`{"to":"torn@exa`)
	_ = f.Close()
	if again, err := ReadOutbox(dir); err != nil || len(again) != len(all) {
		t.Fatalf("after a torn line: %d messages, %v", len(again), err)
	}
}

func TestOutboxConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := NewOutbox(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := s.Send(t.Context(), Message{To: fmt.Sprintf("g%d-%d@example.com", g, i), Subject: "s", Text: "t"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	all, err := ReadOutbox(dir)
	if err != nil || len(all) != 160 {
		t.Fatalf("%d messages, %v; want 160", len(all), err)
	}
}
