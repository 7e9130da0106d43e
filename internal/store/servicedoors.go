package store

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// The service-path operations of the sign-in flow, each one audited
// service transaction. Outside the store, only commands and the demo seed
// open the service path themselves (AsService); request handlers reach it
// only through these narrow doors (an architecture test holds it so).

// RequestLoginLink stores a sign-in link (its SHA-256) for email when the
// address belongs to a member; ok is false otherwise. Audited either way.
func (a Auth) RequestLoginLink(ctx context.Context, email string, tokenHash []byte, ci ClientInfo) (ok bool, err error) {
	s := a.s
	err = s.asService(ctx, "create a sign-in link", func(ctx context.Context, tx *txn) error {
		var err error
		ok, err = SignInTx{tx}.CreateLoginLink(ctx, email, tokenHash, ci)
		return err
	})
	return ok, err
}

// RequestSignup stores a sign-up link (CreateSignup); ok is false when the
// address holds too many live links.
func (a Auth) RequestSignup(ctx context.Context, req SignupRequest, tokenHash []byte, ci ClientInfo) (ok bool, err error) {
	s := a.s
	err = s.asService(ctx, "create a sign-up link", func(ctx context.Context, tx *txn) error {
		var err error
		ok, err = SignInTx{tx}.CreateSignup(ctx, req, tokenHash, ci)
		return err
	})
	return ok, err
}

// SignupPolicy is which sign-up links redeem: none (operator-only
// sign-up), the ones operators sent (invite-only), or all (open).
type SignupPolicy int

// The sign-up policies.
const (
	SignupNone SignupPolicy = iota
	SignupInvitedOnly
	SignupAll
)

// RedeemMagicLink consumes the magic link whose token hashes to tokenHash:
// an invite, else a sign-in link, else (as policy allows) a sign-up link.
// A link that does not redeem is a *RedeemFailure whose Event the caller
// records (RecordPlatformEvent), since this transaction rolled back.
func (a Auth) RedeemMagicLink(ctx context.Context, tokenHash []byte, signedIn *uuid.UUID, policy SignupPolicy, ci ClientInfo) (NewSession, error) {
	s := a.s
	var ns NewSession
	err := s.asService(ctx, "redeem a magic link", func(ctx context.Context, tx *txn) error {
		var err error
		ns, err = SignInTx{tx}.RedeemInvite(ctx, tokenHash, signedIn, ci)
		var rf *RedeemFailure
		if errors.As(err, &rf) && rf.Reason == "unknown" {
			ns, err = SignInTx{tx}.RedeemLoginLink(ctx, tokenHash, signedIn, ci)
		}
		if errors.As(err, &rf) && rf.Reason == "unknown" && policy != SignupNone {
			ns, err = SignInTx{tx}.RedeemSignup(ctx, tokenHash, signedIn, policy == SignupAll, ci)
		}
		return err
	})
	return ns, err
}

// MoveSession moves a session to another organization of its user
// (SwitchOrganization); without a membership there it is KindForbidden.
func (a Auth) MoveSession(ctx context.Context, sessionID, userID, orgID uuid.UUID, ci ClientInfo) error {
	s := a.s
	return s.asService(ctx, "switch a session's organization", func(ctx context.Context, tx *txn) error {
		return SignInTx{tx}.SwitchOrganization(ctx, sessionID, userID, orgID, ci)
	})
}
