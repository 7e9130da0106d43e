package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-dev/rampart/internal/config"
	"github.com/rampart-dev/rampart/internal/feature"
	"github.com/rampart-dev/rampart/internal/mail"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/signin"
	"github.com/rampart-dev/rampart/internal/store"
)

var orgVars = []config.Var{config.VarDataDir, config.VarDatabaseURL, config.VarServiceURL, config.VarPGOSUser,
	config.VarLogLevel, config.VarLogFormat, config.VarAuditKeys, config.VarFieldKeys, config.VarSessionKeys, config.VarTokenKeys,
	config.VarAddr, config.VarPublicURL, config.VarTLSCert, config.VarSMTPURL, config.VarMailFrom, config.VarSignup}

func runOrg(ctx context.Context, m *Main, args []string) int {
	fs := m.flagSet("org", "org create|list|invite|features [flags]", `
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
  rampart org features --org acme [--json]
      the organization's feature flags (ai, chat) and the last change's reason
  rampart org features --org acme --set ai=off,chat=on --reason "contract paused"
      sets flags (on or off; the others keep their value); the reason is
      required and shown to the organization's members. Audited in the
      organization's audit chain and as a platform event. No organization
      role can change a flag. ai off refuses every AI request (403
      feature_disabled) and cancels the organization's unfinished AI jobs
      (running ones stop in every process); chat off refuses the proposal
      chat. ORG is a slug or an id.

Links point at RAMPART_PUBLIC_URL (default http://<addr>).`)
	loader := config.NewLoader(fs, m.Getenv, orgVars...)
	name := fs.String("name", "", "the organization's name (create, invite)")
	slug := fs.String("slug", "", "the organization's slug (create; default: derived from the name)")
	adminEmail := fs.String("admin-email", "", "the first admin's address (create)")
	email := fs.String("email", "", "the address the sign-up link goes to (invite)")
	jsonOut := fs.Bool("json", false, "print as JSON (list, features)")
	orgRef := fs.String("org", "", "the organization's slug or id (features)")
	set := fs.String("set", "", "flag=on|off changes, comma-separated, e.g. ai=off,chat=on (features)")
	reason := fs.String("reason", "", "why (features --set; required, 1 to 500 characters, shown to the organization's members)")
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
	case "features":
		if *orgRef == "" {
			return usage("features needs --org ORG (a slug or an id)")
		}
		if *set == "" && *reason != "" {
			return usage("--reason goes with --set: give the changes, e.g. --set ai=off")
		}
		if *set != "" {
			if _, err := rampart.ParseFeatureChanges(*set); err != nil {
				return usage("--set: " + rampart.ErrorMessage(err))
			}
			if _, err := rampart.ValidateReason(*reason); err != nil {
				return usage("--reason is required with --set and must be 1 to 500 characters (it is recorded in the audit log and shown to the organization's members)")
			}
		}
	case "":
		return usage("give an action: create, list, invite or features (rampart org --help)")
	default:
		return usage(fmt.Sprintf("unknown action %q: use create, list, invite or features", action))
	}
	st, closeStore, err := openServiceStore(ctx, m, cfg, "org", "rampart org ("+osUser()+")")
	if err != nil {
		return m.fail("org", err)
	}
	defer closeStore()
	switch action {
	case "list":
		return m.orgList(ctx, st, *jsonOut)
	case "features":
		return m.orgFeatures(ctx, st, *orgRef, *set, *reason, *jsonOut)
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

// orgFeatures shows an organization's feature flags or, with set, changes
// them (validated by runOrg first; parsed again here) on the audited
// service path.
func (m *Main) orgFeatures(ctx context.Context, st *store.Store, ref, set, reason string, jsonOut bool) int {
	org, err := resolveOrg(ctx, st, ref)
	if err != nil {
		return m.orgFail("org", err)
	}
	var changes map[rampart.Feature]bool
	if set != "" {
		if changes, err = rampart.ParseFeatureChanges(set); err != nil {
			return m.orgFail("org", err)
		}
	}
	actor := "cli:" + osUser()
	var before, after rampart.OrgFeatures
	cancelled := 0
	why := "read an organization's feature flags (rampart org features by " + osUser() + ")"
	if changes != nil {
		why = "set an organization's feature flags (rampart org features --set by " + osUser() + ")"
	}
	err = st.AsService(ctx, why, func(ctx context.Context, tx *store.ServiceTx) error {
		if changes == nil {
			after, err = feature.Get(ctx, tx, org.ID)
			return err
		}
		var fc store.FeatureChange
		fc, err = feature.Set(ctx, tx, actor, org.ID, changes, reason)
		before, after, cancelled = fc.Before, fc.After, fc.CancelledJobs
		return err
	})
	if err != nil {
		return m.orgFail("org", err)
	}
	if jsonOut {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"organization": org.Slug, "organization_id": org.ID, "features": after})
		return exitOK
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tSET\tEFFECTIVE")
	for _, f := range rampart.AllFeatures {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f, onOffFlag(after.Stored(f)), onOffFlag(after.Enabled(f)))
	}
	_ = tw.Flush()
	if after.UpdatedAt != nil {
		fmt.Fprintf(m.Stdout, "last change: %s — %q\n", after.UpdatedAt.UTC().Format(time.RFC3339), after.Reason)
	} else {
		fmt.Fprintln(m.Stdout, "never changed: every feature is on (the default)")
	}
	if changes != nil {
		var diff []string
		for _, f := range rampart.AllFeatures {
			if before.Stored(f) != after.Stored(f) {
				diff = append(diff, fmt.Sprintf("%s %s→%s", f, onOffFlag(before.Stored(f)), onOffFlag(after.Stored(f))))
			}
		}
		if len(diff) == 0 {
			diff = []string{"no flag changed value"}
		}
		fmt.Fprintf(m.Stdout, "feature flags of %s set (%s; audited)\n", org.Slug, strings.Join(diff, ", "))
		if cancelled > 0 {
			fmt.Fprintf(m.Stdout, "%d unfinished AI job(s) of %s cancelled (running ones stop in every process)\n", cancelled, org.Slug)
		}
	}
	return exitOK
}

func onOffFlag(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
