package mail

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOpenWithoutURLUsesTheOutbox(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	s, err := Open("", "", t.TempDir(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Outbox); !ok {
		t.Fatalf("Open(\"\") = %T, want *Outbox", s)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), envSMTPURL) {
		t.Fatalf("want a warning naming %s, got %s", envSMTPURL, logs.String())
	}
	if _, err := Open("", "not an address", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), envMailFrom) {
		t.Fatalf("Open with a bad from in outbox mode = %v, want an error naming %s", err, envMailFrom)
	}
	if _, err := Open("", "", "", nil); err == nil {
		t.Fatal("Open without SMTP and without an outbox directory succeeded")
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url      string
		scheme   string
		host     string
		port     int
		auth     bool
		timeout  time.Duration
		redacted string
	}{
		{"smtp://mail.example", schemeSMTP, "mail.example", 587, false, defaultTimeout, "smtp://mail.example"},
		{"SMTP://mail.example/", schemeSMTP, "mail.example", 587, false, defaultTimeout, "smtp://mail.example/"},
		{"smtps://mail.example", schemeSMTPS, "mail.example", 465, false, defaultTimeout, "smtps://mail.example"},
		{"smtp+insecure://localhost", schemeInsecure, "localhost", 25, false, defaultTimeout, "smtp+insecure://localhost"},
		{"smtp+insecure://127.0.0.1:1025", schemeInsecure, "127.0.0.1", 1025, false, defaultTimeout, "smtp+insecure://127.0.0.1:1025"},
		{"smtp://[::1]:2525", schemeSMTP, "::1", 2525, false, defaultTimeout, "smtp://[::1]:2525"},
		{"smtp://u:s3cret@mail.example:2587?timeout=30s", schemeSMTP, "mail.example", 2587, true, 30 * time.Second, "smtp://u:xxxxx@mail.example:2587?timeout=30s"},
		{"smtps://u%40x:p%40ss%2F@mail.example?timeout=5m", schemeSMTPS, "mail.example", 465, true, 5 * time.Minute, "smtps://u%40x:xxxxx@mail.example?timeout=5m"},
		{"  smtp://mail.example?timeout=1s  ", schemeSMTP, "mail.example", 587, false, time.Second, "smtp://mail.example?timeout=1s"},
	} {
		cfg, err := parseURL(strings.TrimSpace(tc.url))
		if err != nil {
			t.Errorf("parseURL(%q): %v", tc.url, err)
			continue
		}
		if cfg.scheme != tc.scheme || cfg.host != tc.host || cfg.port != tc.port || cfg.hasAuth != tc.auth ||
			cfg.timeout != tc.timeout || cfg.redacted != tc.redacted {
			t.Errorf("parseURL(%q) = %+v", tc.url, cfg)
		}
	}
	cfg, err := parseURL("smtps://u%40x:p%40ss%2F@mail.example")
	if err != nil || cfg.user != "u@x" || cfg.password != "p@ss/" {
		t.Fatalf("percent-encoded credentials: %q %q %v", cfg.user, cfg.password, err)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	const secret = "s3cr%65t-Pw" // also in its decoded form below
	for _, tc := range []struct {
		name string
		url  string
		from string
		want []string // all must appear in the error
	}{
		{"bad scheme", "http://mail.example", testFrom, []string{envSMTPURL, `scheme "http"`, "smtps://"}},
		{"bad scheme with password", "imap://u:" + secret + "@mail.example", testFrom, []string{envSMTPURL, `scheme "imap"`}},
		{"no scheme", "mail.example:587", testFrom, []string{envSMTPURL}},
		{"opaque", "smtp:mail.example", testFrom, []string{envSMTPURL, "smtp://"}},
		{"missing host", "smtp://", testFrom, []string{envSMTPURL, "no host"}},
		{"missing host with user", "smtp://u:" + secret + "@:587", testFrom, []string{envSMTPURL, "no host"}},
		{"port not a number", "smtp://mail.example:smtp", testFrom, []string{envSMTPURL, "port"}},
		{"port not a number with password", "smtp://u:" + secret + "@mail.example:abc", testFrom, []string{envSMTPURL, "port"}},
		{"port zero", "smtp://mail.example:0", testFrom, []string{envSMTPURL, "port", "1 to 65535"}},
		{"port too big", "smtp://mail.example:70000", testFrom, []string{envSMTPURL, "port", "1 to 65535"}},
		{"empty port", "smtp://mail.example:", testFrom, []string{envSMTPURL, "empty port"}},
		{"path", "smtp://mail.example/inbox", testFrom, []string{envSMTPURL, "path"}},
		{"fragment", "smtp://mail.example#x", testFrom, []string{envSMTPURL, "fragment"}},
		{"user without password", "smtp://u@mail.example", testFrom, []string{envSMTPURL, "user and a password"}},
		{"password without user", "smtp://:" + secret + "@mail.example", testFrom, []string{envSMTPURL, "user and a password"}},
		{"malformed password escape", "smtp://u:" + secret + "%zz@mail.example", testFrom, []string{envSMTPURL, "percent-encode"}},
		{"unknown param", "smtp://u:" + secret + "@mail.example?tls=off", testFrom, []string{envSMTPURL, `unknown parameter "tls"`, "timeout"}},
		{"unknown param among good", "smtp://mail.example?timeout=10s&auth=plain", testFrom, []string{envSMTPURL, `unknown parameter "auth"`}},
		{"bad timeout", "smtp://mail.example?timeout=soon", testFrom, []string{envSMTPURL, "timeout", "1s to 5m0s"}},
		{"timeout too short", "smtp://mail.example?timeout=500ms", testFrom, []string{envSMTPURL, "timeout"}},
		{"timeout too long", "smtp://mail.example?timeout=6m", testFrom, []string{envSMTPURL, "timeout"}},
		{"timeout twice", "smtp://mail.example?timeout=1s&timeout=2s", testFrom, []string{envSMTPURL, "timeout", "once"}},
		{"malformed query", "smtp://mail.example?timeout=%zz", testFrom, []string{envSMTPURL, "query"}},
		{"missing from", "smtp://mail.example", "", []string{envMailFrom, "required"}},
		{"bad from", "smtp://mail.example", "no-reply", []string{envMailFrom, "one address"}},
		{"two froms", "smtp://mail.example", "a@example.com, b@example.com", []string{envMailFrom, "one address"}},
		{"from with CRLF", "smtp://mail.example", "a@example.com\r\nBcc: x@y", []string{envMailFrom}},
		{"bad url and bad from", "smtp://u:" + secret + "@mail.example?x=1", "nope", []string{envSMTPURL, envMailFrom}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			s, err := Open(tc.url, tc.from, "", slog.New(slog.NewTextHandler(&logs, nil)))
			if err == nil {
				t.Fatalf("Open(%q, %q) = %v, want an error", tc.url, tc.from, s)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q should contain %q", err, w)
				}
			}
			for _, leak := range []string{secret, "s3cret-Pw", "s3cr"} {
				if strings.Contains(err.Error(), leak) || strings.Contains(logs.String(), leak) {
					t.Errorf("error or log leaks the password: %q %q", err, logs.String())
				}
			}
		})
	}
}
