package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/operator"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

var operatorVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys, config.VarSessionKeys, config.VarTokenKeys}

func runOperator(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("operator", "operator console [--listen 127.0.0.1:0]", `
The local operator console (docs/operator-console.md): a small web page for
platform operators on this machine, served by this command on a loopback
address only, never by serve's public listener. It shows the global AI kill
switch with its reason and history and raises or lowers it with a reason
(audited as `+"`rampart killswitch`"+` is), which running processes acknowledged
its latest change and what each stopped, and the organizations with their
kill-switch state.

  rampart operator console
  rampart operator console --listen 127.0.0.1:8099

It prints a URL carrying a one-time token: open it in a browser on this
machine. The token is exchanged for a session cookie and removed from the
address bar; it works once. Stop the console with Ctrl-C.

Runs on the service path: with DATABASE_URL it needs
RAMPART_SERVICE_DATABASE_URL and RAMPART_AUDIT_KEYS.`)
	loader := config.NewLoader(fs, m.Getenv, operatorVars...)
	listen := fs.String("listen", "127.0.0.1:0", "the loopback address to listen on (127.0.0.0/8 or [::1]; port 0 picks one)")
	cfg, code, done := m.load("operator", fs, loader, args, 1)
	if done {
		return code
	}
	if fs.NArg() != 1 || fs.Arg(0) != "console" {
		fmt.Fprintln(m.Stderr, "rampart operator: usage: rampart operator console [--listen 127.0.0.1:0]")
		return exitUsage
	}
	addr, err := loopbackAddr(*listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "rampart operator: --listen: %v\n", err)
		return exitUsage
	}
	actor := "operator:" + osUser()
	st, closeStore, err := openServiceStore(ctx, m, cfg, "operator", "rampart operator console ("+osUser()+")")
	if err != nil {
		return m.fail("operator", err)
	}
	defer closeStore()
	srv, token, err := operator.New(operator.Options{Backend: operatorBackend{st}, Actor: actor, Logger: m.logger(cfg).With("cmd", "operator")})
	if err != nil {
		return m.fail("operator", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return m.fail("operator", fmt.Errorf("listen on %s (--listen): %w", addr, err))
	}
	srv.Listening(ln.Addr())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
	fmt.Fprintf(m.Stdout, "Rampart operator console (loopback only, as %s)\n  open: %s\nThe token in this URL works once. Ctrl-C stops the console.\n",
		actor, operator.URL(ln.Addr(), token))
	if m.OnListen != nil {
		m.OnListen(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return m.fail("operator", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return exitOK
}

// loopbackAddr checks that addr listens on a loopback IP ("localhost" is
// 127.0.0.1): the console holds the service path and must not be reachable
// from another machine.
func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("the operator console listens on a loopback address only (127.0.0.1, ::1), not %q: it holds the service path; reach it from elsewhere through an SSH tunnel", addr)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// operatorBackend is the operator console's service path: each call is
// one audited service transaction over the kill-switch use cases.
type operatorBackend struct{ st *store.Store }

func (b operatorBackend) GlobalKillSwitch(ctx context.Context) (g killswitch.SwitchAcks, hist []store.KillSwitchChange, err error) {
	err = b.st.AsService(ctx, "operator console: read the global AI kill switch", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if g, _, err = killswitch.OperatorAcks(ctx, tx, nil, killswitch.StaleAfter(killswitch.DefaultHeartbeat)); err != nil {
			return err
		}
		hist, err = killswitch.GlobalHistory(ctx, tx, 20)
		return err
	})
	return g, hist, err
}

func (b operatorBackend) SetGlobalKillSwitch(ctx context.Context, actor string, active bool, reason string) error {
	action := "off"
	if active {
		action = "on"
	}
	return b.st.AsService(ctx, "AI kill switch "+action+" from the operator console", func(ctx context.Context, tx *store.ServiceTx) error {
		_, err := killswitch.SetGlobal(ctx, tx, actor, active, reason)
		return err
	})
}

func (b operatorBackend) Organizations(ctx context.Context) (orgs []store.OrgKillSwitch, err error) {
	err = b.st.AsService(ctx, "operator console: list the organizations' AI kill switches", func(ctx context.Context, tx *store.ServiceTx) error {
		orgs, err = killswitch.Organizations(ctx, tx, 1000)
		return err
	})
	return orgs, err
}

func (b operatorBackend) OrganizationKillSwitch(ctx context.Context, id uuid.UUID) (org rampart.Organization, acks killswitch.SwitchAcks, err error) {
	err = b.st.AsService(ctx, "operator console: read an organization's AI kill switch", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		if org, err = tx.Provision().Organization(ctx, id); err != nil {
			return err
		}
		_, oa, err := killswitch.OperatorAcks(ctx, tx, &id, killswitch.StaleAfter(killswitch.DefaultHeartbeat))
		if err == nil && oa != nil {
			acks = *oa
		}
		return err
	})
	return org, acks, err
}
