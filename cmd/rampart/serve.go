package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-dev/rampart/internal/api"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/auth"
	"github.com/rampart-dev/rampart/internal/billing"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/demo"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/observe"
	"github.com/rampart-dev/rampart/internal/pgcluster"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/ratelimit"
	"github.com/rampart-dev/rampart/internal/refusal"
	"github.com/rampart-dev/rampart/internal/rlsaudit"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

var serverVars = append([]config.Var{config.VarAddr, config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarDBMaxConns, config.VarPublicURL,
	config.VarSMTPURL, config.VarMailFrom, config.VarSignup, config.VarSessionKeys, config.VarTokenKeys, config.VarAuditKeys, config.VarFieldKeys,
	config.VarAuditRetain, config.VarAuditSeal, config.VarRateLimits, config.VarTLSCert, config.VarTLSKey,
	config.VarHTTPRedirect, config.VarTrustedProxies, config.VarRedisURL, config.VarSentryDSN, config.VarEnv,
	config.VarMetricsAddr, config.VarMetricsToken, config.VarAttachmentMax, config.VarSecretsKey, config.VarIntegrations}, slices.Concat(config.AIVars, config.BillingVars)...)

func runServe(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("serve", "serve [flags]", `
Runs the API, the console and the in-process job worker. With DATABASE_URL
unset it initialises (first run) and starts a private PostgreSQL cluster in
<data-dir>/pg, reachable on a unix socket only, applies migrations, and stops
the cluster on Ctrl-C / SIGTERM. With DATABASE_URL set it uses that server as
the runtime login and refuses to start if the login is a superuser, can
bypass row-level security, owns objects, or the schema fails rls-audit.`)
	loader := config.NewLoader(fs, m.Getenv, serverVars...)
	demoFlag := fs.Bool("demo", false, "seed a demo organization with one user per role and print its admin's sign-in link")
	cfg, code, done := m.load("serve", fs, loader, args, 0)
	if done {
		return code
	}
	if *demoFlag {
		// The demo seeds known accounts and shows their sign-in links: it
		// is for a private, local install only.
		if !cfg.Embedded() {
			fmt.Fprintln(m.Stderr, "rampart serve: --demo runs only on the embedded cluster: unset DATABASE_URL")
			return exitUsage
		}
		if host, _, _ := net.SplitHostPort(cfg.Addr); !isLoopback(host) {
			fmt.Fprintf(m.Stderr, "rampart serve: --demo listens only on a loopback address (127.0.0.1, ::1 or localhost), not %q\n", cfg.Addr)
			return exitUsage
		}
	}
	return m.serve(ctx, cfg, *demoFlag, true)
}

func runWorker(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("worker", "worker [flags]", `
Runs the job worker only, for scale-out, against the same database as serve
(DATABASE_URL, or the embedded cluster of --data-dir that a running serve
manages). It passes the same start-up safety checks as serve, and takes its
turn at the cluster's periodic work (audit sealing, retention, the AI job
sweep), which runs once per interval whatever the number of processes.`)
	vars := []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
		config.VarLogLevel, config.VarLogFormat, config.VarDBMaxConns, config.VarSessionKeys, config.VarTokenKeys, config.VarAuditKeys, config.VarFieldKeys,
		config.VarAuditSeal, config.VarAuditRetain}
	loader := config.NewLoader(fs, m.Getenv, append(vars, config.AIVars...)...)
	cfg, code, done := m.load("worker", fs, loader, args, 0)
	if done {
		return code
	}
	return m.serve(ctx, cfg, false, false)
}

// serve runs the long-lived process: HTTP (when withHTTP) and the worker.
func (m *Main) serve(ctx context.Context, cfg config.Config, seedDemo, withHTTP bool) int {
	name := "serve"
	if !withHTTP {
		name = "worker"
	}
	log := m.logger(cfg).With("cmd", name)
	db, err := openDatabase(ctx, cfg, log, pgcluster.Purpose{Name: name, LongRunning: true, AttachOnly: !withHTTP}, withHTTP)
	if err != nil {
		return m.fail(name, err)
	}
	defer db.close()
	keys, err := loadKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: refusing to start: %v\n", name, err)
		return exitFail
	}
	auditKeys, err := auditKeyring(keys)
	if err != nil {
		return m.fail(name, err)
	}
	if db.serviceURL == "" {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration:\nRAMPART_SERVICE_DATABASE_URL (--service-database-url) is required with DATABASE_URL: the URL of the service login, a NOINHERIT member of rampart_service only (see README, \"Using an external PostgreSQL\")\n", name)
		return exitUsage
	}
	fieldKeys, err := loadFieldKeys(cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: refusing to start: %v\n", name, err)
		return exitFail
	}
	// Integration credentials are served by serve only (the worker runs
	// no integration work).
	var secretsKey *fieldcrypt.Ring
	if withHTTP {
		if secretsKey, err = loadSecretsKey(cfg); err != nil {
			fmt.Fprintf(m.Stderr, "rampart %s: refusing to start: %v\n", name, err)
			return exitFail
		}
	}
	st, err := store.Open(ctx, db.appURL, store.Options{ServiceURL: db.serviceURL, MaxConns: cfg.DBMaxConns, Actor: "rampart " + name,
		Logger: log, Audit: auditKeys, FieldKeys: fieldKeys, SecretsKeys: secretsKey})
	if err != nil {
		return m.fail(name, err)
	}
	defer st.Close()
	if err := checkRuntime(ctx, st); err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: refusing to start: %v\n", name, err)
		return exitFail
	}
	checkFieldKeys(ctx, st, fieldKeys, m.Stderr)
	// Metrics exist in every process; serve exposes them (RAMPART_METRICS_*).
	metrics := observe.NewMetrics()
	ai, err := startAI(ctx, cfg.AI, st, log, name, metrics.Registry())
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: %v\n", name, err)
		return exitUsage
	}
	defer ai.stop()
	var srv *http.Server
	srvErr := make(chan error, 1)
	if withHTTP {
		sealer, err := auth.NewSealer(keys.Session)
		if err != nil {
			return m.fail(name, err)
		}
		tokens, err := auth.NewTokens(keys.Token, tokenIssuer, tokenAudience)
		if err != nil {
			return m.fail(name, err)
		}
		flushSentry, err := observe.InitSentry(cfg.SentryDSN, cfg.Env, Version())
		if err != nil {
			fmt.Fprintf(m.Stderr, "rampart %s: configuration:\n%v\n", name, err)
			return exitUsage
		}
		defer flushSentry()
		var limiter ratelimit.Limiter
		if cfg.RedisURL != "" {
			rl, err := ratelimit.NewRedis(ctx, cfg.RedisURL)
			if err != nil {
				return m.fail(name, err)
			}
			defer rl.Close()
			limiter = rl
		}
		if cfg.MetricsAddr != "" {
			ml, err := net.Listen("tcp", cfg.MetricsAddr)
			if err != nil {
				return m.fail(name, fmt.Errorf("listen on %s (RAMPART_METRICS_ADDR): %w", cfg.MetricsAddr, err))
			}
			msrv := &http.Server{Handler: metricsMux(metrics, cfg.MetricsToken), ReadHeaderTimeout: 5 * time.Second,
				ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
			go func() { _ = msrv.Serve(ml) }()
			defer msrv.Close()
		}
		mailer, err := mail.Open(cfg.SMTPURL, cfg.MailFrom, outboxDir(cfg), log)
		if err != nil {
			fmt.Fprintf(m.Stderr, "rampart %s: configuration:\n%v\n", name, err)
			return exitUsage
		}

		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return m.fail(name, fmt.Errorf("listen on %s (RAMPART_ADDR / --addr): %w", cfg.Addr, err))
		}
		m.mu.Lock()
		m.addr = ln.Addr()
		m.mu.Unlock()
		base := cfg.PublicURL
		if base == "" {
			scheme := "http://"
			if cfg.TLSCert != "" {
				scheme = "https://"
			}
			base = scheme + ln.Addr().String()
		}
		var demoKey string
		if seedDemo {
			// The demo mailbox's secret: printed below, never logged.
			demoKey = auth.RandomSecret()
		}
		providers, err := oauth.New(cfg.Integrations, base, oauth.Options{})
		if err != nil {
			fmt.Fprintf(m.Stderr, "rampart %s: configuration:\n%v\n", name, err)
			return exitUsage
		}
		// Rate-limit refusals of authenticated requests are counted in
		// memory and flushed every 10 s and once more after the server
		// has stopped (decision 0029).
		refusals := refusal.NewCounter(refusal.DefaultMaxKeys)
		metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ratelimit_refusals_unrecorded_total",
			Help: "Rate-limit refusals of authenticated requests not recorded per organization (the in-memory counter was full)."},
			func() float64 { return float64(refusals.Dropped()) }))
		rctx, stopRefusals := context.WithCancel(context.WithoutCancel(ctx))
		refusalsDone := make(chan struct{})
		go func() { defer close(refusalsDone); refusals.Run(rctx, st, log, refusal.FlushEvery) }()
		// Deferred before the shutdown below runs: the last flush follows it.
		defer func() { stopRefusals(); <-refusalsDone }()
		handler := api.New(api.Options{Store: st, Refusals: refusals, Sealer: sealer, Tokens: tokens, Mailer: mailer, Logger: log,
			Version: Version(), BaseURL: base, Demo: seedDemo, DemoKey: demoKey, Signup: signin.Mode(cfg.Signup), ConfigWarnings: cfg.Warnings(), Tiers: cfg.RateLimits, TrustedProxies: cfg.TrustedProxies,
			Limiter: limiter, Metrics: metrics, MetricsToken: mainMetricsToken(cfg), AI: ai.queue, Watcher: ai.watcher, Chat: ai.chat,
			MaxUpload: cfg.AttachmentMaxBytes, Integrations: providers,
			Billing: billing.New(st, billing.Options{Secrets: cfg.Billing.StripeSecrets, Tolerance: cfg.Billing.Tolerance, Grace: cfg.Billing.Grace})})
		var signIn string
		if seedDemo {
			res, err := demo.Seed(ctx, st)
			if err != nil {
				return m.fail(name, err)
			}
			log.Info("demo organization ready", "organization", res.Organization.Slug, "created", res.Created)
			if signIn, err = handler.SendLoginLink(ctx, res.Users[rampart.RoleAdmin].Email, store.ClientInfo{UserAgent: "rampart serve --demo"}); err != nil {
				return m.fail(name, err)
			}
		}
		srv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		if cfg.TLSCert != "" {
			srv.TLSConfig = serverTLSConfig(nil)
			go func() { srvErr <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey) }()
			if cfg.HTTPRedirectAddr != "" {
				rl, err := net.Listen("tcp", cfg.HTTPRedirectAddr)
				if err != nil {
					return m.fail(name, fmt.Errorf("listen on %s (RAMPART_HTTP_REDIRECT_ADDR): %w", cfg.HTTPRedirectAddr, err))
				}
				redirect := &http.Server{Handler: redirectToHTTPS(base), ReadHeaderTimeout: 5 * time.Second,
					ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
				go func() { _ = redirect.Serve(rl) }()
				defer redirect.Close()
			}
		} else {
			go func() { srvErr <- srv.Serve(ln) }()
		}
		m.banner(cfg, db, base, signIn, demoKey)
		if m.OnListen != nil {
			m.OnListen(ln.Addr())
		}
		log.Info("listening", "addr", ln.Addr().String(), "embedded_db", db.embedded())
	} else {
		log.Info("worker ready", "embedded_db", db.embedded(), "job_kinds", "proposal_generation")
		if m.OnListen != nil {
			m.OnListen(nil)
		}
	}

	// Periodic work runs once per cluster: every serve and worker ticks,
	// the one that claims a task runs it (store.ClaimPeriodic).
	mctx, stopMaintenance := context.WithCancel(ctx)
	maintenanceDone := make(chan struct{})
	go func() {
		defer close(maintenanceDone)
		runPeriodic(mctx, st, log, processName(name), maintenanceTasks(st, log, cfg.AuditSealInterval, cfg.AuditRetentionMonths, cfg.AI.JobTimeout))
	}()
	defer func() { stopMaintenance(); <-maintenanceDone }()

	var clusterExited <-chan struct{}
	if db.cluster != nil {
		clusterExited = db.cluster.Exited()
	}
	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-srvErr:
		log.Error("http server stopped", "err", err)
		code = exitFail
	case <-clusterExited:
		log.Error("embedded PostgreSQL exited unexpectedly; see <data-dir>/log/postgres.log")
		code = exitFail
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("http shutdown", "err", err)
		}
		if h, ok := srv.Handler.(*api.Server); ok {
			_ = h.DrainMail(sctx) // sign-in mail still being sent; the deadline bounds the wait
		}
	}
	return code
}

// metricsMux serves /metrics alone, for the separate metrics listener.
func metricsMux(m *observe.Metrics, token string) http.Handler {
	//rampart:router-bypass the separate metrics listener (RAMPART_METRICS_ADDR) serves /metrics alone, behind its token
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(token)) //rampart:router-bypass the same metrics listener
	return mux
}

// mainMetricsToken is the token that puts /metrics on the main listener:
// only when there is no separate metrics address.
func mainMetricsToken(cfg config.Config) string {
	if cfg.MetricsAddr != "" {
		return ""
	}
	return cfg.MetricsToken
}

// redirectToHTTPS answers every plain-HTTP request with a permanent
// redirect to the same path on the HTTPS base URL (never to the request's
// Host header, which the client controls).
func redirectToHTTPS(base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := base + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
		http.Redirect(w, r, target, http.StatusPermanentRedirect) // #nosec G710 -- target is the configured HTTPS base URL plus the request's path, never the Host header
	})
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The API-token JWT issuer and audience.
const (
	tokenIssuer   = "rampart"
	tokenAudience = "rampart-api"
)

// loadKeys returns the signing keys: from RAMPART_SESSION_KEYS and
// RAMPART_TOKEN_KEYS, else (embedded mode only) from a key file generated
// once in the data directory.
func loadKeys(cfg config.Config) (auth.Keys, error) {
	if cfg.SessionKeys != "" {
		var k auth.Keys
		var err error
		if k.Session, err = auth.ParseSessionKeys(cfg.SessionKeys); err != nil {
			return auth.Keys{}, fmt.Errorf("invalid RAMPART_SESSION_KEYS (--session-keys): %w", err)
		}
		if k.Token, err = auth.ParseTokenKeys(cfg.TokenKeys); err != nil {
			return auth.Keys{}, fmt.Errorf("invalid RAMPART_TOKEN_KEYS (--token-keys): %w", err)
		}
		if k.Audit, err = auth.ParseSessionKeys(cfg.AuditKeys); err != nil {
			return auth.Keys{}, fmt.Errorf("invalid RAMPART_AUDIT_KEYS (--audit-keys): %w", err)
		}
		return k, nil
	}
	if !cfg.Embedded() {
		return auth.Keys{}, errors.New("RAMPART_SESSION_KEYS, RAMPART_TOKEN_KEYS and RAMPART_AUDIT_KEYS are required with DATABASE_URL (each kid:base64 of 32 random bytes, e.g. k1:$(openssl rand -base64 32))")
	}
	return auth.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "secrets", "keys.json"))
}

// auditKeyring builds the audit MAC keyring from the loaded keys.
func auditKeyring(k auth.Keys) (*audit.Keyring, error) {
	keys := make([]audit.Key, len(k.Audit))
	for i, h := range k.Audit {
		keys[i] = audit.Key{ID: h.ID, Secret: h.Secret}
	}
	return audit.NewKeyring(keys)
}

// checkRuntime is start-up safety: the schema is at this binary's version
// and the live catalog passes rls-audit (the runtime login is not a
// superuser, cannot bypass RLS, owns nothing; every tenant table has forced
// RLS and its policies).
func checkRuntime(ctx context.Context, st *store.Store) error {
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	snap, err := st.Catalog(ctx)
	if err != nil {
		return fmt.Errorf("read the catalog for the safety check: %w", err)
	}
	rep := rlsaudit.Evaluate(snap)
	if rep.OK() {
		return nil
	}
	var b strings.Builder
	b.WriteString("the database fails the tenant-isolation safety check (`rampart rls-audit` shows the full report):")
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\n  - %s", f.Message)
	}
	return errors.New(b.String())
}

func (m *Main) banner(cfg config.Config, db *database, base, signIn, demoKey string) {
	w := m.Stdout
	fmt.Fprintf(w, "\nRampart %s is running.\n", Version())
	fmt.Fprintf(w, "  URL:          %s\n", base)
	fmt.Fprintf(w, "  Health:       %s/api/health\n", base)
	if signIn != "" {
		fmt.Fprintf(w, "  Sign in:      %s\n", signIn)
		fmt.Fprintf(w, "                (admin@%s, single use, 10 minutes)\n", demo.Domain)
	}
	if demoKey != "" {
		fmt.Fprintf(w, "  Mailbox:      %s/demo?key=%s\n", base, demoKey)
		fmt.Fprintf(w, "                (every mail Rampart \"sends\"; this machine and this secret only)\n")
	}
	if cfg.SMTPURL == "" {
		fmt.Fprintf(w, "  Mail:         not sent (no RAMPART_SMTP_URL): `rampart mail outbox` shows it\n")
	}
	if db.embedded() {
		fmt.Fprintf(w, "  Database:     embedded PostgreSQL in %s (unix socket only; `rampart db url` prints its URL)\n", cfg.DataDir)
	} else {
		fmt.Fprintf(w, "  Database:     DATABASE_URL\n")
	}
	fmt.Fprintf(w, "  Stop:         Ctrl-C\n\n")
}

// outboxDir is where mail goes without SMTP: <data-dir>/mail.
func outboxDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "mail") }
