// Package mail sends Rampart's outgoing mail: today that is the magic-link
// message that signs a user in.
//
// Open turns the RAMPART_SMTP_URL and RAMPART_MAIL_FROM settings into a
// Sender. With an SMTP URL the Sender is an *SMTPSender that delivers
// through that server (using github.com/wneessen/go-mail). Without one it
// is an *Outbox: every message, magic link included, is appended to
// <data-dir>/mail/outbox.jsonl (directory 0700, file 0600), read with
// `rampart mail outbox` and shown on the demo mailbox. The log records
// only that a message was written, never its body: a magic link is a
// bearer credential and logs travel far.
//
// The package guarantees:
//
//   - No header injection. Every Sender refuses a Message whose To or
//     Subject contains CR, LF or any other control character, and a To that
//     is not exactly one address, before anything is sent or logged. The
//     SMTP envelope recipient is always the single parsed To address.
//   - TLS by default. smtp:// requires STARTTLS and fails rather than
//     falling back to plain text; smtps:// uses implicit TLS. Certificates
//     are verified and TLS 1.2 is the minimum. Only smtp+insecure:// speaks
//     plain text, and it exists for local test servers such as MailHog or
//     Mailpit, never for a real relay.
//   - Credentials are never logged or returned. The password from the URL
//     is only sent to the server inside SMTP AUTH (PLAIN or LOGIN, which
//     over smtp:// and smtps:// go out only after TLS is up); error messages
//     and the sender's String and LogValue show the URL with the password
//     replaced by "xxxxx".
//   - Cancellation is prompt. Send aborts the connection as soon as its
//     context is done, at any stage of the SMTP conversation, and the URL's
//     timeout bounds one whole delivery.
package mail
