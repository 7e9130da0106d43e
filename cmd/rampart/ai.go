package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-dev/rampart/internal/chat"
	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/jobs"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// aiPipeline is the AI part of a serve or worker process: the kill-switch
// watcher and the job queue.
type aiPipeline struct {
	watcher *killswitch.Watcher
	queue   *jobs.Queue
	chat    *chat.Service
	stop    func()
}

// aiRescueAfter, when positive, replaces the queue's rescue delay for a
// job left running by a dead worker (by default the job timeout plus one
// minute). Only the test binary sets it (TestMain, for the drills that
// SIGKILL a worker): there is no setting for it.
var aiRescueAfter time.Duration

// processHeartbeat, when positive, replaces the process registry's
// heartbeat period (killswitch.DefaultHeartbeat). Only the test binary
// sets it (TestMain): there is no setting for it.
var processHeartbeat time.Duration

// startAI builds the model provider, the guard, the kill-switch watcher and
// the job queue, and starts them. Configuration errors name the variable.
func startAI(ctx context.Context, cfg config.AI, st *store.Store, log *slog.Logger, name string, reg prometheus.Registerer) (*aiPipeline, error) {
	key := cfg.AnthropicKey
	if cfg.Provider == "openai" {
		key = cfg.OpenAIKey
	}
	provider, err := llm.New(llm.Config{Provider: cfg.Provider, Model: cfg.Model, APIKey: key, BaseURL: cfg.OpenAIBaseURL, Timeout: cfg.JobTimeout})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	g, err := guard.New(guard.Options{Threshold: cfg.GuardThreshold, Fields: cfg.GuardFields})
	if err != nil {
		return nil, fmt.Errorf("configuration: RAMPART_AI_GUARD_THRESHOLD or RAMPART_AI_GUARD_THRESHOLDS: %w", err)
	}
	w, err := killswitch.New(st, killswitch.Options{Refresh: cfg.KillSwitchRefresh, StaleAfter: 5 * cfg.KillSwitchRefresh, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("configuration: RAMPART_KILLSWITCH_REFRESH: %w", err)
	}
	// The proposal chat asks the same provider, through the same guard,
	// under the same kill-switch watcher as the jobs.
	cs, err := chat.New(chat.Options{Store: st, Provider: provider, Guard: g, Watcher: w, Logger: log})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	q, err := jobs.New(ctx, st, jobs.Options{Provider: provider, Guard: g, GuardMode: cfg.GuardMode, Watcher: w,
		Workers: cfg.Workers, PerOrg: cfg.PerOrg, MaxAttempts: cfg.MaxAttempts, PollInterval: cfg.PollInterval,
		JobTimeout: cfg.JobTimeout, RescueAfter: aiRescueAfter, Metrics: reg, ID: fmt.Sprintf("%s-%s-%d-%s", name, host, os.Getpid(), uuid.NewString()[:8]), Logger: log})
	if err != nil {
		return nil, err
	}
	if reg != nil {
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_killswitch_state_age_seconds",
			Help: "Seconds since this process last confirmed the kill-switch state (AI work stops past 5 refresh periods)."},
			func() float64 { _, age := w.Healthy(); return age.Seconds() })); err != nil {
			return nil, err
		}
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_killswitch_listening",
			Help: "1 when the kill-switch LISTEN connection is up."},
			func() float64 {
				if up, _ := w.Healthy(); up {
					return 1
				}
				return 0
			})); err != nil {
			return nil, err
		}
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(wctx) }()
	// The first read, so the process starts with a known state.
	if err := w.Refresh(ctx); err != nil {
		log.Warn("kill-switch state not readable yet; AI work waits for it", "err", err)
	}
	// The process registry: this process, its heartbeat and what its
	// watcher acknowledges (decision 0027), off the hot path.
	rep, err := killswitch.NewReporter(st, w, killswitch.ReporterOptions{Role: name, Version: Version(), Heartbeat: processHeartbeat, Logger: log})
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	registered := true
	if err := rep.Register(ctx); err != nil {
		registered = false
		log.Warn("process registration failed; retrying at each heartbeat", "err", err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); rep.Run(wctx, registered) }()
	if err := q.Start(ctx); err != nil {
		cancel()
		wg.Wait()
		q.Kill()
		return nil, fmt.Errorf("start the job queue: %w", err)
	}
	log.Info("AI pipeline ready", "provider", provider.Name(), "model", provider.Model(), "workers", cfg.Workers,
		"per_org", cfg.PerOrg, "guard_mode", cfg.GuardMode)
	return &aiPipeline{watcher: w, queue: q, chat: cs, stop: func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = q.Stop(sctx)
		cancel()
		wg.Wait()
	}}, nil
}

var killSwitchVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys, config.VarSessionKeys, config.VarTokenKeys}

func runKillSwitch(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("killswitch", "killswitch on|off|status [--global | --org ORG] [--reason TEXT]", `
The AI kill switch, for platform operators (organization admins also have
PUT /api/killswitch). Every process holds the state in memory and hears a
change through LISTEN/NOTIFY at once; activation cancels the running AI
jobs of its scope in every process, and new AI requests get 423 with the
reason. Every change is audited with actor, scope, reason and time.

  rampart killswitch on  --global --reason "provider incident"
  rampart killswitch off --global --reason "resolved"
  rampart killswitch on  --org acme --reason "customer request"
  rampart killswitch status [--org acme]

ORG is an organization's slug or its id.

Runs on the service path: with DATABASE_URL it needs
RAMPART_SERVICE_DATABASE_URL and RAMPART_AUDIT_KEYS.`)
	loader := config.NewLoader(fs, m.Getenv, killSwitchVars...)
	global := fs.Bool("global", false, "the platform-wide switch")
	orgRef := fs.String("org", "", "the organization's slug or id")
	reason := fs.String("reason", "", "why (required for on and off; recorded in the audit log)")
	cfg, code, done := m.load("killswitch", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(m.Stderr, "rampart killswitch: usage: rampart killswitch on|off|status [--global | --org ORG] [--reason TEXT]")
		return exitUsage
	}
	action := fs.Arg(0)
	if action != "on" && action != "off" && action != "status" {
		fmt.Fprintf(m.Stderr, "rampart killswitch: unknown action %q: use on, off or status\n", action)
		return exitUsage
	}
	if action != "status" && *global == (*orgRef != "") {
		fmt.Fprintln(m.Stderr, "rampart killswitch: give exactly one of --global or --org ORG")
		return exitUsage
	}
	if action != "status" && *reason == "" {
		fmt.Fprintln(m.Stderr, "rampart killswitch: --reason is required: it is recorded in the audit log")
		return exitUsage
	}
	st, closeStore, err := openServiceStore(ctx, m, cfg, "killswitch", "rampart killswitch")
	if err != nil {
		return m.fail("killswitch", err)
	}
	defer closeStore()
	actor := "cli:" + osUser()
	active := action == "on"
	var org rampart.Organization
	if *orgRef != "" {
		if org, err = resolveOrg(ctx, st, *orgRef); err != nil {
			return m.orgFail("killswitch", err)
		}
	}
	err = st.AsService(ctx, "AI kill switch "+action+" from the command line", func(ctx context.Context, tx *store.ServiceTx) error {
		switch {
		case action == "status":
			var orgID *uuid.UUID
			if *orgRef != "" {
				orgID = &org.ID
			}
			g, ks, err := killswitch.OperatorAcks(ctx, tx, orgID, killswitch.StaleAfter(killswitch.DefaultHeartbeat))
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "global:       %s%s\n", onOff(g.Switch.Active), reasonSuffix(g.Switch.Reason, g.Switch.ChangedBy, g.Switch.ChangedAt))
			printAcks(m.Stdout, g)
			if ks != nil {
				fmt.Fprintf(m.Stdout, "organization: %s%s\n", onOff(ks.Switch.Active), reasonSuffix(ks.Switch.Reason, ks.Switch.ChangedBy, ks.Switch.ChangedAt))
				printAcks(m.Stdout, *ks)
			}
			return nil
		case *global:
			_, err := killswitch.SetGlobal(ctx, tx, actor, active, *reason)
			return err
		default:
			_, err := killswitch.SetForOrganization(ctx, tx, actor, org.ID, active, *reason)
			return err
		}
	})
	if err != nil {
		return m.fail("killswitch", err)
	}
	if action != "status" {
		scope := "global"
		if !*global {
			scope = "organization " + org.Slug
		}
		fmt.Fprintf(m.Stdout, "AI kill switch %s for %s (audited)\n", action, scope)
	}
	return exitOK
}

// printAcks prints, under a switch, each live process and whether it
// acknowledged the switch's latest change.
func printAcks(w io.Writer, s killswitch.SwitchAcks) {
	fmt.Fprintf(w, "  processes: %d live, %d acknowledged the latest change\n", len(s.Processes), s.Acknowledged())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range s.Processes {
		pr := p.Process
		name := fmt.Sprintf("    %s\t%s/%d\t%s\t", pr.Role, pr.Hostname, pr.PID, pr.ID.String()[:8])
		stale := ""
		if pr.Stale {
			stale = fmt.Sprintf(" — STALE: last heartbeat %s", pr.LastSeen.UTC().Format(time.RFC3339))
		}
		switch {
		case p.Ack != nil:
			fmt.Fprintf(tw, "%sacknowledged at %s: %d jobs stopped, %d streams closed%s\n", name,
				p.Ack.InstalledAt.UTC().Format(time.RFC3339Nano), p.Ack.JobsStopped, p.Ack.StreamsClosed, stale)
		case p.Acknowledged(s.Switch.ChangedAt):
			fmt.Fprintf(tw, "%sheld since its first read at %s%s\n", name, pr.StateLoadedAt.UTC().Format(time.RFC3339), stale)
		default:
			fmt.Fprintf(tw, "%sNOT acknowledged%s\n", name, stale)
		}
	}
	tw.Flush()
}

func onOff(active bool) string {
	if active {
		return "ON (AI stopped)"
	}
	return "off"
}

func reasonSuffix(reason, by string, at time.Time) string {
	if by == "" {
		return ""
	}
	return fmt.Sprintf(" — %q by %s at %s", reason, by, at.UTC().Format(time.RFC3339))
}

func osUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprintf("uid%d", os.Getuid())
}
