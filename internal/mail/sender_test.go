package mail

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// senderHarness is one Sender under test and a way to see what it
// delivered.
type senderHarness struct {
	sender    Sender
	delivered func(t *testing.T) []Message
}

// sampleMessage looks like a magic-link mail and exercises the encodings:
// a non-ASCII subject, "=" and "?" in the link, a line longer than SMTP's
// 998-octet limit, and a line that is a lone dot.
func sampleMessage() Message {
	return Message{
		To:      "ada@example.com",
		Subject: "Your Rampart sign-in link – Anmeldung für Größe",
		Text: "Hello,\n\nsign in here:\nhttps://rampart.example/auth/magic?token=abc=def&next=%2F\n\n" +
			strings.Repeat("long line ", 120) + "\n.\n.. two dots\nFrom the Rampart team\n",
	}
}

// injectionAttempts are messages every Sender must refuse as invalid.
var injectionAttempts = []struct {
	name string
	m    Message
}{
	{"To with CRLF Bcc", Message{To: "ada@example.com\r\nBcc: x@y", Subject: "Hi", Text: "t"}},
	{"To with LF Bcc", Message{To: "ada@example.com\nBcc: x@y", Subject: "Hi", Text: "t"}},
	{"To with CR", Message{To: "ada@example.com\rBcc: x@y", Subject: "Hi", Text: "t"}},
	{"Subject with CRLF Bcc", Message{To: "ada@example.com", Subject: "Hi\r\nBcc: x@y", Text: "t"}},
	{"Subject with LF Bcc", Message{To: "ada@example.com", Subject: "Hi\nBcc: x@y", Text: "t"}},
	{"Subject with CR", Message{To: "ada@example.com", Subject: "Hi\rBcc: x@y", Text: "t"}},
	{"Subject with NUL", Message{To: "ada@example.com", Subject: "Hi\x00", Text: "t"}},
	{"Subject with Unicode line separator", Message{To: "ada@example.com", Subject: "Hi\u2028Bcc: x@y", Text: "t"}},
	{"Subject with NEL", Message{To: "ada@example.com", Subject: "Hi\u0085Bcc: x@y", Text: "t"}},
	{"two recipients", Message{To: "ada@example.com, x@y.example", Subject: "Hi", Text: "t"}},
	{"group", Message{To: "undisclosed-recipients:;", Subject: "Hi", Text: "t"}},
	{"not an address", Message{To: "ada", Subject: "Hi", Text: "t"}},
	{"empty To", Message{Subject: "Hi", Text: "t"}},
	{"empty Subject", Message{To: "ada@example.com", Text: "t"}},
	{"long Subject", Message{To: "ada@example.com", Subject: strings.Repeat("s", maxSubjectRunes+1), Text: "t"}},
	{"invalid UTF-8 text", Message{To: "ada@example.com", Subject: "Hi", Text: "\xff"}},
	{"NUL in text", Message{To: "ada@example.com", Subject: "Hi", Text: "a\x00b"}},
}

// runSenderSuite is the conformance suite every Sender implementation
// passes: what it delivers, what it refuses, and how it honours ctx.
func runSenderSuite(t *testing.T, setup func(t *testing.T) senderHarness) {
	t.Run("DeliversExactlyOnce", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		m := sampleMessage()
		if err := h.sender.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := h.delivered(t)
		if want := []Message{m}; !reflect.DeepEqual(got, want) {
			t.Fatalf("delivered\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("RejectsInvalid", func(t *testing.T) {
		t.Parallel()
		for _, tc := range injectionAttempts {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				h := setup(t)
				err := h.sender.Send(t.Context(), tc.m)
				if k := rampart.ErrorKind(err); err == nil || k != rampart.KindInvalid {
					t.Fatalf("Send = %v (kind %v), want a %v error", err, k, rampart.KindInvalid)
				}
				if got := h.delivered(t); len(got) != 0 {
					t.Fatalf("delivered %q", got)
				}
			})
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		t.Parallel()
		h := setup(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := h.sender.Send(ctx, sampleMessage())
		if !errors.Is(err, context.Canceled) || rampart.ErrorKind(err) != rampart.KindUnavailable {
			t.Fatalf("Send = %v (kind %v), want context.Canceled as %v", err, rampart.ErrorKind(err), rampart.KindUnavailable)
		}
		if got := h.delivered(t); len(got) != 0 {
			t.Fatalf("delivered %q", got)
		}
	})
}
