package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

var orgVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys, config.VarSessionKeys, config.VarTokenKeys,
	config.VarAddr, config.VarPublicURL, config.VarTLSCert, config.VarSMTPURL, config.VarMailFrom, config.VarSignup}

func runOrg(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("org", "org create|list|invite [flags]", `
Organizations, for platform operators. Every change runs on the audited
service path.

  rampart org create --name "Acme Events" --admin-email ada@acme.example [--slug acme]
      creates the organization with that person as its admin (the user is
      created if new) and mails them a sign-in link (10 minutes; without
      RAMPART_SMTP_URL it is in the outbox: rampart mail outbox)
  rampart org list [--json]
      every organization with its slug, id and member count
  rampart org invite --email ada@acme.example --name "Acme Events"
      sends a sign-up link (72 hours) that creates the organization when
      opened, with its recipient as admin; needs RAMPART_SIGNUP=invite or open

Links point at RAMPART_PUBLIC_URL (default http://<addr>).`)
	loader := config.NewLoader(fs, m.Getenv, orgVars...)
	name := fs.String("name", "", "the organization's name (create, invite)")
	slug := fs.String("slug", "", "the organization's slug (create; default: derived from the name)")
	adminEmail := fs.String("admin-email", "", "the first admin's address (create)")
	email := fs.String("email", "", "the address the sign-up link goes to (invite)")
	jsonOut := fs.Bool("json", false, "print as JSON (list)")
	cfg, code, done := m.load("org", fs, loader, args, 1)
	if done {
		return code
	}
	action := fs.Arg(0)
	usage := func(msg string) int {
		fmt.Fprintf(m.Stderr, "rampart org: %s\n", msg)
		return exitUsage
	}
	switch action {
	case "create":
		if strings.TrimSpace(*name) == "" || *adminEmail == "" {
			return usage("create needs --name and --admin-email")
		}
		if _, err := rampart.NormalizeEmail(*adminEmail); err != nil {
			return usage(fmt.Sprintf("--admin-email %q must be a plain address like name@example.com", *adminEmail))
		}
		if *slug != "" {
			if err := rampart.ValidateOrganization(*name, *slug); err != nil {
				return usage("--slug: " + rampart.ErrorMessage(err))
			}
		} else if err := rampart.ValidateOrganization(*name, rampart.SlugFrom(*name)); err != nil {
			return usage("--name: " + rampart.ErrorMessage(err))
		}
	case "invite":
		if strings.TrimSpace(*name) == "" || *email == "" {
			return usage("invite needs --email and --name")
		}
		if _, err := rampart.NormalizeEmail(*email); err != nil {
			return usage(fmt.Sprintf("--email %q must be a plain address like name@example.com", *email))
		}
		if err := rampart.ValidateOrganization(*name, rampart.SlugFrom(*name)); err != nil {
			return usage("--name: " + rampart.ErrorMessage(err))
		}
		if cfg.Signup == config.SignupOperator {
			return usage("RAMPART_SIGNUP is operator, so sign-up links would not be honoured: set RAMPART_SIGNUP=invite (or open) for serve and this command, or use `rampart org create`")
		}
	case "list":
	case "":
		return usage("give an action: create, list or invite (rampart org --help)")
	default:
		return usage(fmt.Sprintf("unknown action %q: use create, list or invite", action))
	}
	st, closeStore, err := openServiceStore(ctx, m, cfg, "org", "rampart org ("+osUser()+")")
	if err != nil {
		return m.fail("org", err)
	}
	defer closeStore()
	switch action {
	case "list":
		return m.orgList(ctx, st, *jsonOut)
	case "invite":
		return m.orgInvite(ctx, st, cfg, *email, *name)
	}
	return m.orgCreate(ctx, st, cfg, *name, *slug, *adminEmail)
}

func (m *Main) orgCreate(ctx context.Context, st *store.Store, cfg config.Config, name, slug, adminEmail string) int {
	mailer, err := mail.Open(cfg.SMTPURL, cfg.MailFrom, outboxDir(cfg), m.logger(cfg))
	if err != nil {
		return m.fail("org", err)
	}
	var out store.NewOrganization
	var token string
	ci := store.ClientInfo{UserAgent: "rampart org create"}
	err = st.AsService(ctx, "create an organization (rampart org create by "+osUser()+")", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		out, token, err = signin.CreateOrganization(ctx, tx, name, slug, adminEmail, ci)
		return err
	})
	if err != nil {
		return m.fail("org", err)
	}
	base := linkBase(cfg)
	fmt.Fprintf(m.Stdout, "created organization %q (slug %s, id %s)\n", out.Organization.Name, out.Organization.Slug, out.Organization.ID)
	fmt.Fprintf(m.Stdout, "admin: %s\n", out.Admin.Email)
	msg := signin.WelcomeMessage(out.Organization, out.Admin.Email, signin.LinkURL(base, token), base)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mailer.Send(sctx, msg); err != nil {
		fmt.Fprintf(m.Stderr, "rampart org: the sign-in link could not be mailed (%v); the admin can ask for one at %s\n", err, base)
		return exitOK
	}
	fmt.Fprintf(m.Stdout, "a sign-in link (10 minutes) is on its way to the admin%s; later ones: %s\n", whereMailGoes(cfg), base)
	return exitOK
}

func (m *Main) orgInvite(ctx context.Context, st *store.Store, cfg config.Config, email, name string) int {
	mailer, err := mail.Open(cfg.SMTPURL, cfg.MailFrom, outboxDir(cfg), m.logger(cfg))
	if err != nil {
		return m.fail("org", err)
	}
	req := store.SignupRequest{Email: email, OrganizationName: name, InvitedBy: "cli:" + osUser()}
	var token string
	var ok bool
	err = st.AsService(ctx, "send a sign-up link (rampart org invite by "+osUser()+")", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		token, ok, err = signin.InviteToSignUp(ctx, tx, req, store.ClientInfo{UserAgent: "rampart org invite"})
		return err
	})
	if err != nil {
		return m.fail("org", err)
	}
	if !ok {
		return m.fail("org", fmt.Errorf("%s already holds 3 live sign-up links: let one expire or be used first", email))
	}
	req.Email, _ = rampart.NormalizeEmail(email)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mailer.Send(sctx, signin.SignupMessage(req, signin.LinkURL(linkBase(cfg), token))); err != nil {
		return m.fail("org", fmt.Errorf("the sign-up link could not be mailed: %w", err))
	}
	fmt.Fprintf(m.Stdout, "a sign-up link for %q (72 hours) is on its way to %s%s\n", name, req.Email, whereMailGoes(cfg))
	return exitOK
}

func (m *Main) orgList(ctx context.Context, st *store.Store, jsonOut bool) int {
	var orgs []store.OrganizationSummary
	err := st.AsService(ctx, "list organizations (rampart org list by "+osUser()+")", func(ctx context.Context, tx *store.ServiceTx) error {
		var err error
		orgs, err = tx.Provision().Organizations(ctx)
		return err
	})
	if err != nil {
		return m.fail("org", err)
	}
	if jsonOut {
		if orgs == nil {
			orgs = []store.OrganizationSummary{}
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"organizations": orgs})
		return exitOK
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tMEMBERS\tCREATED\tID")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", o.Slug, o.Name, o.Members, o.CreatedAt.UTC().Format(time.DateOnly), o.ID)
	}
	_ = tw.Flush()
	return exitOK
}

// linkBase is the external origin of links mailed by a command: the
// public URL, else the listen address serve uses.
func linkBase(cfg config.Config) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	scheme := "http://"
	if cfg.TLSCert != "" {
		scheme = "https://"
	}
	return scheme + cfg.Addr
}

func whereMailGoes(cfg config.Config) string {
	if cfg.SMTPURL == "" {
		return " (no RAMPART_SMTP_URL: it is in the outbox; `rampart mail outbox` shows it)"
	}
	return ""
}
