package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
)

func runMail(_ context.Context, m *Main, args []string) int {
	fs := m.flagSet("mail", "mail outbox [--to ADDRESS] [--last N] [--json]", `
Without RAMPART_SMTP_URL, Rampart does not send mail: it writes it to the
outbox <data-dir>/mail/outbox.jsonl (readable by its owner only) and never
to the log. This command prints it, oldest first, magic links included:
run it as the user that runs serve.

  rampart mail outbox                     the last 20 messages
  rampart mail outbox --to ada@acme.example --last 1`)
	loader := config.NewLoader(fs, m.Getenv, config.VarDataDir, config.VarLogLevel, config.VarLogFormat)
	to := fs.String("to", "", "only messages to this address")
	last := fs.Int("last", 20, "at most this many of the newest messages (1-1000)")
	jsonOut := fs.Bool("json", false, "print as JSON")
	cfg, code, done := m.load("mail", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.Arg(0) != "outbox" {
		fmt.Fprintln(m.Stderr, "rampart mail: usage: rampart mail outbox [--to ADDRESS] [--last N] [--json]")
		return exitUsage
	}
	if *last < 1 || *last > 1000 {
		fmt.Fprintf(m.Stderr, "rampart mail: --last %d must be from 1 to 1000\n", *last)
		return exitUsage
	}
	want := ""
	if *to != "" {
		var err error
		if want, err = rampart.NormalizeEmail(*to); err != nil {
			fmt.Fprintf(m.Stderr, "rampart mail: --to %q must be a plain address like name@example.com\n", *to)
			return exitUsage
		}
	}
	all, err := mail.ReadOutbox(outboxDir(cfg))
	if err != nil {
		return m.fail("mail", err)
	}
	var msgs []mail.Stored
	for _, s := range all {
		if want == "" || strings.EqualFold(strings.TrimSpace(s.To), want) {
			msgs = append(msgs, s)
		}
	}
	if len(msgs) > *last {
		msgs = msgs[len(msgs)-*last:]
	}
	if *jsonOut {
		if msgs == nil {
			msgs = []mail.Stored{}
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"messages": msgs})
		return exitOK
	}
	if len(msgs) == 0 {
		fmt.Fprintf(m.Stdout, "no mail in %s\n", outboxDir(cfg))
		return exitOK
	}
	for i, s := range msgs {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		fmt.Fprintf(m.Stdout, "Date:    %s\nTo:      %s\nSubject: %s\n\n%s\n", s.SentAt.Local().Format(time.RFC1123Z), s.To, s.Subject, strings.TrimRight(s.Text, "\n"))
	}
	return exitOK
}
