package mail

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string `json:"to"`      // exactly one address, e.g. "ada@example.com"
	Subject string `json:"subject"` // one line of at most maxSubjectRunes characters
	Text    string `json:"text"`    // the plain-text body; newlines are allowed here
}

// Sender delivers messages.
type Sender interface {
	// Send delivers m or returns why it could not.
	//
	// A message that fails validation (To not exactly one address, a
	// control character such as CR or LF in To or Subject, invalid UTF-8)
	// is refused with a *rampart.Error of kind rampart.KindInvalid before
	// anything is sent. A delivery failure is a *rampart.Error of kind
	// rampart.KindUnavailable that wraps the cause; when ctx ends first the
	// chain also wraps ctx.Err(), so errors.Is(err, context.Canceled) works.
	Send(ctx context.Context, m Message) error
}

// Limits on a Message.
const (
	maxAddressBytes = 254 // RFC 5321 path limit
	maxSubjectRunes = 200
	maxTextBytes    = 64 << 10 // a magic-link mail is a few hundred bytes
)

var (
	errControl    = errors.New("contains a control character")
	errBadAddress = errors.New("not a usable address")
)

// validate checks m and returns the parsed recipient. It is the single
// gate against header injection: everything that reaches a header or the
// SMTP envelope has passed it.
func validate(op string, m Message) (*mail.Address, error) {
	if hasControl(m.To) {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "recipient must not contain control characters such as CR or LF")
	}
	if hasControl(m.Subject) {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "subject must not contain control characters such as CR or LF")
	}
	if !utf8.ValidString(m.To) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "message must be valid UTF-8")
	}
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "recipient must be exactly one address like name@example.com")
	}
	if strings.TrimSpace(m.Subject) == "" || utf8.RuneCountInString(m.Subject) > maxSubjectRunes {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "subject must be 1 to %d characters", maxSubjectRunes)
	}
	if len(m.Text) > maxTextBytes || strings.ContainsRune(m.Text, 0) {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "text must be at most %d bytes without NUL characters", maxTextBytes)
	}
	return to, nil
}

// parseAddress parses exactly one RFC 5322 address (a display name is
// allowed) whose addr-spec fits in an SMTP path.
func parseAddress(s string) (*mail.Address, error) {
	if hasControl(s) {
		return nil, errControl
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if a.Address == "" || len(a.Address) > maxAddressBytes || hasControl(a.Name) {
		return nil, errBadAddress
	}
	return a, nil
}

// hasControl reports whether s contains a C0 control character (CR, LF,
// NUL, TAB, ...), DEL or a C1 control character. None of them belongs in
// a header or an address, and CR/LF would end the header line.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// Memory is a Sender that keeps every message in memory, for tests and
// drills that read what was sent. The zero value is ready to use.
type Memory struct {
	mu   sync.Mutex
	sent []Message
}

// Send keeps m.
func (s *Memory) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

// To returns the messages sent to addr, oldest first.
func (s *Memory) To(addr string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.sent {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// Len is how many messages were sent.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}
