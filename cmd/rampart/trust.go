package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rampart-dev/rampart/internal/api"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/trust"
)

var trustVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarSessionKeys, config.VarTokenKeys, config.VarAuditKeys,
	config.VarFieldKeys, config.VarSecretsKey, config.VarRateLimits, config.VarRedisURL, config.VarGuardThreshold}

// restoreDrillSource reads the last restore drill for the report: the
// newest row `rampart restore-drill` (or `rampart restore`) recorded
// through store.Operations, on the service path.
func restoreDrillSource(st *store.Store) trust.DrillSource { return drillSource{st} }

type drillSource struct{ st *store.Store }

func (d drillSource) LastRestoreDrill(ctx context.Context) (trust.Drill, bool, error) {
	r, ok, err := d.st.Operations().LastRestoreDrill(ctx)
	if err != nil || !ok {
		return trust.Drill{}, ok, err
	}
	return trust.Drill{At: r.FinishedAt, OK: r.OK, Seconds: time.Duration(r.RestoreTime).Seconds(), Summary: r.Summary}, true, nil
}

func runTrustReport(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("trust-report", "trust-report [--format md|html|json] [--out FILE] | trust-report verify FILE", `
Exercises every control on this install (the embedded cluster, or
DATABASE_URL) and reports each as met, not met or not configured, mapped to
the OWASP LLM Top 10 (2025) and the SOC 2 Trust Services Criteria
(docs/trust-report.md): the runtime role and rls-audit; a cross-tenant probe
of every tenant table with forged claims, as the runtime role, in a
transaction that is rolled back; audit chain verification; the kill-switch
state and a timed canary on a synthetic job; the security headers of the
real handler; rate-limit tiers; key ids and ages (never keys); the last
restore drill; the guard's scorecard; versions.

The report is signed with the audit key (HMAC-SHA256, with its key id) and
its run is recorded as an audit event (trust.report.generated) holding the
report's id and SHA-256.

  rampart trust-report [--format md|html|json] [--out FILE]
  rampart trust-report verify FILE     check a report's signature

Exit codes: 0 every control met or not configured (verify: the signature
holds), 1 a control not met (verify: it does not), 2 usage.

With DATABASE_URL it needs RAMPART_SERVICE_DATABASE_URL and the keys
(RAMPART_SESSION_KEYS, RAMPART_TOKEN_KEYS, RAMPART_AUDIT_KEYS,
RAMPART_FIELD_KEYS, RAMPART_SECRETS_KEY) that serve uses.`)
	loader := config.NewLoader(fs, m.Getenv, trustVars...)
	format := fs.String("format", trust.FormatMarkdown, "md, html or json")
	out := fs.String("out", "", "write the report to FILE (replaced atomically) instead of stdout")
	cfg, code, done := m.load("trust-report", fs, loader, args, 2)
	if done {
		return code
	}
	if fs.NArg() > 0 {
		if fs.Arg(0) != "verify" || fs.NArg() != 2 {
			fmt.Fprintln(m.Stderr, "rampart trust-report: usage: rampart trust-report [--format md|html|json] [--out FILE] | rampart trust-report verify FILE")
			return exitUsage
		}
		return m.trustVerify(cfg, fs.Arg(1))
	}
	if !slices.Contains(trust.Formats, *format) {
		fmt.Fprintf(m.Stderr, "rampart trust-report: --format %q: use md, html or json\n", *format)
		return exitUsage
	}
	return m.trustReport(ctx, cfg, *format, *out)
}

func (m *Main) trustReport(ctx context.Context, cfg config.Config, format, out string) int {
	const name = "trust-report"
	log := m.logger(cfg)
	keys, err := loadKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration: %v\n", name, err)
		return exitUsage
	}
	auditKeys, err := auditKeyring(keys)
	if err != nil {
		return m.fail(name, err)
	}
	fieldKeys, err := loadFieldKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration: %v\n", name, err)
		return exitUsage
	}
	secretsKeys, err := loadSecretsKey(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration: %v\n", name, err)
		return exitUsage
	}
	db, err := openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: name}, false)
	if err != nil {
		return m.fail(name, err)
	}
	defer db.close()
	if db.serviceURL == "" {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration:\nRAMPART_SERVICE_DATABASE_URL (--service-database-url) is required with DATABASE_URL: the report's audit event and the audit verification run on the service path\n", name)
		return exitUsage
	}
	st, err := store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: 4, Actor: "rampart " + name,
		Logger: log, Audit: auditKeys, FieldKeys: fieldKeys, SecretsKeys: secretsKeys})
	if err != nil {
		return m.fail(name, err)
	}
	defer st.Close()
	sealer, err := auth.NewSealer(keys.Session)
	if err != nil {
		return m.fail(name, err)
	}
	tokens, err := auth.NewTokens(keys.Token, tokenIssuer, tokenAudience)
	if err != nil {
		return m.fail(name, err)
	}
	// The real handler, as serve builds it, served in-process for the
	// header sample; it sends no mail, and its three request lines are
	// not worth logging (warnings and errors still are).
	quiet := cfg
	quiet.LogLevel = max(cfg.LogLevel, slog.LevelWarn)
	handler := api.New(api.Options{Store: st, Sealer: sealer, Tokens: tokens, Mailer: noMail{}, Logger: m.logger(quiet), Version: Version(),
		BaseURL: "https://rampart.invalid", Tiers: cfg.RateLimits})
	env := &trust.Env{Store: st, Handler: handler, Tiers: cfg.RateLimits, LimiterBackend: "in-process", AuditKeys: auditKeys,
		FieldKeys: fieldKeys, SecretsKeys: secretsKeys, GuardThreshold: cfg.AI.GuardThreshold, Version: Version()}
	if cfg.RedisURL != "" {
		env.LimiterBackend = "redis"
	}
	for _, k := range keys.Session {
		env.SessionKeyIDs = append(env.SessionKeyIDs, k.ID)
	}
	for _, k := range keys.Token {
		env.TokenKeyIDs = append(env.TokenKeyIDs, k.ID)
	}
	if cfg.SessionKeys == "" && cfg.Embedded() {
		// The generated key file is written once: its time is the keys'.
		if fi, err := os.Stat(keyFilePath(cfg)); err == nil {
			env.KeysCreated = fi.ModTime()
		}
	}
	if d := restoreDrillSource(st); d != nil {
		env.Drills = d
	}

	rep := trust.Run(ctx, env, trust.Checks)
	signed, err := trust.Render(rep, format, auditKeys)
	if err != nil {
		return m.fail(name, err)
	}
	summary, err := json.Marshal(map[string]any{"format": format, "met": rep.Summary.Met, "not_met": rep.Summary.NotMet,
		"not_configured": rep.Summary.NotConfigured, "not_met_ids": notMetIDs(rep)})
	if err != nil {
		return m.fail(name, err)
	}
	// The run is recorded before the report is written: a report without
	// its event is one that was never produced by this command.
	if err := st.RecordTrustReport(ctx, rep.ID, signed.SHA256, signed.KeyID, summary); err != nil {
		return m.fail(name, fmt.Errorf("record the report's audit event: %w", err))
	}
	write := func(w io.Writer) error { _, err := w.Write(signed.Bytes); return err }
	if out == "" {
		err = write(m.Stdout)
	} else {
		err = writeFileAtomic(out, 0o644, write)
	}
	if err != nil {
		return m.fail(name, err)
	}
	fmt.Fprintf(m.Stderr, "trust report %s: %d met, %d not met, %d not configured (signed with audit key %s, sha256 %s)\n",
		rep.ID, rep.Summary.Met, rep.Summary.NotMet, rep.Summary.NotConfigured, signed.KeyID, signed.SHA256)
	if !rep.OK() {
		fmt.Fprintf(m.Stderr, "rampart trust-report: not met: %s\n", strings.Join(notMetIDs(rep), ", "))
		return exitFail
	}
	return exitOK
}

func notMetIDs(rep trust.Report) []string {
	ids := []string{}
	for _, c := range rep.Controls {
		if c.Status == trust.NotMet {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// trustVerify checks a report file's signature against the audit keys
// (no database needed).
func (m *Main) trustVerify(cfg config.Config, path string) int {
	keys, err := loadAuditKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart trust-report verify: configuration: %v\n", err)
		return exitUsage
	}
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart trust-report verify: %v\n", err)
		return exitUsage
	}
	v, err := trust.Verify(b, keys)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart trust-report verify: %s: FAILED: %v\n", path, err)
		return exitFail
	}
	fmt.Fprintf(m.Stdout, "%s: signature OK (%s, audit key %s)\n", path, v.Format, v.KeyID)
	if v.Report != nil {
		fmt.Fprintf(m.Stdout, "report %s generated %s: %d met, %d not met, %d not configured\n", v.Report.ID,
			v.Report.GeneratedAt.Format(time.RFC3339), v.Report.Summary.Met, v.Report.Summary.NotMet, v.Report.Summary.NotConfigured)
	}
	return exitOK
}

// noMail is the report's mail sender: the header sample sends none.
type noMail struct{}

func (noMail) Send(context.Context, mail.Message) error {
	return &rampart.Error{Op: "trust-report", Kind: rampart.KindUnavailable, Message: "the trust report sends no mail", Err: errors.New("no mail")}
}
