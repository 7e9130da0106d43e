package store

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Lifetimes of the credentials of DESIGN.md §4.
const (
	SessionLifetime   = 12 * time.Hour // must match auth_resolve_session()
	InviteLifetime    = 72 * time.Hour
	LoginLinkLifetime = 10 * time.Minute
)

// ClientInfo is who is on the other end of a request, for sessions and audit.
type ClientInfo struct {
	IP        netip.Addr
	UserAgent string
	RequestID string
}

func (ci ClientInfo) userAgent() string {
	ua := strings.ToValidUTF8(ci.UserAgent, "")
	if len(ua) > 1000 {
		ua = ua[:1000]
	}
	return strings.ToValidUTF8(ua, "")
}

func (ci ClientInfo) ip() any {
	if ci.IP.IsValid() {
		return ci.IP.Unmap().String()
	}
	return nil
}

// Event fills an audit event's client fields.
func (ci ClientInfo) Event(ev audit.Event) audit.Event {
	ev.IP = ci.IP
	ev.UserAgent = ci.userAgent()
	if len(ci.RequestID) <= 200 {
		ev.RequestID = ci.RequestID
	}
	return ev
}

// ResolvedClaims are the live claims behind a credential.
type ResolvedClaims struct {
	Claims    rampart.Claims
	ExpiresAt time.Time
	Renewed   bool // the session's expiry was just extended
	// Features are the organization's feature flags, read in the same
	// round trip (the edge's feature gate); nil only when nothing
	// resolved.
	Features *rampart.OrgFeatures
}

// From queries/identity.sql.
var (
	sqlResolveSession      = query("ResolveSession")
	sqlResolveToken        = query("ResolveToken")
	sqlResolvedOrgFeatures = query("ResolvedOrgFeatures")
)

// queueResolvedFeatures reads, after a resolve statement in the same
// batch, the resolved organization's feature flags into rc. They are kept
// only when the read ran under that organization's tenant context: any
// other answer leaves rc.Features nil, which the edge's feature gate
// refuses (fail closed) rather than reading it as the defaults.
func queueResolvedFeatures(b *pgx.Batch, op string, rc *ResolvedClaims) {
	b.Queue(sqlResolvedOrgFeatures).QueryRow(func(r pgx.Row) error {
		var (
			org       *uuid.UUID
			ai, chat  *bool
			reason    *string
			updatedAt *time.Time
		)
		if err := r.Scan(&org, &ai, &chat, &reason, &updatedAt); err != nil {
			return classify(op, err)
		}
		rc.Features = resolvedFeatures(rc.Claims.OrganizationID, org, ai, chat, reason, updatedAt)
		return nil
	})
}

// resolvedFeatures is the flags of organization want as
// ResolvedOrgFeatures read them under context org: nil unless org is
// want; the defaults when the organization has no row.
func resolvedFeatures(want uuid.UUID, org *uuid.UUID, ai, chat *bool, reason *string, updatedAt *time.Time) *rampart.OrgFeatures {
	if org == nil || *org != want || want == uuid.Nil {
		return nil
	}
	f := rampart.DefaultFeatures()
	if ai == nil || chat == nil {
		return &f // no row: every flag on
	}
	f.AI, f.Chat = *ai, *chat
	if reason != nil {
		f.Reason = *reason
	}
	f.UpdatedAt = updatedAt
	return &f
}

// errNoClaims is the one answer for every credential that does not resolve:
// which check failed is never told to the caller.
func errNoClaims(op string) error {
	return rampart.Errorf(op, rampart.KindUnauthenticated, "not signed in")
}

// ResolveSession turns a session id into the live claims of its active
// organization (renewing the session past half its lifetime). A revoked,
// expired or unknown session, or one whose user is no longer a member of
// its active organization, is KindUnauthenticated. One round trip.
func (a Auth) ResolveSession(ctx context.Context, sessionID uuid.UUID) (ResolvedClaims, error) {
	s := a.s
	const op = "store.ResolveSession"
	var rc ResolvedClaims
	err := s.oneBatchTx(ctx, sqlBegin, func(b *pgx.Batch) {
		b.Queue(sqlResolveSession, sessionID).QueryRow(func(r pgx.Row) error {
			var role string
			err := r.Scan(&rc.Claims.UserID, &rc.Claims.OrganizationID, &role, &rc.Claims.VenueCodes, &rc.ExpiresAt, &rc.Renewed)
			rc.Claims.Role = rampart.Role(role)
			rc.Claims.SessionID = sessionID
			return err
		})
		queueResolvedFeatures(b, op, &rc)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ResolvedClaims{}, errNoClaims(op)
	}
	if err != nil {
		return ResolvedClaims{}, classify(op, err)
	}
	return rc, nil
}

// ResolveToken turns an API token id and its organization into the token
// row's live claims. Revoked, expired or unknown tokens, an organization
// that does not match the row, and a token whose person (Claims.PersonID)
// is no longer an admin of the organization are KindUnauthenticated.
func (a Auth) ResolveToken(ctx context.Context, tokenID, orgID uuid.UUID) (ResolvedClaims, error) {
	s := a.s
	const op = "store.ResolveToken"
	var rc ResolvedClaims
	err := s.oneBatchTx(ctx, sqlBegin, func(b *pgx.Batch) {
		b.Queue(sqlResolveToken, tokenID, orgID).QueryRow(func(r pgx.Row) error {
			var role string
			err := r.Scan(&rc.Claims.OrganizationID, &role, &rc.Claims.VenueCodes, &rc.ExpiresAt, &rc.Claims.PersonID)
			rc.Claims.Role = rampart.Role(role)
			rc.Claims.UserID = tokenID
			rc.Claims.TokenID = tokenID
			return err
		})
		queueResolvedFeatures(b, op, &rc)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ResolvedClaims{}, errNoClaims(op)
	}
	if err != nil {
		return ResolvedClaims{}, classify(op, err)
	}
	return rc, nil
}

// oneBatchTx runs a short transaction on the runtime pool as one
// pipelined batch, a single round trip: begin (sqlBegin or
// sqlBeginReadOnly), SET LOCAL ROLE rampart_app, the statements queue adds
// (read through their callbacks), COMMIT. Credential resolution, the
// kill-switch re-read, a job's first read and the job stream's polls are
// built on it.
func (s *Store) oneBatchTx(ctx context.Context, begin string, queue func(*pgx.Batch)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue(begin)
	b.Queue(sqlSetAppRole)
	queue(b)
	b.Queue(sqlCommit)
	err = conn.SendBatch(ctx, b).Close()
	if err != nil {
		s.rollback(conn)
	}
	return err
}

// RecordPlatformEvent writes an audit event that belongs to no tenant or
// to a tenant whose context the caller does not have (failed sign-ins,
// replayed invites). It runs as rampart_service; the event is itself the
// record of that use.
func (l AuditLog) RecordPlatformEvent(ctx context.Context, ev audit.Event) error {
	s := l.s
	const op = "store.RecordPlatformEvent"
	pool, b, err := s.serviceOpen(op)
	if err != nil {
		return err
	}
	if err := s.queueAudit(b, ev); err != nil {
		return err
	}
	return s.run(ctx, pool, op, b, nil, func(context.Context, *txn) error { return nil })
}

// RedeemFailure says why a magic link did not redeem. The caller records
// Event (on the platform path, since the failed transaction rolled back)
// and answers the client without revealing the reason.
type RedeemFailure struct {
	Reason string // "unknown", "expired", "replayed", "revoked", "wrong_user", "no_membership"
	Event  audit.Event
}

func (f *RedeemFailure) Error() string { return "magic link not redeemed: " + f.Reason }

// NewSession is the result of a successful sign-in.
type NewSession struct {
	Session rampart.Session
	User    rampart.User
	Created bool // the user was created by this sign-in (signup)
}

// From queries/identity.sql.
var (
	sqlInviteByHash       = query("InviteByHash")
	sqlInviterHoldsRights = query("InviterHoldsRights")
	sqlConsumeInvite      = query("ConsumeInvite")
	sqlUserByID           = query("UserByID")
	sqlUserByEmail        = query("UserByEmail")
	sqlInsertUser         = query("InsertUser")
	sqlInsertInviteMember = query("InsertInviteMember")
	sqlInsertSession      = query("InsertSession")
)

// RedeemInvite consumes an invite token (its SHA-256) on the service path:
// it creates or links the user and the membership and starts a session in
// the invite's organization. A user who is already a member keeps their
// membership unchanged (the invite is still consumed, the user signed in,
// and the audit event says the membership existed). signedIn, when not
// nil, is the user already signed in in this browser: an invite for
// another email is refused without being consumed. Two concurrent
// redemptions of one invite cannot both win: the row is locked and
// consumed by one conditional UPDATE.
func (tx SignInTx) RedeemInvite(ctx context.Context, tokenHash []byte, signedIn *uuid.UUID, ci ClientInfo) (NewSession, error) {
	const op = "store.RedeemInvite"
	var inv rampart.Invite
	var role string
	err := tx.queryRow(ctx, sqlInviteByHash, tokenHash).Scan(&inv.OrganizationID, &inv.ID, &inv.Email, &role,
		&inv.VenueCodes, &inv.ExpiresAt, &inv.RedeemedAt, &inv.RevokedAt, &inv.CreatedBy, &inv.CreatedByToken)
	inv.Role = rampart.Role(role)
	if errors.Is(err, pgx.ErrNoRows) {
		return NewSession{}, &RedeemFailure{Reason: "unknown", Event: ci.Event(audit.Event{ActorType: audit.ActorSystem,
			Action: audit.ActionLoginFailed, Reason: "unknown magic link"})}
	}
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	fail := func(reason, action string) error {
		orgID := inv.OrganizationID
		return &RedeemFailure{Reason: reason, Event: ci.Event(audit.Event{OrganizationID: &orgID, ActorType: audit.ActorSystem,
			Action: action, TargetType: "invite", TargetID: inv.ID.String(), Reason: reason})}
	}
	switch inv.Status(time.Now()) {
	case "redeemed":
		return NewSession{}, fail("replayed", audit.ActionInviteReplayAttempt)
	case "revoked":
		return NewSession{}, fail("revoked", audit.ActionInviteReplayAttempt)
	case "expired":
		return NewSession{}, fail("expired", audit.ActionInviteExpiredAttempt)
	}
	// The invite grants what its inviter could grant at this moment, not
	// when it was made: an inviter who lost the rights (demoted, removed,
	// or the token that made it revoked) takes the invite with them.
	if inv.CreatedBy == nil {
		return NewSession{}, fail("inviter_lost_rights", audit.ActionInviteInviterLost)
	}
	var one int
	err = tx.queryRow(ctx, sqlInviterHoldsRights, inv.OrganizationID, inv.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return NewSession{}, fail("inviter_lost_rights", audit.ActionInviteInviterLost)
	}
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	var out NewSession
	if signedIn != nil {
		u, err := scanUser(tx.queryRow(ctx, sqlUserByID, *signedIn))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return NewSession{}, classify(op, err)
		}
		if err == nil && u.Email != inv.Email {
			f := fail("wrong_user", audit.ActionInviteWrongUser)
			f.(*RedeemFailure).Event.ActorType, f.(*RedeemFailure).Event.ActorID = audit.ActorUser, u.ID.String()
			return NewSession{}, f
		}
	}
	out.User, err = scanUser(tx.queryRow(ctx, sqlUserByEmail, inv.Email))
	if errors.Is(err, pgx.ErrNoRows) {
		out.User, err = scanUser(tx.queryRow(ctx, sqlInsertUser, inv.Email))
		out.Created = true
	}
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	tag, err := tx.exec(ctx, sqlConsumeInvite, tokenHash, out.User.ID)
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return NewSession{}, fail("replayed", audit.ActionInviteReplayAttempt)
	}
	codes := inv.VenueCodes
	if codes == nil {
		codes = []string{}
	}
	mtag, err := tx.exec(ctx, sqlInsertInviteMember, inv.OrganizationID, out.User.ID, string(inv.Role), codes)
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	existed := mtag.RowsAffected() == 0
	if out.Session, err = tx.insertSession(ctx, out.User.ID, inv.OrganizationID, ci); err != nil {
		return NewSession{}, err
	}
	orgID, uid := inv.OrganizationID, out.User.ID.String()
	events := []audit.Event{}
	if out.Created {
		events = append(events, audit.Event{Action: audit.ActionSignup, TargetType: "user", TargetID: uid})
	}
	redeemed := audit.Event{Action: audit.ActionInviteRedeemed, TargetType: "invite", TargetID: inv.ID.String(),
		After: snapshot(map[string]any{"role": inv.Role, "venue_codes": codes})}
	if existed {
		redeemed.Reason = "membership already existed; left unchanged"
		redeemed.After = nil
		redeemed.Metadata = snapshot(map[string]any{"membership": "existing", "invited_role": inv.Role, "invited_venue_codes": codes})
	}
	events = append(events, redeemed,
		audit.Event{Action: audit.ActionLoginSucceeded, TargetType: "session", TargetID: out.Session.ID.String(), Reason: "invite"})
	for _, ev := range events {
		ev.OrganizationID, ev.ActorType, ev.ActorID = &orgID, audit.ActorUser, uid
		if err := tx.recordAudit(ctx, ci.Event(ev)); err != nil {
			return NewSession{}, err
		}
	}
	return out, nil
}

// From queries/identity.sql.
var (
	sqlLoginCandidate  = query("LoginCandidate")
	sqlInsertLoginLink = query("InsertLoginLink")
	sqlLoginLinkByHash = query("LoginLinkByHash")
	sqlConsumeLogin    = query("ConsumeLogin")
	sqlPickActiveOrg   = query("PickActiveOrg")
)

// CreateLoginLink stores a sign-in link (its SHA-256) for the user with
// email, if that user exists and belongs to an organization. ok is false
// otherwise; the caller answers the same either way (no enumeration).
func (tx SignInTx) CreateLoginLink(ctx context.Context, email string, tokenHash []byte, ci ClientInfo) (ok bool, err error) {
	const op = "store.CreateLoginLink"
	email, err = rampart.NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	var uid uuid.UUID
	err = tx.queryRow(ctx, sqlLoginCandidate, email).Scan(&uid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, tx.recordAudit(ctx, ci.Event(audit.Event{ActorType: audit.ActorSystem, Action: audit.ActionLoginLinkRequested,
			Reason: "no such member"}))
	}
	if err != nil {
		return false, classify(op, err)
	}
	if _, err := tx.exec(ctx, sqlInsertLoginLink, uid, tokenHash, LoginLinkLifetime.String()); err != nil {
		return false, classify(op, err)
	}
	return true, tx.recordAudit(ctx, ci.Event(audit.Event{ActorType: audit.ActorUser, ActorID: uid.String(),
		Action: audit.ActionLoginLinkRequested, TargetType: "user", TargetID: uid.String()}))
}

// RedeemLoginLink consumes a sign-in link and starts a session in the
// user's most recently used organization. signedIn, when not nil, is the
// user already signed in in this browser: a link of another user is
// refused without being consumed (login CSRF: an attacker must not be able
// to swap the victim's browser into the attacker's account), with an
// audit event.
func (tx SignInTx) RedeemLoginLink(ctx context.Context, tokenHash []byte, signedIn *uuid.UUID, ci ClientInfo) (NewSession, error) {
	const op = "store.RedeemLoginLink"
	var uid uuid.UUID
	var used, expired bool
	err := tx.queryRow(ctx, sqlLoginLinkByHash, tokenHash).Scan(&uid, &used, &expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return NewSession{}, loginLinkFailure("unknown", ci)
	}
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	switch {
	case used:
		return NewSession{}, loginLinkFailure("replayed", ci)
	case expired:
		return NewSession{}, loginLinkFailure("expired", ci)
	}
	if signedIn != nil && *signedIn != uid {
		return NewSession{}, &RedeemFailure{Reason: "wrong_user", Event: ci.Event(audit.Event{ActorType: audit.ActorUser,
			ActorID: signedIn.String(), Action: audit.ActionLoginFailed, TargetType: "user", TargetID: uid.String(),
			Reason: "sign-in link of another user opened while signed in"})}
	}
	tag, err := tx.exec(ctx, sqlConsumeLogin, tokenHash)
	if err != nil {
		return NewSession{}, classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return NewSession{}, loginLinkFailure("replayed", ci)
	}
	var out NewSession
	if out.User, err = scanUser(tx.queryRow(ctx, sqlUserByID, uid)); err != nil {
		return NewSession{}, classify(op, err)
	}
	var orgID uuid.UUID
	if err := tx.queryRow(ctx, sqlPickActiveOrg, uid).Scan(&orgID); errors.Is(err, pgx.ErrNoRows) {
		return NewSession{}, &RedeemFailure{Reason: "no_membership", Event: ci.Event(audit.Event{ActorType: audit.ActorUser,
			ActorID: uid.String(), Action: audit.ActionLoginFailed, Reason: "no membership"})}
	} else if err != nil {
		return NewSession{}, classify(op, err)
	}
	if out.Session, err = tx.insertSession(ctx, uid, orgID, ci); err != nil {
		return NewSession{}, err
	}
	return out, tx.recordAudit(ctx, ci.Event(audit.Event{OrganizationID: &orgID, ActorType: audit.ActorUser, ActorID: uid.String(),
		Action: audit.ActionLoginSucceeded, TargetType: "session", TargetID: out.Session.ID.String(), Reason: "sign-in link"}))
}

func loginLinkFailure(reason string, ci ClientInfo) *RedeemFailure {
	return &RedeemFailure{Reason: reason, Event: ci.Event(audit.Event{ActorType: audit.ActorSystem,
		Action: audit.ActionLoginFailed, TargetType: "login_link", Reason: reason + " sign-in link"})}
}

// sqlLinkAccount is in queries/identity.sql.
var sqlLinkAccount = query("LinkAccount")

// LinkAccount returns the email of the account a live magic link (an
// invite or a sign-in link, by the SHA-256 of its token) would sign into,
// for the confirmation page to show. It only reads — the link is not
// consumed and nothing is written, so a prefetcher's GET changes nothing
// — through the narrow SECURITY DEFINER function auth_link_account. ok is
// false for an unknown, used, revoked or expired link.
func (a Auth) LinkAccount(ctx context.Context, tokenHash []byte) (email string, ok bool, err error) {
	s := a.s
	const op = "store.LinkAccount"
	var e *string
	err = s.oneBatchTx(ctx, sqlBegin, func(b *pgx.Batch) {
		b.Queue(sqlLinkAccount, tokenHash).QueryRow(func(r pgx.Row) error { return r.Scan(&e) })
	})
	if err != nil {
		return "", false, classify(op, err)
	}
	if e == nil {
		return "", false, nil
	}
	return *e, true, nil
}

func (tx *txn) insertSession(ctx context.Context, userID, orgID uuid.UUID, ci ClientInfo) (rampart.Session, error) {
	var se rampart.Session
	err := tx.queryRow(ctx, sqlInsertSession, userID, orgID, SessionLifetime.String(), ci.ip(), ci.userAgent()).
		Scan(&se.ID, &se.UserID, &se.ActiveOrganizationID, &se.CreatedAt, &se.ExpiresAt)
	return se, classify("store.insertSession", err)
}

// sqlSwitchOrg is in queries/identity.sql.
var sqlSwitchOrg = query("SwitchOrg")

// SwitchOrganization moves a session to another organization of its user
// (service path: the membership of the target organization is checked
// here, and claims are re-derived on the next request). Without a
// membership it is KindForbidden and nothing changes.
func (tx SignInTx) SwitchOrganization(ctx context.Context, sessionID, userID, orgID uuid.UUID, ci ClientInfo) error {
	const op = "store.SwitchOrganization"
	tag, err := tx.exec(ctx, sqlSwitchOrg, sessionID, userID, orgID)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindForbidden, "you are not a member of that organization")
	}
	return tx.recordAudit(ctx, ci.Event(audit.Event{OrganizationID: &orgID, ActorType: audit.ActorUser, ActorID: userID.String(),
		Action: audit.ActionSessionOrgSwitched, TargetType: "session", TargetID: sessionID.String()}))
}

// From queries/identity.sql.
var (
	sqlRevokeSession      = query("RevokeSession")
	sqlRevokeUserSessions = query("RevokeUserSessions")
	sqlListSessions       = query("ListSessions")
)

// RevokeSession ends one session (the caller's own, or, for an admin, a
// member's). Row-level security decides which sessions are reachable.
func (tx AccountTx) RevokeSession(ctx context.Context, sessionID uuid.UUID, reason string, ci ClientInfo) error {
	const op = "store.RevokeSession"
	tag, err := tx.exec(ctx, sqlRevokeSession, sessionID, reason)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionSessionRevoked, TargetType: "session",
		TargetID: sessionID.String(), Reason: reason})))
}

// RevokeUserSessions ends every live session of a user ("sign out
// everywhere", or an admin revoking a member); it returns how many.
func (tx AccountTx) RevokeUserSessions(ctx context.Context, userID uuid.UUID, reason string, ci ClientInfo) (int64, error) {
	const op = "store.RevokeUserSessions"
	tag, err := tx.exec(ctx, sqlRevokeUserSessions, userID, reason)
	if err != nil {
		return 0, classify(op, err)
	}
	n := tag.RowsAffected()
	return n, tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionSessionRevoked, TargetType: "user",
		TargetID: userID.String(), Reason: reason, Metadata: snapshot(map[string]int64{"sessions": n})})))
}

// RevokeSessions is an admin ending a member's sessions that are active
// in the admin's organization; the member's sessions in other
// organizations are not touched (row-level security would hide them
// anyway). It returns how many were revoked.
func (tx MembersTx) RevokeSessions(ctx context.Context, userID uuid.UUID, reason string, ci ClientInfo) (int64, error) {
	const op = "store.RevokeMemberSessions"
	tag, err := tx.exec(ctx, sqlRevokeMemberSessions, tx.tc.OrganizationID, userID, reason)
	if err != nil {
		return 0, classify(op, err)
	}
	n := tag.RowsAffected()
	return n, tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionSessionRevoked, TargetType: "user",
		TargetID: userID.String(), Reason: reason, Metadata: snapshot(map[string]int64{"sessions": n})})))
}

// Sessions lists a user's live sessions that the tenant context may see.
func (tx AccountTx) Sessions(ctx context.Context, userID uuid.UUID) ([]rampart.Session, error) {
	rows, err := tx.query(ctx, sqlListSessions, userID)
	if err != nil {
		return nil, classify("store.Sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Session, error) {
		var se rampart.Session
		err := r.Scan(&se.ID, &se.UserID, &se.ActiveOrganizationID, &se.CreatedAt, &se.ExpiresAt, &se.RevokedAt, &se.IP, &se.UserAgent)
		return se, err
	})
	return out, classify("store.Sessions", err)
}

// User reads a user visible to the tenant context.
func (tx AccountTx) User(ctx context.Context, id uuid.UUID) (rampart.User, error) {
	u, err := scanUser(tx.queryRow(ctx, sqlUserByID, id))
	return u, classify("store.User", err)
}

func scanUser(r pgx.Row) (rampart.User, error) {
	var u rampart.User
	err := r.Scan(&u.ID, &u.Email, &u.DisplayName, &u.CreatedAt)
	return u, err
}

// userEvent stamps an event with the tenant transaction's actor.
func (tx *txn) userEvent(ev audit.Event) audit.Event {
	ev.ActorType, ev.ActorID = tx.actorType(), tx.actorID()
	if c, ok := tx.tenantClaims(); ok {
		sc := map[string]any{"organization_id": c.OrganizationID, "role": c.Role, "venue_codes": c.VenueCodes}
		if c.ViaToken() {
			// The person behind the token: every token traces to one.
			sc["person_id"] = c.PersonID
		}
		scope, _ := json.Marshal(sc)
		ev.ActorScope = scope
	}
	return ev
}

// sqlUserOrganizations is in queries/identity.sql.
var sqlUserOrganizations = query("UserOrganizations")

// Organizations lists the organizations the signed-in user of the tenant
// context belongs to (for switching), through a narrow SECURITY DEFINER
// function keyed on the claims' user.
func (tx AccountTx) Organizations(ctx context.Context) ([]rampart.Organization, error) {
	rows, err := tx.query(ctx, sqlUserOrganizations)
	if err != nil {
		return nil, classify("store.UserOrganizations", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Organization, error) {
		var o rampart.Organization
		return o, r.Scan(&o.ID, &o.Name, &o.Slug, &o.CreatedAt)
	})
	return out, classify("store.UserOrganizations", err)
}

// RecordSwitchDenied records, in the current organization, a refused
// switch to an organization the user does not belong to.
func (tx AccountTx) RecordSwitchDenied(ctx context.Context, target uuid.UUID, ci ClientInfo) error {
	return tx.recordAudit(ctx, ci.Event(tx.userEvent(audit.Event{Action: audit.ActionSessionSwitchDenied,
		TargetType: "organization", TargetID: target.String(), Reason: "no membership"})))
}

// RecordEvent records ev as done by the transaction's principal (user or
// API token, with its scope) from the client ci.
func (tx AccountTx) RecordEvent(ctx context.Context, ci ClientInfo, ev audit.Event) error {
	return tx.recordAudit(ctx, ci.Event(tx.userEvent(ev)))
}
