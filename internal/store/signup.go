package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// New organizations: an operator's `rampart org create`, or a confirmed
// sign-up link (open or operator-invited sign-up). All of it runs on the
// service path: a tenant has no INSERT privilege on organizations.

// Lifetimes of sign-up links.
const (
	SignupLifetime       = time.Hour      // asked for by the person (open sign-up)
	SignupInviteLifetime = 72 * time.Hour // sent by an operator (invite-only sign-up)
	// maxLiveSignups bounds the live sign-up links per address: more
	// requests are answered the same but create nothing (no mail bombing
	// through open sign-up).
	maxLiveSignups = 3
)

// sqlSlugsLike is in queries/signup.sql.
var sqlSlugsLike = query("SlugsLike")

// freeSlug returns base, or base-2, base-3 … whichever no organization
// holds yet. A concurrent creation of the same slug still fails on the
// unique constraint (KindConflict), never silently.
func (tx ProvisionTx) freeSlug(ctx context.Context, base string) (string, error) {
	rows, err := tx.query(ctx, sqlSlugsLike, base)
	if err != nil {
		return "", classify("store.freeSlug", err)
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", classify("store.freeSlug", err)
	}
	used := make(map[string]bool, len(taken))
	for _, s := range taken {
		used[s] = true
	}
	for i := 1; ; i++ {
		s := base
		if i > 1 {
			suffix := fmt.Sprintf("-%d", i)
			if len(base)+len(suffix) > 63 {
				s = base[:63-len(suffix)]
			}
			s += suffix
		}
		if !used[s] {
			return s, nil
		}
	}
}

// NewOrganization is an organization and its first admin.
type NewOrganization struct {
	Organization rampart.Organization
	Admin        rampart.User
	UserCreated  bool // the admin's user did not exist before
}

// CreateOrganizationWithAdmin creates an organization named name (slug
// given, or derived from the name when empty) with the user of adminEmail
// (created if needed) as its admin. Service path only; every step is
// audited (organization.created, membership.created, and auth.signup for a
// new user). A slug that is taken is KindConflict when it was given, and
// replaced by the next free one (name-2, …) when derived.
func (tx ProvisionTx) CreateOrganizationWithAdmin(ctx context.Context, name, slug, adminEmail string) (NewOrganization, error) {
	const op = "store.CreateOrganizationWithAdmin"
	email, err := rampart.NormalizeEmail(adminEmail)
	if err != nil {
		return NewOrganization{}, err
	}
	if slug == "" {
		if slug, err = tx.freeSlug(ctx, rampart.SlugFrom(name)); err != nil {
			return NewOrganization{}, err
		}
	} else if _, err := tx.OrganizationBySlug(ctx, slug); err == nil {
		return NewOrganization{}, rampart.Errorf(op, rampart.KindConflict, "the slug %q is taken: choose another", slug)
	}
	var out NewOrganization
	if out.Organization, err = tx.CreateOrganization(ctx, name, slug); err != nil {
		return NewOrganization{}, err
	}
	out.Admin, err = scanUser(tx.queryRow(ctx, sqlUserByEmail, email))
	if errors.Is(err, pgx.ErrNoRows) {
		out.Admin, err = scanUser(tx.queryRow(ctx, sqlInsertUser, email))
		out.UserCreated = true
	}
	if err != nil {
		return NewOrganization{}, classify(op, err)
	}
	if out.UserCreated {
		orgID := out.Organization.ID
		if err := tx.recordAudit(ctx, tx.userEvent(audit.Event{OrganizationID: &orgID, Action: audit.ActionSignup,
			TargetType: "user", TargetID: out.Admin.ID.String()})); err != nil {
			return NewOrganization{}, err
		}
	}
	if err := tx.AddMembership(ctx, rampart.Membership{OrganizationID: out.Organization.ID, UserID: out.Admin.ID, Role: rampart.RoleAdmin}); err != nil {
		return NewOrganization{}, err
	}
	return out, nil
}

// sqlListOrganizations is in queries/signup.sql.
var sqlListOrganizations = query("ListOrganizations")

// OrganizationSummary is an organization with its member count.
type OrganizationSummary struct {
	rampart.Organization
	Members int64 `json:"members"`
}

// Organizations lists every organization (service path: operators).
func (tx ProvisionTx) Organizations(ctx context.Context) ([]OrganizationSummary, error) {
	rows, err := tx.query(ctx, sqlListOrganizations)
	if err != nil {
		return nil, classify("store.Organizations", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrganizationSummary, error) {
		var o OrganizationSummary
		return o, r.Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt, &o.Members)
	})
	return out, classify("store.Organizations", err)
}

// From queries/signup.sql.
var (
	sqlLockSignupAddress = query("LockSignupAddress")
	sqlCountLiveSignups  = query("CountLiveSignups")
	sqlInsertSignup      = query("InsertSignup")
	sqlSignupByHash      = query("SignupByHash")
	sqlConsumeSignup     = query("ConsumeSignup")
)

// SignupRequest is a request for a sign-up link.
type SignupRequest struct {
	Email            string
	OrganizationName string
	// InvitedBy names the operator who sends the link (invite-only
	// sign-up); empty for a person asking for one (open sign-up).
	InvitedBy string
}

// CreateSignup stores a sign-up link (its SHA-256) that, once confirmed,
// creates the organization with the address's owner as admin. ok is false
// when the address already holds maxLiveSignups live links: the caller
// answers the same either way and sends nothing. Service path only;
// audited (auth.signup.requested, without the organization: none exists
// yet).
func (tx SignInTx) CreateSignup(ctx context.Context, req SignupRequest, tokenHash []byte, ci ClientInfo) (ok bool, err error) {
	const op = "store.CreateSignup"
	email, err := rampart.NormalizeEmail(req.Email)
	if err != nil {
		return false, err
	}
	if err := rampart.ValidateOrganization(req.OrganizationName, rampart.SlugFrom(req.OrganizationName)); err != nil {
		return false, err
	}
	lifetime := SignupLifetime
	if req.InvitedBy != "" {
		lifetime = SignupInviteLifetime
	}
	if _, err := tx.exec(ctx, sqlLockSignupAddress, email); err != nil {
		return false, classify(op, err)
	}
	var live int
	if err := tx.queryRow(ctx, sqlCountLiveSignups, email).Scan(&live); err != nil {
		return false, classify(op, err)
	}
	ev := audit.Event{ActorType: audit.ActorSystem, Action: audit.ActionSignupRequested, TargetType: "signup"}
	if req.InvitedBy != "" {
		ev.ActorType, ev.ActorID = audit.ActorService, req.InvitedBy
	}
	if live >= maxLiveSignups {
		ev.Reason = "too many live sign-up links for this address; none sent"
		return false, tx.recordAudit(ctx, ci.Event(ev))
	}
	var id uuid.UUID
	if err := tx.queryRow(ctx, sqlInsertSignup, email, req.OrganizationName, tokenHash, req.InvitedBy, lifetime.String()).Scan(&id); err != nil {
		return false, classify(op, err)
	}
	ev.TargetID = id.String()
	ev.After = snapshot(map[string]any{"email": email, "organization_name": req.OrganizationName, "invited_by": req.InvitedBy})
	return true, tx.recordAudit(ctx, ci.Event(ev))
}

// RedeemSignup consumes a sign-up link: it creates the organization, the
// user if needed and the admin membership, and starts a session in the
// new organization. allowOpen says whether links people asked for
// themselves (open sign-up) still redeem; operator-sent links always do
// while sign-up is not operator-only (the caller checks). signedIn, when
// not nil, is the user signed in in this browser: a link for another
// address is refused without being consumed. Failures are RedeemFailures.
func (tx SignInTx) RedeemSignup(ctx context.Context, tokenHash []byte, signedIn *uuid.UUID, allowOpen bool, ci ClientInfo) (NewSession, error) {
	const op = "store.RedeemSignup"
	var id uuid.UUID
	var email, orgName, invitedBy string
	var used, expired bool
	err := tx.queryRow(ctx, sqlSignupByHash, tokenHash).Scan(&id, &email, &orgName, &invitedBy, &used, &expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return NewSession{}, &RedeemFailure{Reason: "unknown", Event: ci.Event(audit.Event{ActorType: audit.ActorSystem,
			Action: audit.ActionLoginFailed, Reason: "unknown magic link"})}
	}
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	fail := func(reason string) error {
		return &RedeemFailure{Reason: reason, Event: ci.Event(audit.Event{ActorType: audit.ActorSystem,
			Action: audit.ActionSignupRefused, TargetType: "signup", TargetID: id.String(), Reason: reason})}
	}
	switch {
	case used:
		return NewSession{}, fail("replayed")
	case expired:
		return NewSession{}, fail("expired")
	case invitedBy == "" && !allowOpen:
		return NewSession{}, fail("sign-up is no longer open")
	}
	if signedIn != nil {
		u, err := scanUser(tx.queryRow(ctx, sqlUserByID, *signedIn))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return NewSession{}, classify(op, err)
		}
		if err == nil && u.Email != email {
			return NewSession{}, fail("wrong_user")
		}
	}
	created, err := ProvisionTx(tx).CreateOrganizationWithAdmin(ctx, orgName, "", email)
	if err != nil {
		return NewSession{}, err
	}
	tag, err := tx.exec(ctx, sqlConsumeSignup, tokenHash, created.Organization.ID)
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return NewSession{}, fail("replayed")
	}
	out := NewSession{User: created.Admin, Created: created.UserCreated}
	if out.Session, err = tx.insertSession(ctx, created.Admin.ID, created.Organization.ID, ci); err != nil {
		return NewSession{}, err
	}
	orgID := created.Organization.ID
	return out, tx.recordAudit(ctx, ci.Event(audit.Event{OrganizationID: &orgID, ActorType: audit.ActorUser, ActorID: created.Admin.ID.String(),
		Action: audit.ActionLoginSucceeded, TargetType: "session", TargetID: out.Session.ID.String(), Reason: "sign-up"}))
}
