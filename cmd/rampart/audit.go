package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/store"
)

var auditVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarAuditRetain}

func runAudit(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("audit", "audit verify|export|seal|purge [flags]", `
  rampart audit verify [--org ID] [--json]
      Recompute every event's MAC and the seal chain of every organization
      (or one); exit 1 naming the first changed, deleted or inserted event.
  rampart audit export --org ID [--since T] [--until T] [--actor ID] [--action A] [-o FILE]
      Write the organization's events as CSV (RFC 4180, formula-safe) to
      stdout or FILE. Times are RFC 3339 (2026-01-31T00:00:00Z) or dates.
  rampart audit seal
      Seal every event committed so far into the hash chain (serve does
      this every RAMPART_AUDIT_SEAL_INTERVAL).
  rampart audit purge
      Run retention now: delete sealed events older than
      RAMPART_AUDIT_RETENTION_MONTHS, leaving a checkpoint (serve runs it daily).

These run on the service path: with DATABASE_URL they need
RAMPART_SERVICE_DATABASE_URL and RAMPART_AUDIT_KEYS.`)
	loader := config.NewLoader(fs, m.Getenv, auditVars...)
	orgFlag := fs.String("org", "", "organization id")
	jsonOut := fs.Bool("json", false, "verify: print the report as JSON")
	since := fs.String("since", "", "export: events at or after this time")
	until := fs.String("until", "", "export: events before this time")
	actor := fs.String("actor", "", "export: only this actor id")
	action := fs.String("action", "", "export: only this action")
	output := fs.String("o", "", "export: write to this file instead of stdout")
	cfg, code, done := m.load("audit", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "rampart audit: usage: rampart audit verify|export|seal|purge (see --help)")
		return exitUsage
	}
	sub := fs.Arg(0)
	var org *uuid.UUID
	if *orgFlag != "" {
		id, err := uuid.Parse(*orgFlag)
		if err != nil {
			fmt.Fprintf(m.Stderr, "rampart audit: --org %q is not an organization id (a UUID)\n", *orgFlag)
			return exitUsage
		}
		org = &id
	}
	var f store.AuditFilter
	switch sub {
	case "verify", "seal", "purge":
	case "export":
		if org == nil {
			fmt.Fprintln(m.Stderr, "rampart audit export: --org is required")
			return exitUsage
		}
		var err error
		if f.Since, err = parseTime(*since); err != nil {
			fmt.Fprintf(m.Stderr, "rampart audit export: --since: %v\n", err)
			return exitUsage
		}
		if f.Until, err = parseTime(*until); err != nil {
			fmt.Fprintf(m.Stderr, "rampart audit export: --until: %v\n", err)
			return exitUsage
		}
		if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
			fmt.Fprintln(m.Stderr, "rampart audit export: --since must be before --until")
			return exitUsage
		}
		f.ActorID, f.Action = *actor, *action
		if f.Action != "" && !validAction(f.Action) {
			fmt.Fprintf(m.Stderr, "rampart audit export: --action %q is not an audit action\n", f.Action)
			return exitUsage
		}
	default:
		fmt.Fprintf(m.Stderr, "rampart audit: unknown subcommand %q: use verify, export, seal or purge\n", sub)
		return exitUsage
	}

	keys, err := loadAuditKeys(cfg)
	if err != nil {
		return m.fail("audit", err)
	}
	db, err := openDatabase(ctx, cfg, m.logger(cfg), pgcluster.Purpose{Name: "audit"}, false)
	if err != nil {
		return m.fail("audit", err)
	}
	defer db.close()
	if db.serviceURL == "" {
		return m.fail("audit", errors.New("RAMPART_SERVICE_DATABASE_URL is required with DATABASE_URL"))
	}
	st, err := store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: 2, Actor: "rampart audit " + sub, Audit: keys})
	if err != nil {
		return m.fail("audit", err)
	}
	defer st.Close()

	switch sub {
	case "seal":
		// A transaction left open anywhere in the cluster holds the seal
		// horizon back: give up after two minutes and say why.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		n, err := st.SealAuditNow(sctx)
		if err != nil {
			return m.fail("audit seal", err)
		}
		fmt.Fprintf(m.Stdout, "sealed %d events\n", n)
	case "purge":
		res, err := st.PurgeAudit(ctx, time.Now().AddDate(0, -cfg.AuditRetentionMonths, 0))
		if err != nil {
			return m.fail("audit purge", err)
		}
		for _, r := range res {
			fmt.Fprintf(m.Stdout, "purged %d events of chain %s (through seal %d)\n", r.Events, r.Chain, r.ThroughSeal)
		}
		if len(res) == 0 {
			fmt.Fprintf(m.Stdout, "nothing older than %d months to purge\n", cfg.AuditRetentionMonths)
		}
	case "export":
		return m.auditExport(ctx, st, *org, f, *output)
	case "verify":
		return m.auditVerify(ctx, st, org, *jsonOut)
	}
	return exitOK
}

func (m *Main) auditVerify(ctx context.Context, st *store.Store, org *uuid.UUID, jsonOut bool) int {
	shown := false
	progress := func(done, total int64) {
		if total < 100_000 {
			return
		}
		shown = true
		fmt.Fprintf(m.Stderr, "\rverifying audit log: %d/%d events (%d%%)", done, total, done*100/max(total, 1))
	}
	start := time.Now()
	rep, err := st.VerifyAudit(ctx, org, progress)
	if shown {
		fmt.Fprintln(m.Stderr)
	}
	if err != nil {
		return m.fail("audit verify", err)
	}
	elapsed := time.Since(start)
	if jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"ok": rep.OK(), "events": rep.Events, "chains": rep.Chains, "seconds": elapsed.Seconds()})
	} else {
		for _, c := range rep.Chains {
			status := "ok"
			if !c.OK() {
				status = "BROKEN"
			}
			fmt.Fprintf(m.Stdout, "%-36s %-6s %d events (%d sealed in %d seals, %d pending), head %x\n",
				c.Chain, status, c.Events, c.Sealed, c.Seals, c.Pending, c.HeadMAC)
			for _, p := range c.Purges {
				fmt.Fprintf(m.Stdout, "  retention purged %d events (seals ≤ %d, older than %s) at %s\n",
					p.Events, p.ThroughSeal, p.Before.Format(time.RFC3339), p.At.Format(time.RFC3339))
			}
		}
		rate := float64(rep.Events) / max(elapsed.Seconds(), 1e-9)
		fmt.Fprintf(m.Stdout, "verified %d events in %d chains in %s (%.0f events/s)\n", rep.Events, len(rep.Chains), elapsed.Round(time.Millisecond), rate)
	}
	if !rep.OK() {
		var all []string
		for _, c := range rep.Chains {
			for _, p := range c.Problems {
				all = append(all, p.String())
			}
		}
		fmt.Fprintf(m.Stderr, "rampart audit verify: FAILED: first problem: %s\n", all[0])
		if len(all) > 1 {
			fmt.Fprintf(m.Stderr, "  and %d more:\n    %s\n", len(all)-1, strings.Join(all[1:], "\n    "))
		}
		return exitFail
	}
	return exitOK
}

func (m *Main) auditExport(ctx context.Context, st *store.Store, org uuid.UUID, f store.AuditFilter, output string) int {
	var w io.Writer = m.Stdout
	var file *os.File
	if output != "" {
		var err error
		// Write next to the target and rename at the end: no half file on failure.
		file, err = os.CreateTemp(filepath.Dir(output), ".rampart-export-*")
		if err != nil {
			return m.fail("audit export", err)
		}
		defer os.Remove(file.Name())
		w = file
	}
	cw, err := audit.NewCSVWriter(w)
	if err != nil {
		return m.fail("audit export", err)
	}
	n := 0
	err = st.ExportAudit(ctx, org, f, "audit export (CLI)", func(s *audit.Stored) error {
		n++
		return cw.Write(s)
	})
	if err == nil {
		err = cw.Flush()
	}
	if err != nil {
		return m.fail("audit export", err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return m.fail("audit export", err)
		}
		if err := os.Rename(file.Name(), output); err != nil {
			return m.fail("audit export", err)
		}
	}
	fmt.Fprintf(m.Stderr, "exported %d events\n", n)
	return exitOK
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2026-01-31T00:00:00Z) or a date (2026-01-31)", s)
}

func validAction(a string) bool {
	for _, x := range audit.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// loadAuditKeys returns the audit keyring from RAMPART_AUDIT_KEYS or, in
// embedded mode, the generated key file.
func loadAuditKeys(cfg config.Config) (*audit.Keyring, error) {
	var keys auth.Keys
	switch {
	case cfg.AuditKeys != "":
		k, err := auth.ParseSessionKeys(cfg.AuditKeys)
		if err != nil {
			return nil, fmt.Errorf("invalid RAMPART_AUDIT_KEYS (--audit-keys): %w", err)
		}
		keys.Audit = k
	case cfg.Embedded():
		var err error
		if keys, err = auth.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "secrets", "keys.json")); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("RAMPART_AUDIT_KEYS is required with DATABASE_URL")
	}
	return auditKeyring(keys)
}
