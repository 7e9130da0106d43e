package mail

import (
	"context"
	"log/slog"
	"net/mail"
	"sync"
)

// recentCap is how many messages a LogSender keeps for Recent.
const recentCap = 50

// LogSender is the demo Sender used when no SMTP server is configured: it
// "delivers" a message by writing it, magic link included, to the log at
// INFO, and keeps the last 50 messages in memory for the demo console.
// Because a magic link signs its holder in, it is for demos and
// development only. It is safe for concurrent use.
type LogSender struct {
	log  *slog.Logger
	from *mail.Address // optional, only logged

	mu     sync.Mutex
	recent [recentCap]Message // ring buffer
	next   int                // index the next message goes to
	n      int                // number of messages held, at most recentCap
}

// NewLogSender returns a LogSender that writes to log (slog.Default() if
// nil).
func NewLogSender(log *slog.Logger) *LogSender {
	if log == nil {
		log = slog.Default()
	}
	return &LogSender{log: log}
}

// Send validates m like every Sender, then logs it and remembers it. It
// fails only with rampart.KindInvalid, or with ctx.Err() wrapped as
// rampart.KindUnavailable when ctx is already done.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	const op = "mail.Send"
	if _, err := validate(op, m); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	attrs := []any{"to", m.To, "subject", m.Subject, "text", m.Text}
	if s.from != nil {
		attrs = append(attrs, "from", s.from.String())
	}
	s.log.InfoContext(ctx, "mail: message delivered to the log (no "+envSMTPURL+" set)", attrs...)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent[s.next] = m
	s.next = (s.next + 1) % recentCap
	s.n = min(s.n+1, recentCap)
	return nil
}

// Recent returns a copy of the last 50 messages sent, newest first.
func (s *LogSender) Recent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, s.n)
	for i := 1; i <= s.n; i++ {
		out = append(out, s.recent[(s.next-i+recentCap)%recentCap])
	}
	return out
}
