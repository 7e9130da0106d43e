package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// SMTPSender delivers messages through an SMTP server, one connection per
// message. It is safe for concurrent use. Build it with Open.
//
// Its String, GoString and LogValue show the server URL with the password
// replaced, so printing or logging the sender does not leak it.
type SMTPSender struct {
	cfg       smtpConfig
	from      *mail.Address
	tlsConfig *tls.Config // verified against the system roots; tests add theirs
}

func newSMTPSender(cfg smtpConfig, from *mail.Address) *SMTPSender {
	return &SMTPSender{
		cfg:       cfg,
		from:      from,
		tlsConfig: &tls.Config{ServerName: cfg.host, MinVersion: tls.VersionTLS12},
	}
}

// String returns the server URL with the password replaced by "xxxxx".
func (s *SMTPSender) String() string { return s.cfg.redacted }

// GoString shows the redacted URL too, so %#v cannot print the password.
func (s *SMTPSender) GoString() string { return "mail.SMTPSender(" + s.cfg.redacted + ")" }

// LogValue logs the sender as its redacted URL.
func (s *SMTPSender) LogValue() slog.Value { return slog.StringValue(s.cfg.redacted) }

// Send delivers m through the SMTP server; see Sender for the errors. The
// whole delivery is bounded by the URL's timeout and aborted as soon as
// ctx is done.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	const op = "mail.Send"
	to, err := validate(op, m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	msg := s.buildMessage(to, m)

	sendCtx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	var conn net.Conn // the TCP connection, closed when sendCtx ends
	client, err := gomail.NewClient(s.cfg.host, s.clientOptions(sendCtx, &conn)...)
	if err == nil {
		err = client.DialAndSendWithContext(sendCtx, msg)
	}
	if conn != nil {
		// go-mail leaves the connection open when the handshake fails
		// (for example when STARTTLS is missing); closing is idempotent.
		_ = conn.Close()
	}
	if err != nil {
		return s.deliveryError(op, ctx, sendCtx, err)
	}
	return nil
}

// buildMessage renders m from the sender's address to the validated to.
func (s *SMTPSender) buildMessage(to *mail.Address, m Message) *gomail.Msg {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.EnvelopeFromMailAddress(&mail.Address{Address: s.from.Address})
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDate()
	// The Message-ID names the sender's domain, not this host's name.
	msg.SetMessageIDWithValue(rand.Text() + "@" + domainOf(s.from.Address))
	// RFC 3834: tells auto-responders not to answer a magic-link mail.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg
}

// clientOptions configures a go-mail client for one delivery. The dial
// function opens the TCP connection itself, so that it can close it when
// ctx ends: go-mail uses its context only for dialing, and a stalled
// server would otherwise hold Send until the next I/O deadline.
func (s *SMTPSender) clientOptions(ctx context.Context, conn *net.Conn) []gomail.Option {
	addr := net.JoinHostPort(s.cfg.host, strconv.Itoa(s.cfg.port))
	dial := func(dialCtx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dialCtx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		*conn = c
		context.AfterFunc(ctx, func() { _ = c.Close() })
		if s.cfg.scheme != schemeSMTPS {
			return c, nil
		}
		tc := tls.Client(c, s.tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port),
		gomail.WithTimeout(s.cfg.timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tlsConfig),
	}
	switch s.cfg.scheme {
	case schemeSMTPS:
		// The dial function already did the TLS handshake; WithSSL keeps
		// go-mail from also trying STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case schemeSMTP:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case schemeInsecure:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.hasAuth {
		// PLAIN and LOGIN refuse to send the password over a connection
		// without TLS (except to localhost); smtp+insecure opts out.
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if s.cfg.scheme == schemeInsecure {
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts,
			gomail.WithUsername(s.cfg.user),
			gomail.WithPassword(s.cfg.password),
			gomail.WithOpportunisticSMTPAuth(mechs...))
	}
	return opts
}

// deliveryError wraps a failed delivery. The message names the server by
// its redacted URL and has every form of the password removed, in case a
// server echoes what it received.
func (s *SMTPSender) deliveryError(op string, ctx, sendCtx context.Context, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	// The connection's I/O deadline is the same instant as sendCtx's; it
	// can fire a moment before the context reports it.
	case sendCtx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		err = fmt.Errorf("gave up after %s (the timeout parameter of %s): %w: %w", s.cfg.timeout, envSMTPURL, context.DeadlineExceeded, err)
	}
	return &rampart.Error{
		Op:      op,
		Kind:    rampart.KindUnavailable,
		Message: "the mail could not be sent; try again later",
		Err: &redactedError{
			msg: s.redact(fmt.Sprintf("sending through %s: %v", s.cfg.redacted, err)),
			err: err,
		},
	}
}

// redact removes the password, and the encodings in which SMTP AUTH
// sends it, from text.
func (s *SMTPSender) redact(text string) string {
	p := s.cfg.password
	if p == "" {
		return text
	}
	for _, form := range []string{
		base64.StdEncoding.EncodeToString([]byte("\x00" + s.cfg.user + "\x00" + p)), // AUTH PLAIN
		base64.StdEncoding.EncodeToString([]byte(p)),                                // AUTH LOGIN
		url.UserPassword("", p).String()[1:],                                        // ":" + escaped password
		p,
	} {
		text = strings.ReplaceAll(text, form, redactedPassword)
	}
	return text
}

// unavailable reports that a message was not sent because err (usually
// the context's) ended the attempt first.
func unavailable(op string, err error) error {
	return &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the mail could not be sent; try again later", Err: fmt.Errorf("not sent: %w", err)}
}

// redactedError shows a scrubbed message but keeps the chain for
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// domainOf returns the part of addr after its last "@".
func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
