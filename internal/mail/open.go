package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The settings Open reads, named in its errors.
const (
	envSMTPURL  = "RAMPART_SMTP_URL"
	envMailFrom = "RAMPART_MAIL_FROM"
)

// URL schemes of RAMPART_SMTP_URL.
const (
	schemeSMTP     = "smtp"          // STARTTLS required
	schemeSMTPS    = "smtps"         // implicit TLS
	schemeInsecure = "smtp+insecure" // plain text, local test servers only
)

// Timeout bounds for the timeout query parameter.
const (
	defaultTimeout = 15 * time.Second
	minTimeout     = time.Second
	maxTimeout     = 5 * time.Minute
)

// redactedPassword replaces the password wherever the URL is shown.
const redactedPassword = "xxxxx"

const urlForm = "smtp://user:password@host:587 (STARTTLS), smtps://user:password@host:465 (implicit TLS) or smtp+insecure://host:25 (no TLS, local test servers only)"

// Open returns the Sender that the settings describe.
//
// An empty smtpURL (RAMPART_SMTP_URL) selects an *Outbox in outboxDir:
// messages, magic links included, are appended to a file only its owner
// may read, never to the log. Open then logs a warning saying so and how
// to read it (`rampart mail outbox`).
//
// Otherwise smtpURL must be
//
//	smtp://[user:password@]host[:port][?timeout=15s]
//
// with scheme smtp (STARTTLS required; port 587 by default), smtps
// (implicit TLS; port 465) or smtp+insecure (no TLS at all; port 25; for
// local test servers such as Mailpit only, since the password and every
// magic link cross the network in clear text). User and password, when
// present, are sent with SMTP AUTH PLAIN or LOGIN; percent-encode special
// characters in them. The only query parameter is timeout, a Go duration
// from 1s to 5m (default 15s) that bounds one whole delivery. from
// (RAMPART_MAIL_FROM) must then be one address such as
// "Rampart <no-reply@example.com>".
//
// Every problem is reported at once, in an error that names the setting
// and says how to fix it; the password never appears in it.
func Open(smtpURL, from, outboxDir string, log *slog.Logger) (Sender, error) {
	if log == nil {
		log = slog.Default()
	}
	smtpURL = strings.TrimSpace(smtpURL)
	from = strings.TrimSpace(from)
	if smtpURL == "" {
		var fromAddr *mail.Address
		if from != "" {
			a, err := parseFrom(from)
			if err != nil {
				return nil, err
			}
			fromAddr = a
		}
		s, err := NewOutbox(outboxDir, log)
		if err != nil {
			return nil, err
		}
		s.from = fromAddr
		log.Warn("mail: "+envSMTPURL+" is not set, so mail is not sent: it is written to the outbox, readable by this user only; read it with `rampart mail outbox` (or on the demo mailbox with --demo); set "+envSMTPURL+" to send real mail",
			"outbox", s.Path())
		return s, nil
	}
	cfg, urlErr := parseURL(smtpURL)
	fromAddr, fromErr := parseFrom(from)
	if err := errors.Join(urlErr, fromErr); err != nil {
		return nil, err
	}
	s := newSMTPSender(cfg, fromAddr)
	if cfg.scheme == schemeInsecure {
		log.Warn("mail: " + envSMTPURL + " uses smtp+insecure, so mail and the SMTP password cross the network unencrypted; use it only for a local test server")
	}
	log.Info("mail: sending through SMTP", "server", s.String(), "from", fromAddr.String(), "timeout", cfg.timeout.String())
	return s, nil
}

// smtpConfig is a parsed RAMPART_SMTP_URL.
type smtpConfig struct {
	scheme   string
	host     string // without brackets for IPv6
	port     int
	user     string
	password string
	hasAuth  bool
	timeout  time.Duration
	redacted string // the URL with the password replaced, safe to show
}

// urlError reports a problem with RAMPART_SMTP_URL.
func urlError(format string, args ...any) error {
	return fmt.Errorf("invalid "+envSMTPURL+": "+format, args...)
}

// parseURL validates raw strictly: a typo should stop start-up, not
// silently send magic links somewhere unexpected or without TLS.
func parseURL(raw string) (smtpConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return smtpConfig{}, describeParseError(raw)
	}
	cfg := smtpConfig{scheme: strings.ToLower(u.Scheme)}
	cfg.redacted = redactURL(u)
	switch cfg.scheme {
	case schemeSMTP:
		cfg.port = 587
	case schemeSMTPS:
		cfg.port = 465
	case schemeInsecure:
		cfg.port = 25
	case "":
		return cfg, urlError("%q has no scheme; use %s", cfg.redacted, urlForm)
	default:
		return cfg, urlError("scheme %q is not supported; use %s", u.Scheme, urlForm)
	}
	if u.Opaque != "" {
		return cfg, urlError("%q must start with %s://; use %s", cfg.redacted, cfg.scheme, urlForm)
	}
	cfg.host = u.Hostname()
	if cfg.host == "" {
		return cfg, urlError("%q has no host; name the SMTP server, as in %s", cfg.redacted, urlForm)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, urlError("port %q must be a number from 1 to 65535", p)
		}
		cfg.port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return cfg, urlError("%q has an empty port; give a port from 1 to 65535 or drop the ':'", cfg.redacted)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, urlError("%q must not have a path; remove %q", cfg.redacted, u.Path)
	}
	if u.Fragment != "" {
		return cfg, urlError("%q must not have a #fragment", cfg.redacted)
	}
	if u.User != nil {
		cfg.user = u.User.Username()
		cfg.password, cfg.hasAuth = u.User.Password()
		if cfg.user == "" || cfg.password == "" {
			return cfg, urlError("%q must give both a user and a password (user:password@host) or neither", cfg.redacted)
		}
	}
	cfg.timeout = defaultTimeout
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, urlError("the query %q is malformed; the only parameter is timeout, as in ?timeout=30s", u.RawQuery)
	}
	for k, vs := range q {
		if k != "timeout" {
			return cfg, urlError("unknown parameter %q; the only parameter is timeout, as in ?timeout=30s", k)
		}
		if len(vs) != 1 {
			return cfg, urlError("timeout is given %d times; give it once", len(vs))
		}
		d, err := time.ParseDuration(vs[0])
		if err != nil || d < minTimeout || d > maxTimeout {
			return cfg, urlError("timeout %q must be a Go duration from %s to %s, such as 30s", vs[0], minTimeout, maxTimeout)
		}
		cfg.timeout = d
	}
	return cfg, nil
}

// describeParseError explains why url.Parse rejected raw without
// repeating the password: url.Parse errors quote the whole URL, and a
// malformed password escape would quote part of it. It parses again with
// the user information replaced; if that succeeds, the user information
// was the problem.
func describeParseError(raw string) error {
	rest, hadUserinfo := stripUserinfo(raw)
	if !hadUserinfo {
		if _, err := url.Parse(raw); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return urlError("%q is not a URL (%v); use %s", raw, err, urlForm)
		}
	}
	if _, err := url.Parse(rest); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return urlError("%q is not a URL (%v); use %s", rest, err, urlForm)
	}
	return urlError("the user:password part of %q is malformed; percent-encode special characters such as @ : / %% # ? in the user and password", rest)
}

// stripUserinfo replaces the user information of raw, if any, with
// "user:xxxxx". It finds it the way url.Parse does: the authority runs
// from "//" to the next "/", "?" or "#", and the user information ends at
// its last "@".
func stripUserinfo(raw string) (string, bool) {
	i := strings.Index(raw, "//")
	if i < 0 {
		return raw, false
	}
	auth := raw[i+2:]
	end := strings.IndexAny(auth, "/?#")
	if end < 0 {
		end = len(auth)
	}
	at := strings.LastIndex(auth[:end], "@")
	if at < 0 {
		return raw, false
	}
	return raw[:i+2] + "user:" + redactedPassword + auth[at:], true
}

// redactURL renders u with the password replaced. Unlike url.Redacted it
// also hides a password that is present but empty, so "user:@host" and
// "user:secret@host" look alike.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), redactedPassword)
		}
	}
	return c.String()
}

// parseFrom validates RAMPART_MAIL_FROM.
func parseFrom(from string) (*mail.Address, error) {
	if from == "" {
		return nil, fmt.Errorf("invalid %s: it is required when %s is set; give the sender address, such as \"Rampart <no-reply@example.com>\"", envMailFrom, envSMTPURL)
	}
	a, err := parseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %q must be exactly one address, such as no-reply@example.com or \"Rampart <no-reply@example.com>\"", envMailFrom, from)
	}
	return a, nil
}
