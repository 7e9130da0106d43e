package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Organization administration in the tenant context: invites, members and
// API tokens. Row-level security restricts every statement here to admins
// of the tenant's organization; handlers check the role first.

// From queries/admin.sql.
var (
	sqlCreateInvite       = query("CreateInvite")
	sqlListInvites        = query("ListInvites")
	sqlPendingInviteGrant = query("PendingInviteGrant")
	sqlResendInvite       = query("ResendInvite")
	sqlRevokeInvite       = query("RevokeInvite")
)

func scanInvite(r pgx.Row) (rampart.Invite, error) {
	var i rampart.Invite
	var role string
	err := r.Scan(&i.OrganizationID, &i.ID, &i.Email, &role, &i.VenueCodes, &i.CreatedBy, &i.CreatedByToken, &i.CreatedAt, &i.ExpiresAt,
		&i.RedeemedAt, &i.RevokedAt, &i.RevokedReason)
	i.Role = rampart.Role(role)
	return i, err
}

// Create stores an invite whose token hash is tokenHash. The inviter
// comes from the transaction's claims, never from inv: the person behind
// the session or API token (and the token, if any). An invite never grants
// more than its inviter holds.
func (tx InvitesTx) Create(ctx context.Context, inv rampart.Invite, tokenHash []byte, ci ClientInfo) (rampart.Invite, error) {
	const op = "store.CreateInvite"
	inv.OrganizationID = tx.tc.OrganizationID
	email, err := rampart.NormalizeEmail(inv.Email)
	if err != nil {
		return rampart.Invite{}, err
	}
	if err := validateGrant(op, inv.OrganizationID, inv.Role, inv.VenueCodes); err != nil {
		return rampart.Invite{}, err
	}
	person, token, err := tx.grantor(ctx, op, inv.OrganizationID, inv.Role, inv.VenueCodes)
	if err != nil {
		return rampart.Invite{}, err
	}
	out, err := scanInvite(tx.queryRow(ctx, sqlCreateInvite, inv.OrganizationID, email, string(inv.Role), codesOrEmpty(inv.VenueCodes),
		tokenHash, person, token, InviteLifetime.String()))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionInviteCreated, TargetType: "invite",
		TargetID: out.ID.String(), After: snapshot(inviteAudit(out))})))
}

// inviteAudit is the invite as the audit log records it: the invited
// address in full (the audit log is the record of who was let in), the
// grant and the expiry — never the token or its hash.
func inviteAudit(i rampart.Invite) map[string]any {
	return map[string]any{"email": i.Email, "role": i.Role, "venue_codes": i.VenueCodes, "expires_at": i.ExpiresAt}
}

// Invites lists the organization's invites.
func (tx InvitesTx) List(ctx context.Context) ([]rampart.Invite, error) {
	orgID := tx.tc.OrganizationID
	rows, err := tx.query(ctx, sqlListInvites, orgID)
	if err != nil {
		return nil, classify("store.Invites", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Invite, error) { return scanInvite(r) })
	return out, classify("store.Invites", err)
}

// ResendInvite gives a pending (or expired) invite a new token and a fresh
// lifetime; the old token is dead from this commit on. The resend is a new
// grant: the invite now lives on the resender's rights (who must be able
// to grant it).
func (tx InvitesTx) Resend(ctx context.Context, id uuid.UUID, tokenHash []byte, ci ClientInfo) (rampart.Invite, error) {
	const op = "store.ResendInvite"
	orgID := tx.tc.OrganizationID
	var role string
	var codes []string
	err := tx.queryRow(ctx, sqlPendingInviteGrant, orgID, id).Scan(&role, &codes)
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.Invite{}, rampart.Errorf(op, rampart.KindNotFound, "no pending invite with that id")
	}
	if err != nil {
		return rampart.Invite{}, classify(op, err)
	}
	person, token, err := tx.grantor(ctx, op, orgID, rampart.Role(role), codes)
	if err != nil {
		return rampart.Invite{}, err
	}
	out, err := scanInvite(tx.queryRow(ctx, sqlResendInvite, orgID, id, tokenHash, InviteLifetime.String(), person, token))
	if errors.Is(err, pgx.ErrNoRows) {
		return out, rampart.Errorf(op, rampart.KindNotFound, "no pending invite with that id")
	}
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionInviteResent, TargetType: "invite",
		TargetID: id.String(), After: snapshot(inviteAudit(out))})))
}

// RevokeInvite kills a pending invite.
func (tx InvitesTx) Revoke(ctx context.Context, id uuid.UUID, ci ClientInfo) error {
	const op = "store.RevokeInvite"
	orgID := tx.tc.OrganizationID
	out, err := scanInvite(tx.queryRow(ctx, sqlRevokeInvite, orgID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.Errorf(op, rampart.KindNotFound, "no pending invite with that id")
	}
	if err != nil {
		return classify(op, err)
	}
	return tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionInviteRevoked, TargetType: "invite",
		TargetID: id.String(), Before: snapshot(inviteAudit(out))})))
}

// From queries/admin.sql.
var (
	sqlGetMembership        = query("GetMembership")
	sqlUpdateMembership     = query("UpdateMembership")
	sqlRemoveMembership     = query("RemoveMembership")
	sqlLockAdmins           = query("LockAdmins")
	sqlRevokeMemberSessions = query("RevokeMemberSessions")
	sqlRevokeCreatedTokens  = query("RevokeCreatedTokens")
	sqlRevokeCreatedInvites = query("RevokeCreatedInvites")
)

func scanMembership(r pgx.Row) (rampart.Membership, error) {
	var m rampart.Membership
	var role string
	err := r.Scan(&m.OrganizationID, &m.UserID, &role, &m.VenueCodes)
	m.Role = rampart.Role(role)
	return m, err
}

// UpdateMembership changes a member's role and venue codes. The last admin
// cannot be demoted (the organization would be unmanageable); concurrent
// demotions are serialised on the admin rows, so two admins demoting each
// other cannot both succeed. An admin who is demoted loses the API tokens
// they issued in the organization (revoked and audited in the same
// transaction): a token must not keep the rights its creator lost.
func (tx MembersTx) Update(ctx context.Context, m rampart.Membership, ci ClientInfo) (rampart.Membership, error) {
	const op = "store.UpdateMembership"
	m.OrganizationID = tx.tc.OrganizationID
	if err := validateGrant(op, m.OrganizationID, m.Role, m.VenueCodes); err != nil {
		return rampart.Membership{}, err
	}
	before, err := scanMembership(tx.queryRow(ctx, sqlGetMembership, m.OrganizationID, m.UserID))
	if err != nil {
		return rampart.Membership{}, classify(op, err)
	}
	demoted := before.Role == rampart.RoleAdmin && m.Role != rampart.RoleAdmin
	if demoted {
		if err := tx.ensureAnotherAdmin(ctx, op, m.OrganizationID, m.UserID); err != nil {
			return rampart.Membership{}, err
		}
	}
	m.VenueCodes = codesOrEmpty(m.VenueCodes)
	tag, err := tx.exec(ctx, sqlUpdateMembership, m.OrganizationID, m.UserID, string(m.Role), m.VenueCodes)
	if err != nil {
		return rampart.Membership{}, classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Membership{}, rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	if err := tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionMembershipUpdated, TargetType: "membership",
		TargetID: m.UserID.String(), Before: snapshot(before), After: snapshot(m)}))); err != nil {
		return rampart.Membership{}, err
	}
	if demoted {
		if err := tx.revokeCreatedTokens(ctx, op, m.OrganizationID, m.UserID, "creator is no longer an admin", ci); err != nil {
			return rampart.Membership{}, err
		}
	}
	return m, nil
}

// RemoveMembership removes a member. In the same transaction it ends the
// member's sessions that are active in this organization (so re-adding
// the member later does not bring an old session back) and revokes the
// API tokens the member issued here. The last admin cannot be removed;
// concurrent removals and demotions are serialised on the admin rows.
func (tx MembersTx) Remove(ctx context.Context, userID uuid.UUID, ci ClientInfo) error {
	const op = "store.RemoveMembership"
	orgID := tx.tc.OrganizationID
	before, err := scanMembership(tx.queryRow(ctx, sqlGetMembership, orgID, userID))
	if err != nil {
		return classify(op, err)
	}
	if before.Role == rampart.RoleAdmin {
		if err := tx.ensureAnotherAdmin(ctx, op, orgID, userID); err != nil {
			return err
		}
	}
	// Sessions first: row-level security lets an admin reach a member's
	// sessions only while the membership exists.
	const reason = "membership removed"
	stag, err := tx.exec(ctx, sqlRevokeMemberSessions, orgID, userID, reason)
	if err != nil {
		return classify(op, err)
	}
	if n := stag.RowsAffected(); n > 0 {
		if err := tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{OrganizationID: &orgID, Action: audit.ActionSessionRevoked,
			TargetType: "user", TargetID: userID.String(), Reason: reason, Metadata: snapshot(map[string]int64{"sessions": n})}))); err != nil {
			return err
		}
	}
	if err := tx.revokeCreatedTokens(ctx, op, orgID, userID, "creator removed from the organization", ci); err != nil {
		return err
	}
	tag, err := tx.exec(ctx, sqlRemoveMembership, orgID, userID)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionMembershipRemoved, TargetType: "membership",
		TargetID: userID.String(), Before: snapshot(before)})))
}

// ensureAnotherAdmin locks the organization's admin memberships and fails
// with KindConflict unless an admin other than userID remains. The locks
// are held to the end of the transaction, so the demotion or removal that
// follows cannot race another one.
func (tx tenant) ensureAnotherAdmin(ctx context.Context, op string, orgID, userID uuid.UUID) error {
	rows, err := tx.query(ctx, sqlLockAdmins, orgID)
	if err != nil {
		return classify(op, err)
	}
	admins, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return classify(op, err)
	}
	for _, id := range admins {
		if id != userID {
			return nil
		}
	}
	return rampart.Errorf(op, rampart.KindConflict, "the organization's last admin cannot be removed or demoted")
}

// revokeCreatedTokens revokes what a person who lost the right to grant
// access had granted in the organization: every live API token they are
// behind (the whole chain) and every pending invite they made, one audit
// event each.
func (tx tenant) revokeCreatedTokens(ctx context.Context, op string, orgID, userID uuid.UUID, reason string, ci ClientInfo) error {
	rows, err := tx.query(ctx, sqlRevokeCreatedTokens, orgID, userID, reason)
	if err != nil {
		return classify(op, err)
	}
	revoked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.APIToken, error) { return scanToken(r) })
	if err != nil {
		return classify(op, err)
	}
	if err := tx.auditRevocations(ctx, op, orgID, revoked, ci); err != nil {
		return err
	}
	irows, err := tx.query(ctx, sqlRevokeCreatedInvites, orgID, userID, reason)
	if err != nil {
		return classify(op, err)
	}
	return tx.auditInviteRevocations(ctx, op, orgID, irows, ci)
}

// From queries/admin.sql.
var (
	sqlCreateToken        = query("CreateToken")
	sqlParentToken        = query("ParentToken")
	sqlTokenDepth         = query("TokenDepth")
	sqlLockTokenRoot      = query("LockTokenRoot")
	sqlListTokens         = query("ListTokens")
	sqlRevokeTokenChain   = query("RevokeTokenChain")
	sqlRevokeTokenInvites = query("RevokeTokenInvites")
)

func scanToken(r pgx.Row) (rampart.APIToken, error) {
	var t rampart.APIToken
	var role string
	err := r.Scan(&t.OrganizationID, &t.ID, &t.Name, &role, &t.VenueCodes, &t.CreatedBy, &t.ParentTokenID, &t.CreatedAt, &t.ExpiresAt,
		&t.RevokedAt, &t.RevokedReason, &t.LastUsedAt)
	t.Role = rampart.Role(role)
	return t, err
}

// MaxTokenChain is how many tokens a chain may hold (a session issues the
// first; each may issue the next). auth_resolve_token refuses deeper
// chains outright (api_token_chain_live walks 16 levels).
const MaxTokenChain = 8

// MaxTokenLifetime bounds API token expiry.
const MaxTokenLifetime = 366 * 24 * time.Hour

// Create records a new token; the caller signs the JWT for its id. Its
// person and parent come from the transaction's claims, never from t: a
// token issued through a token traces to the same person, is revoked
// with it, never outlives it and never grants more than it holds.
func (tx TokensTx) Create(ctx context.Context, t rampart.APIToken, ci ClientInfo) (rampart.APIToken, error) {
	const op = "store.CreateAPIToken"
	t.OrganizationID = tx.tc.OrganizationID
	if err := validateGrant(op, t.OrganizationID, t.Role, t.VenueCodes); err != nil {
		return rampart.APIToken{}, err
	}
	if n := len([]rune(t.Name)); n == 0 || n > 100 {
		return rampart.APIToken{}, rampart.Errorf(op, rampart.KindInvalid, "name must be 1 to 100 characters")
	}
	if d := time.Until(t.ExpiresAt); d < time.Minute || d > MaxTokenLifetime {
		return rampart.APIToken{}, rampart.Errorf(op, rampart.KindInvalid, "expiry must be between 1 minute and 366 days from now")
	}
	person, parent, err := tx.grantor(ctx, op, t.OrganizationID, t.Role, t.VenueCodes)
	if err != nil {
		return rampart.APIToken{}, err
	}
	if parent != nil {
		// A token never outlives the token that mints it: its expiry is
		// capped at the parent's.
		var parentExpires time.Time
		err := tx.queryRow(ctx, sqlParentToken, t.OrganizationID, *parent).Scan(&parentExpires)
		if errors.Is(err, pgx.ErrNoRows) {
			return rampart.APIToken{}, rampart.Errorf(op, rampart.KindUnauthenticated, "not signed in")
		}
		if err != nil {
			return rampart.APIToken{}, classify(op, err)
		}
		var depth int
		if err := tx.queryRow(ctx, sqlTokenDepth, t.OrganizationID, *parent).Scan(&depth); err != nil {
			return rampart.APIToken{}, classify(op, err)
		}
		if depth >= MaxTokenChain {
			return rampart.APIToken{}, rampart.Errorf(op, rampart.KindInvalid,
				"a chain of tokens issuing tokens holds at most %d: issue this one from a session", MaxTokenChain)
		}
		if t.ExpiresAt.After(parentExpires) {
			// It expires with its parent (the answer shows expires_at).
			t.ExpiresAt = parentExpires
			if time.Until(t.ExpiresAt) < time.Minute {
				return rampart.APIToken{}, rampart.Errorf(op, rampart.KindInvalid,
					"the token that issues this one expires in less than a minute")
			}
		}
	}
	out, err := scanToken(tx.queryRow(ctx, sqlCreateToken, t.OrganizationID, t.Name, string(t.Role), codesOrEmpty(t.VenueCodes),
		person, parent, t.ExpiresAt))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionTokenIssued, TargetType: "api_token",
		TargetID: out.ID.String(), After: snapshot(out)})))
}

// APITokens lists the organization's tokens.
func (tx TokensTx) List(ctx context.Context) ([]rampart.APIToken, error) {
	orgID := tx.tc.OrganizationID
	rows, err := tx.query(ctx, sqlListTokens, orgID)
	if err != nil {
		return nil, classify("store.APITokens", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.APIToken, error) { return scanToken(r) })
	return out, classify("store.APITokens", err)
}

// RevokeAPIToken revokes a token, every token minted from it (at any
// depth) and the pending invites made through them; they stop working on
// the next request. One audit event per revoked token and invite.
func (tx TokensTx) Revoke(ctx context.Context, id uuid.UUID, ci ClientInfo) error {
	orgID := tx.tc.OrganizationID
	const op = "store.RevokeAPIToken"
	n, err := tx.revokeTokenChain(ctx, op, orgID, id, "revoked by an admin", ci)
	if err != nil {
		return err
	}
	if n == 0 {
		return rampart.Errorf(op, rampart.KindNotFound, "no live token with that id")
	}
	return nil
}

// revokeTokenChain revokes the live token id and its descendants, and the
// pending invites made through any of them, with audit events; it returns
// how many tokens it revoked.
func (tx tenant) revokeTokenChain(ctx context.Context, op string, orgID, id uuid.UUID, reason string, ci ClientInfo) (int, error) {
	var one int
	if err := tx.queryRow(ctx, sqlLockTokenRoot, orgID, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, classify(op, err)
	}
	// Each statement sees what committed before it began: a child minted
	// while the previous pass waited on its parent's lock is caught by the
	// next pass, and once a parent is revoked no child can be minted from
	// it. auth_resolve_token also refuses any token below a revoked one.
	var all []rampart.APIToken
	for pass := 0; pass <= MaxTokenChain; pass++ {
		rows, err := tx.query(ctx, sqlRevokeTokenChain, orgID, id, reason, "the token that issued it was revoked")
		if err != nil {
			return 0, classify(op, err)
		}
		revoked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.APIToken, error) { return scanToken(r) })
		if err != nil {
			return 0, classify(op, err)
		}
		if len(revoked) == 0 {
			break
		}
		all = append(all, revoked...)
	}
	return len(all), tx.auditRevocations(ctx, op, orgID, all, ci)
}

// auditRevocations records the revoked tokens and revokes (and records) the
// pending invites made through them.
func (tx tenant) auditRevocations(ctx context.Context, op string, orgID uuid.UUID, revoked []rampart.APIToken, ci ClientInfo) error {
	if len(revoked) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(revoked))
	for i, t := range revoked {
		ids[i] = t.ID
		if err := tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{OrganizationID: &orgID, Action: audit.ActionTokenRevoked,
			TargetType: "api_token", TargetID: t.ID.String(), Reason: t.RevokedReason, Before: snapshot(t)}))); err != nil {
			return err
		}
	}
	rows, err := tx.query(ctx, sqlRevokeTokenInvites, orgID, ids, "the token that made it was revoked")
	if err != nil {
		return classify(op, err)
	}
	return tx.auditInviteRevocations(ctx, op, orgID, rows, ci)
}

// auditInviteRevocations records each invite revoked by rows (the
// RETURNING of an UPDATE that revoked them).
func (tx tenant) auditInviteRevocations(ctx context.Context, op string, orgID uuid.UUID, rows pgx.Rows, ci ClientInfo) error {
	invites, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Invite, error) { return scanInvite(r) })
	if err != nil {
		return classify(op, err)
	}
	for _, inv := range invites {
		if err := tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{OrganizationID: &orgID, Action: audit.ActionInviteRevoked,
			TargetType: "invite", TargetID: inv.ID.String(), Reason: inv.RevokedReason, Before: snapshot(inviteAudit(inv))}))); err != nil {
			return err
		}
	}
	return nil
}

// grantor returns who hands out role and codes in this transaction: the
// person behind the claims and, for an API token, the token. The grant
// must be within the grantor's own rights (access.GrantWithin). Grants
// are made only in tenant transactions, so every one traces to a person.
func (tx tenant) grantor(ctx context.Context, op string, orgID uuid.UUID, role rampart.Role, codes []string) (person, token *uuid.UUID, err error) {
	c := tx.tc
	p := c.Person()
	if p == uuid.Nil {
		// A token whose person is unknown cannot be traced: refuse.
		return nil, nil, rampart.Errorf(op, rampart.KindForbidden, "this credential cannot grant access")
	}
	if !access.GrantWithin(c, role, codes) {
		return nil, nil, rampart.Errorf(op, rampart.KindForbidden, "you cannot grant more than you hold")
	}
	if c.ViaToken() {
		t := c.TokenID
		token = &t
	}
	return &p, token, tx.lockGrantor(ctx, op, orgID, p)
}

// sqlLockGrantor is in queries/admin.sql.
var sqlLockGrantor = query("LockGrantor")

func (tx tenant) lockGrantor(ctx context.Context, op string, orgID, person uuid.UUID) error {
	var one int
	err := tx.queryRow(ctx, sqlLockGrantor, orgID, person).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.Errorf(op, rampart.KindForbidden, "only an admin of the organization can grant access")
	}
	return classify(op, err)
}

// validateGrant checks a role and venue codes given to a member, invite or token.
func validateGrant(op string, orgID uuid.UUID, role rampart.Role, codes []string) error {
	c := rampart.Claims{OrganizationID: orgID, UserID: orgID, Role: role, VenueCodes: codes}
	if err := c.Validate(); err != nil {
		return &rampart.Error{Op: op, Kind: rampart.KindInvalid, Message: rampart.ErrorMessage(err), Err: err}
	}
	if role == rampart.RoleVenueManager && len(codes) == 0 {
		return rampart.Errorf(op, rampart.KindInvalid, "a venue_manager needs at least one venue code")
	}
	return nil
}

func codesOrEmpty(c []string) []string {
	if c == nil {
		return []string{}
	}
	return c
}

// Get reads one member of the organization.
func (tx MembersTx) Get(ctx context.Context, userID uuid.UUID) (rampart.Membership, error) {
	m, err := scanMembership(tx.queryRow(ctx, sqlGetMembership, tx.tc.OrganizationID, userID))
	return m, classify("store.Membership", err)
}
