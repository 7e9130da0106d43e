package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// OutboxFile is the outbox's file name in its directory; the previous
// file, kept after rotation, has ".1" appended.
const OutboxFile = "outbox.jsonl"

// outboxRotateBytes is the size at which the outbox file is rotated (one
// previous file is kept): a magic-link mail is a few hundred bytes, so
// this keeps the last few thousand.
const outboxRotateBytes = 1 << 20

// Stored is a message as the outbox keeps it.
type Stored struct {
	SentAt time.Time `json:"sent_at"`
	Message
}

// Outbox is the Sender used when no SMTP server is configured: it
// "delivers" a message by appending it to a file in the data directory,
// readable by its owner only (directory 0700, file 0600), and logs that it
// did — without the body, so no magic link ever reaches a log. The
// operator reads it with `rampart mail outbox`; the demo mailbox shows it.
// It is safe for concurrent use within one process.
type Outbox struct {
	dir  string
	log  *slog.Logger
	from *mail.Address // optional, only logged

	mu sync.Mutex
}

// NewOutbox returns an Outbox writing to dir (created 0700 if missing).
// An existing directory or file that others may read is tightened to
// 0700/0600 first.
func NewOutbox(dir string, log *slog.Logger) (*Outbox, error) {
	const op = "mail.NewOutbox"
	if strings.TrimSpace(dir) == "" {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "the mail outbox needs a directory (the data directory's mail/)")
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, rampart.Wrap(op, rampart.KindUnavailable, fmt.Errorf("create the mail outbox %s: %w", dir, err))
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, rampart.Wrap(op, rampart.KindUnavailable, fmt.Errorf("restrict the mail outbox %s: %w", dir, err))
	}
	for _, name := range []string{OutboxFile, OutboxFile + ".1"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, rampart.Wrap(op, rampart.KindUnavailable, fmt.Errorf("restrict %s: %w", name, err))
		}
	}
	return &Outbox{dir: dir, log: log}, nil
}

// Path is the outbox file.
func (o *Outbox) Path() string { return filepath.Join(o.dir, OutboxFile) }

// Send validates m like every Sender, then appends it to the outbox. It
// fails with rampart.KindInvalid for a bad message, and with
// rampart.KindUnavailable when ctx is done or the file cannot be written.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	const op = "mail.Send"
	if _, err := validate(op, m); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	line, err := json.Marshal(Stored{SentAt: time.Now().UTC(), Message: m})
	if err != nil {
		return unavailable(op, err)
	}
	line = append(line, '\n')
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.rotate(); err != nil {
		return unavailable(op, err)
	}
	f, err := os.OpenFile(o.Path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return unavailable(op, err)
	}
	_, werr := f.Write(line)
	if err := errors.Join(werr, f.Close()); err != nil {
		return unavailable(op, err)
	}
	attrs := []any{"to", m.To, "subject", m.Subject, "outbox", o.Path()}
	if o.from != nil {
		attrs = append(attrs, "from", o.from.String())
	}
	o.log.InfoContext(ctx, "mail: message written to the outbox (no "+envSMTPURL+" set); read it with `rampart mail outbox`", attrs...)
	return nil
}

// rotate moves a full outbox file aside (replacing the previous one).
func (o *Outbox) rotate() error {
	st, err := os.Stat(o.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil || st.Size() < outboxRotateBytes {
		return err
	}
	return os.Rename(o.Path(), o.Path()+".1")
}

// Recent returns up to n of the newest messages, newest first.
func (o *Outbox) Recent(n int) ([]Stored, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	all, err := ReadOutbox(o.dir)
	if err != nil {
		return nil, err
	}
	out := make([]Stored, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out, nil
}

// ReadOutbox reads the outbox in dir (the rotated file first), oldest
// message first. A missing outbox is empty. A line that is not a message
// (a torn write) is skipped.
func ReadOutbox(dir string) ([]Stored, error) {
	const op = "mail.ReadOutbox"
	var out []Stored
	for _, name := range []string{OutboxFile + ".1", OutboxFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, rampart.Wrap(op, rampart.KindUnavailable, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 2*maxTextBytes)
		for sc.Scan() {
			var s Stored
			if json.Unmarshal(sc.Bytes(), &s) != nil || s.To == "" {
				continue
			}
			out = append(out, s)
		}
		if err := sc.Err(); err != nil {
			return nil, rampart.Wrap(op, rampart.KindUnavailable, err)
		}
	}
	return out, nil
}
