package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-dev/rampart/internal/rampart"
)

const testFrom = "Rampart <no-reply@rampart.example>"

// openSMTP opens an SMTPSender for rawURL that trusts ca (if any).
func openSMTP(t *testing.T, rawURL string, ca *testCA) *SMTPSender {
	t.Helper()
	s, err := Open(rawURL, testFrom, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	ss, ok := s.(*SMTPSender)
	if !ok {
		t.Fatalf("Open(%q) = %T, want *SMTPSender", rawURL, s)
	}
	if ca != nil {
		ss.tlsConfig.RootCAs = ca.roots
	}
	return ss
}

// smtpHarness starts a server and returns a sender for it.
func smtpHarness(scheme string, withTLS bool) func(t *testing.T) senderHarness {
	return func(t *testing.T) senderHarness {
		opts := serverOptions{auth: true, implicitTLS: scheme == schemeSMTPS}
		var ca *testCA
		if withTLS {
			c := newTestCA(t)
			ca, opts.tls = &c, c.server
		}
		ts := startServer(t, opts)
		return senderHarness{
			sender: openSMTP(t, ts.url(scheme, testUser+":"+testPass), ca),
			delivered: func(t *testing.T) []Message {
				var out []Message
				for _, r := range ts.received() {
					out = append(out, decode(t, r.data).msg)
				}
				return out
			},
		}
	}
}

func TestSMTPSenderConformance(t *testing.T) {
	t.Parallel()
	t.Run("smtp+insecure", func(t *testing.T) {
		t.Parallel()
		runSenderSuite(t, smtpHarness(schemeInsecure, false))
	})
	t.Run("smtp STARTTLS", func(t *testing.T) {
		t.Parallel()
		runSenderSuite(t, smtpHarness(schemeSMTP, true))
	})
	t.Run("smtps", func(t *testing.T) {
		t.Parallel()
		runSenderSuite(t, smtpHarness(schemeSMTPS, true))
	})
}

func TestSMTPSenderEnvelopeAndHeaders(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{auth: true})
	s := openSMTP(t, ts.url(schemeInsecure, testUser+":"+testPass), nil)
	m := sampleMessage()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := ts.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.from != "no-reply@rampart.example" || len(r.to) != 1 || r.to[0] != "ada@example.com" {
		t.Fatalf("envelope MAIL FROM %q RCPT TO %q, want no-reply@rampart.example and [ada@example.com]", r.from, r.to)
	}
	p := decode(t, r.data)
	if p.msg != m {
		t.Fatalf("message\n%q\nwant\n%q", p.msg, m)
	}
	h := p.header
	if from := h.Get("From"); !strings.Contains(from, "<no-reply@rampart.example>") {
		t.Errorf("From = %q", from)
	}
	if id := h.Get("Message-Id"); !strings.HasSuffix(id, "@rampart.example>") {
		t.Errorf("Message-Id = %q, want the sender's domain", id)
	}
	if h.Get("Date") == "" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Date = %q, Auto-Submitted = %q", h.Get("Date"), h.Get("Auto-Submitted"))
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	for _, k := range []string{"Bcc", "Cc", "User-Agent", "X-Mailer"} {
		if v, ok := h[k]; ok {
			t.Errorf("unexpected header %s: %q", k, v)
		}
	}
	if ts.authAttempts() != 1 {
		t.Errorf("AUTH attempts = %d, want 1", ts.authAttempts())
	}
}

func TestSMTPSenderConcurrentSends(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{auth: true})
	s := openSMTP(t, ts.url(schemeInsecure, testUser+":"+testPass), nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.Send(t.Context(), Message{To: fmt.Sprintf("user%d@example.com", i), Subject: "Hi", Text: "t"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(ts.received()); got != n {
		t.Fatalf("server received %d messages, want %d", got, n)
	}
}

// assertNoSecret fails if the test password or wrong appears in any
// rendering of err.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), rampart.ErrorMessage(err)} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("error leaks %q: %s", s, text)
			}
		}
	}
}

func TestSMTPSenderWrongPassword(t *testing.T) {
	t.Parallel()
	const wrong = "wrong-pw-77a1"
	ts := startServer(t, serverOptions{auth: true})
	s := openSMTP(t, ts.url(schemeInsecure, testUser+":"+wrong), nil)
	err := s.Send(t.Context(), sampleMessage())
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if rampart.ErrorKind(err) != rampart.KindUnavailable {
		t.Errorf("kind = %v, want %v", rampart.ErrorKind(err), rampart.KindUnavailable)
	}
	if !strings.Contains(err.Error(), "AUTH") || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("error %q should say AUTH failed and show the redacted URL", err)
	}
	assertNoSecret(t, err, wrong)
	if ts.authAttempts() != 1 || len(ts.received()) != 0 {
		t.Fatalf("AUTH attempts %d, messages %d; want 1 and 0", ts.authAttempts(), len(ts.received()))
	}
}

func TestSMTPSenderRequiresSTARTTLS(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{auth: true}) // no TLS offered
	s := openSMTP(t, ts.url(schemeSMTP, testUser+":"+testPass), nil)
	err := s.Send(t.Context(), sampleMessage())
	if err == nil {
		t.Fatal("smtp:// to a server without STARTTLS succeeded")
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %q should mention STARTTLS", err)
	}
	assertNoSecret(t, err, testPass)
	if ts.authAttempts() != 0 || len(ts.received()) != 0 {
		t.Fatalf("AUTH attempts %d, messages %d; the password must not be sent without TLS", ts.authAttempts(), len(ts.received()))
	}
}

func TestSMTPSenderVerifiesCertificate(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{schemeSMTP, schemeSMTPS} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			ca := newTestCA(t)
			ts := startServer(t, serverOptions{auth: true, tls: ca.server, implicitTLS: scheme == schemeSMTPS})
			s := openSMTP(t, ts.url(scheme, testUser+":"+testPass), nil) // system roots only
			err := s.Send(t.Context(), sampleMessage())
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("Send = %v, want a certificate error", err)
			}
			assertNoSecret(t, err, testPass)
			if ts.authAttempts() != 0 || len(ts.received()) != 0 {
				t.Fatalf("AUTH attempts %d, messages %d; want none", ts.authAttempts(), len(ts.received()))
			}
		})
	}
}

func TestSMTPSenderRejectsInjectionBeforeConnecting(t *testing.T) {
	t.Parallel()
	ts := startServer(t, serverOptions{auth: true})
	s := openSMTP(t, ts.url(schemeInsecure, testUser+":"+testPass), nil)
	for _, tc := range injectionAttempts {
		err := s.Send(t.Context(), tc.m)
		if rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: Send = %v, want a %v error", tc.name, err, rampart.KindInvalid)
		}
	}
	if n := ts.conns.Load(); n != 0 {
		t.Fatalf("server saw %d connections, want 0", n)
	}
}

func TestSMTPSenderAbortsPromptly(t *testing.T) {
	t.Parallel()
	// Only cancellation can end these sends early: the cancel cases set the
	// URL timeout to 5 minutes. The bound is a fail-safe far below that, not
	// a speed target, so a loaded CI machine cannot make it flaky.
	const limit = time.Minute
	send := func(t *testing.T, s *SMTPSender, ctx context.Context) (time.Duration, error) {
		t.Helper()
		start := time.Now()
		err := s.Send(ctx, sampleMessage())
		return time.Since(start), err
	}
	t.Run("cancel before greeting", func(t *testing.T) {
		t.Parallel()
		s := openSMTP(t, "smtp+insecure://"+hangingListener(t)+"?timeout=5m", nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		took, err := send(t, s, ctx)
		if !errors.Is(err, context.Canceled) || took > limit {
			t.Fatalf("Send = %v after %v, want context.Canceled within %v", err, took, limit)
		}
	})
	t.Run("cancel during DATA", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, serverOptions{auth: true, stallData: true})
		s := openSMTP(t, ts.url(schemeInsecure, testUser+":"+testPass)+"?timeout=5m", nil)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		took, err := send(t, s, ctx)
		if !errors.Is(err, context.Canceled) || took > limit {
			t.Fatalf("Send = %v after %v, want context.Canceled within %v", err, took, limit)
		}
		assertNoSecret(t, err, testPass)
	})
	t.Run("timeout parameter", func(t *testing.T) {
		t.Parallel()
		s := openSMTP(t, "smtp+insecure://"+hangingListener(t)+"?timeout=1s", nil)
		took, err := send(t, s, t.Context())
		if !errors.Is(err, context.DeadlineExceeded) || took < time.Second || took > limit {
			t.Fatalf("Send = %v after %v, want context.DeadlineExceeded after about 1s", err, took)
		}
		if !strings.Contains(err.Error(), "timeout") {
			t.Errorf("error %q should point at the timeout parameter", err)
		}
	})
}

func TestSMTPSenderDoesNotPrintPassword(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := Open("smtps://"+testUser+":"+testPass+"@mail.example:465", testFrom, "", log)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("configured", "sender", s)
	for _, text := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logs.String(),
	} {
		if strings.Contains(text, testPass) {
			t.Fatalf("password printed: %s", text)
		}
		if !strings.Contains(text, "xxxxx") {
			t.Fatalf("want the redacted URL in %s", text)
		}
	}
}
