package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/observe"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// Version returns the build's version: the ldflags value, else the VCS
// revision recorded by the Go toolchain, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) >= 12 {
			rev = rev[:12]
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
	}
	return "dev"
}

// Main runs one invocation of the rampart command. Its fields are the
// process's outside world, so tests can run it in-process.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OnListen, when set, receives the bound HTTP address (port 0 in tests).
	OnListen func(addr net.Addr)

	mu   sync.Mutex
	addr net.Addr
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the API, console and job worker (embedded PostgreSQL unless DATABASE_URL is set)", runServe},
		{"worker", "run the job worker only, for scale-out", runWorker},
		{"migrate", "apply database migrations; `migrate status` and `migrate validate` change nothing", runMigrate},
		{"rls-audit", "check the live catalog for tenant-isolation drift; exit 0 only when all checks pass", runRLSAudit},
		{"audit", "audit log: `audit verify [--anchors FILE]`, `audit export`, `audit seal`, `audit anchor`, `audit purge`", runAudit},
		{"org", "organizations, for operators: `org create --name … --admin-email …`, `org list`, `org invite`", runOrg},
		{"mail", "mail without SMTP: `mail outbox` prints what Rampart would have sent", runMail},
		{"billing", "billing plan state, for operators: `billing link --org ID|SLUG --customer cus_…`, `billing show --org …`", runBilling},
		{"killswitch", "the AI kill switch: `killswitch on|off --global|--org ID|SLUG --reason …`, `killswitch status`", runKillSwitch},
		{"operator", "the local operator console on a loopback address: `operator console [--listen 127.0.0.1:0]`", runOperator},
		{"guard", "the prompt-injection guard: `guard eval --attacks FILE --benign FILE` prints the scorecard", runGuard},
		{"trust-report", "live evidence for every control, signed: `trust-report [--format md|html|json] [--out FILE]`, `trust-report verify FILE`", runTrustReport},
		{"keys", "field encryption keys: `keys status`, `keys rotate` (resumable), `keys add`, `keys retire KID`", runKeys},
		{"backup", "write a backup (pg_dump custom format + manifest) to `--out FILE`", runBackup},
		{"restore-drill", "restore a backup into a scratch database and check it (`--from FILE`); records the result", runRestoreDrill},
		{"restore", "restore a backup as the live database after the drill's checks pass (`--from FILE --yes`)", runRestore},
		{"db", "database helpers: `db url` prints the embedded cluster's connection URL", runDB},
		{"version", "print the version", runVersion},
	}
}

// Run dispatches args to a subcommand and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Getenv == nil {
		m.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		m.usage(m.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		m.usage(m.Stdout)
		return exitOK
	case "--version", "-version":
		return runVersion(ctx, m, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, m, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "rampart: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return exitUsage
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `Rampart: a security-first backend for multi-tenant AI SaaS, on PostgreSQL.

Usage: rampart <command> [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nEnvironment (each has a flag; flags win):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range config.AllVars {
		def := v.Default
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(tw, "  %s\t--%s\tdefault %s\t%s\n", v.Env, v.Flag, def, v.Usage)
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun `rampart <command> --help` for a command's flags.\n")
}

// flagSet builds a subcommand's flag set with a usage text that lists
// every flag and its environment variable.
func (m *Main) flagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("rampart "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: rampart %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments
// (`rampart db url --admin`); the positional arguments are then fs.Args().
// It returns (exit code, done) when the caller must stop.
func (m *Main) parse(fs *flag.FlagSet, args []string) (int, bool) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, true
			}
			return exitUsage, true
		}
		if fs.NArg() == 0 {
			break
		}
		if fs.Arg(0) == "--" {
			positional = append(positional, fs.Args()[1:]...)
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// Re-parse an empty list so fs.Args() reports the positional arguments.
	_ = fs.Parse(append([]string{"--"}, positional...))
	return 0, false
}

// load parses args (at most maxArgs positional ones) and validates the
// configuration; it returns (config, exit code, done) and the caller stops when done.
func (m *Main) load(name string, fs *flag.FlagSet, l *config.Loader, args []string, maxArgs int) (config.Config, int, bool) {
	if code, done := m.parse(fs, args); done {
		return config.Config{}, code, true
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(m.Stderr, "rampart %s: unexpected argument %q\n", name, fs.Arg(maxArgs))
		return config.Config{}, exitUsage, true
	}
	cfg, err := l.Load()
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart %s: configuration:\n%v\n", name, err)
		return config.Config{}, exitUsage, true
	}
	return cfg, 0, false
}

// fail prints a command's error and returns exitFail.
func (m *Main) fail(cmd string, err error) int {
	fmt.Fprintf(m.Stderr, "rampart %s: %v\n", cmd, err)
	return exitFail
}

func (m *Main) logger(cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	// Every log line passes the scrubber: no emails, tokens, cookies,
	// prompts or cost fields leave the process in logs.
	if cfg.LogFormat == "text" {
		return slog.New(observe.NewScrubbingHandler(slog.NewTextHandler(m.Stderr, opts)))
	}
	return slog.New(observe.NewScrubbingHandler(slog.NewJSONHandler(m.Stderr, opts)))
}

// Addr is the bound HTTP address once serve listens, else nil.
func (m *Main) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

func runVersion(_ context.Context, m *Main, _ []string) int {
	fmt.Fprintf(m.Stdout, "rampart %s\n", Version())
	return exitOK
}
