package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/oauth"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// FlowTTL is how long an authorization may take, from connect to callback.
const FlowTTL = 10 * time.Minute

// stateLen is the decoded state: the flow id (16 bytes) and its secret
// (32 bytes).
const stateLen = 16 + 32

var resource = access.Resource{Kind: access.KindIntegration}

func allowed(c rampart.Claims, a access.Action) error { return access.Check(c, a, resource) }

func provider(op string, oc *oauth.Client, name string) error {
	if !rampart.ValidProviderName(name) || !oc.Has(name) {
		return rampart.Errorf(op, rampart.KindNotFound, "no integration provider named %q is configured", name)
	}
	return nil
}

// Authorization is where to send the admin's browser to connect.
type Authorization struct {
	Provider string `json:"provider"`
	// URL is the provider's consent page, carrying the state and the PKCE
	// challenge; the provider returns the browser to RedirectURI.
	URL         string    `json:"authorization_url"`
	RedirectURI string    `json:"redirect_uri"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Connect starts an authorization code flow with provider for the
// caller, an admin signed in with a browser session. scopes, when given,
// must be among the provider's configured scopes (default: all of them).
func Connect(ctx context.Context, st *store.Store, oc *oauth.Client, c rampart.Claims, name string, scopes []string) (Authorization, error) {
	const op = "integration.Connect"
	if err := allowed(c, access.ActionEdit); err != nil {
		return Authorization{}, err
	}
	if err := provider(op, oc, name); err != nil {
		return Authorization{}, err
	}
	if c.ViaToken() || c.SessionID == uuid.Nil {
		return Authorization{}, rampart.Errorf(op, rampart.KindForbidden, "Connecting an integration needs a signed-in browser session: the provider's consent page returns to it.")
	}
	configured := oc.Scopes(name)
	for _, s := range scopes {
		if !slices.Contains(configured, s) {
			return Authorization{}, rampart.FieldError(op, "scopes", "%q is not a scope configured for %s (%v)", s, name, configured)
		}
	}
	if len(scopes) == 0 {
		scopes = configured
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return Authorization{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	flow := store.NewFlow{ID: uuid.New(), Provider: name, StateHash: sha256.Sum256(secret[:]), Verifier: oauth.GenerateVerifier(),
		TTL: FlowTTL, Scopes: scopes}
	state := encodeState(flow.ID, secret[:])
	u, err := oc.AuthCodeURL(name, state, flow.Verifier, scopes)
	if err != nil {
		return Authorization{}, err
	}
	expires, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (time.Time, error) {
		return tx.Integrations().StartFlow(ctx, flow)
	})
	if err != nil {
		return Authorization{}, err
	}
	return Authorization{Provider: name, URL: u, RedirectURI: oc.RedirectURL(name), ExpiresAt: expires}, nil
}

func encodeState(id uuid.UUID, secret []byte) string {
	b := make([]byte, 0, stateLen)
	b = append(b, id[:]...)
	b = append(b, secret...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(s string) (uuid.UUID, []byte, bool) {
	if len(s) != base64.RawURLEncoding.EncodedLen(stateLen) {
		return uuid.Nil, nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != stateLen {
		return uuid.Nil, nil, false
	}
	id, _ := uuid.FromBytes(b[:16])
	return id, b[16:], true
}

// Callback is what the provider sent back to the redirect URI.
type Callback struct {
	Code  string
	State string
	// Error and ErrorDescription are set when the provider (or the person)
	// declined (RFC 6749 §4.1.2.1).
	Error            string
	ErrorDescription string
}

// errBadState is the one answer to any state that is not good: which
// check failed is in the audit log only.
func errBadState(op string) error {
	return rampart.Errorf(op, rampart.KindInvalid, "The authorization state is invalid, expired, already used or not yours: nothing was stored. Start connecting again.")
}

// Complete finishes a flow: it takes (and so burns) the flow the state
// names, checks it belongs to this provider, admin and session and has not
// expired, exchanges the code with the verifier and stores the tokens
// sealed. One transaction decides and records the outcome; the provider is
// asked while it holds the flow, so a replay waits and then finds nothing.
func Complete(ctx context.Context, st *store.Store, oc *oauth.Client, c rampart.Claims, name string, cb Callback) (rampart.Integration, error) {
	const op = "integration.Complete"
	if err := allowed(c, access.ActionEdit); err != nil {
		return rampart.Integration{}, err
	}
	if err := provider(op, oc, name); err != nil {
		return rampart.Integration{}, err
	}
	var refusal error
	out, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Integration, error) {
		refusal = nil
		in := tx.Integrations()
		refuse := func(flow uuid.UUID, reason string) (rampart.Integration, error) {
			refusal = errBadState(op)
			return rampart.Integration{}, in.RecordCallbackRefused(ctx, name, flow, reason)
		}
		id, secret, ok := decodeState(cb.State)
		if !ok {
			return refuse(uuid.Nil, "malformed state")
		}
		f, err := in.TakeFlow(ctx, id)
		switch {
		case rampart.ErrorKind(err) == rampart.KindNotFound:
			return refuse(id, "no such flow: unknown, already used, or another admin's or organization's")
		case rampart.ErrorKind(err) == rampart.KindInvalid:
			return refuse(id, rampart.ErrorMessage(err))
		case err != nil:
			return rampart.Integration{}, err
		}
		sum := sha256.Sum256(secret)
		switch {
		case subtle.ConstantTimeCompare(sum[:], f.StateHash) != 1:
			return refuse(id, "state secret does not match")
		case f.Provider != name:
			return refuse(id, "flow was started for provider "+f.Provider)
		case f.UserID != c.UserID || f.SessionID != c.SessionID:
			return refuse(id, "flow was started in another session")
		case f.Expired:
			return refuse(id, "flow expired")
		}
		failed := func(reason string, e error) (rampart.Integration, error) {
			refusal = e
			return rampart.Integration{}, in.RecordConnectFailed(ctx, name, id, reason)
		}
		if cb.Error != "" {
			return failed("provider declined: "+cb.Error, rampart.Errorf(op, rampart.KindInvalid,
				"The provider did not authorize the connection (%s%s): nothing was stored.", clean(cb.Error), describe(cb.ErrorDescription)))
		}
		if cb.Code == "" {
			return refuse(id, "no authorization code")
		}
		g, err := oc.Exchange(ctx, name, cb.Code, f.Verifier)
		if err != nil {
			e, _ := oauth.AsError(err)
			if e == nil {
				return rampart.Integration{}, err
			}
			if e.Kind == oauth.Refused {
				return failed("token endpoint refused: "+e.Code, rampart.Errorf(op, rampart.KindInvalid,
					"The provider refused the authorization code (%s%s): nothing was stored. Start connecting again.", e.Code, describe(e.Description)))
			}
			return failed("token endpoint failed: "+e.Error(), rampart.Errorf(op, rampart.KindUnavailable,
				"The provider's token endpoint could not be used (%s): nothing was stored. Start connecting again.", failure(e)))
		}
		if g.Tokens.Refresh.Empty() {
			return failed("no refresh token in the token response", rampart.Errorf(op, rampart.KindInvalid,
				"The provider returned no refresh token, so the connection could not last: nothing was stored. Check that the provider's scopes ask for offline access."))
		}
		if len(g.Tokens.Refresh.Reveal()) > rampart.MaxTokenBytes || len(g.Tokens.Access.Reveal()) > rampart.MaxTokenBytes {
			return failed("token longer than the limit", rampart.Errorf(op, rampart.KindInvalid,
				"The provider returned a token longer than %d bytes: nothing was stored.", rampart.MaxTokenBytes))
		}
		scopes := g.Scopes
		if scopes == nil {
			scopes = f.Scopes
		}
		return in.Save(ctx, name, scopes, g.Tokens)
	})
	if err != nil {
		return rampart.Integration{}, err
	}
	if refusal != nil {
		return rampart.Integration{}, refusal
	}
	return out, nil
}

func describe(desc string) string {
	if desc = clean(desc); desc == "" {
		return ""
	}
	return ": " + desc
}

// clean keeps a provider's text printable and short.
func clean(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if len(out) == 200 {
			break
		}
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	return string(out)
}

func failure(e *oauth.Error) string {
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	if e.Description != "" {
		return e.Description
	}
	return "no answer"
}

// Provider is a configured provider as the list shows it.
type Provider struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CanRevoke bool     `json:"can_revoke"`
	Connected bool     `json:"connected"`
}

// Overview is the organization's integrations and the providers it may
// connect.
type Overview struct {
	Integrations []rampart.Integration `json:"integrations"`
	Providers    []Provider            `json:"providers"`
}

// List returns the organization's integrations (never a token) and the
// configured providers.
func List(ctx context.Context, st *store.Store, oc *oauth.Client, c rampart.Claims) (Overview, error) {
	if err := allowed(c, access.ActionRead); err != nil {
		return Overview{}, err
	}
	list, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.Integration, error) {
		return tx.Integrations().List(ctx)
	})
	if err != nil {
		return Overview{}, err
	}
	o := Overview{Integrations: list, Providers: []Provider{}}
	for _, n := range oc.Names() {
		p := Provider{Name: n, Scopes: oc.Scopes(n), CanRevoke: oc.CanRevoke(n)}
		for _, i := range list {
			p.Connected = p.Connected || (i.Provider == n && i.Status == rampart.IntegrationConnected)
		}
		o.Providers = append(o.Providers, p)
	}
	return o, nil
}

// Refresh spends the stored refresh token for new tokens and stores them
// sealed, keeping the provider's rotated refresh token when it sends one.
// A refresh token the provider refuses (invalid_grant) is erased and the
// integration marked as needing reconnection (409, audited). The row stays
// locked while the provider is asked, so two refreshes cannot both spend
// one rotating token.
func Refresh(ctx context.Context, st *store.Store, oc *oauth.Client, c rampart.Claims, id uuid.UUID) (rampart.Integration, error) {
	const op = "integration.Refresh"
	if err := allowed(c, access.ActionEdit); err != nil {
		return rampart.Integration{}, err
	}
	var refusal error
	out, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Integration, error) {
		refusal = nil
		in := tx.Integrations()
		l, err := in.Lock(ctx, id)
		if err != nil {
			return rampart.Integration{}, err
		}
		i := l.Integration
		switch {
		case i.Status != rampart.IntegrationConnected:
			return rampart.Integration{}, rampart.Errorf(op, rampart.KindConflict, "The %s integration needs to be connected again (%s).", i.Provider, i.StatusReason)
		case l.OpenErr != nil:
			refusal = l.OpenErr // audited by Lock; the sealed values are kept for a restored key
			return i, nil
		case !oc.Has(i.Provider):
			refusal = rampart.Errorf(op, rampart.KindUnavailable, "The provider %q is no longer configured (RAMPART_INTEGRATIONS).", i.Provider)
			return i, in.RecordRefreshFailed(ctx, i, "provider not configured")
		}
		g, err := oc.Refresh(ctx, i.Provider, l.Tokens.Refresh)
		if err != nil {
			e, _ := oauth.AsError(err)
			switch {
			case e == nil:
				return rampart.Integration{}, err
			case e.InvalidGrant():
				refusal = rampart.Errorf(op, rampart.KindConflict, "The provider refused the stored refresh token (invalid_grant%s): the %s integration needs to be connected again.", describe(e.Description), i.Provider)
				return in.NeedsReconnect(ctx, i, "invalid_grant")
			case e.Kind == oauth.Refused:
				refusal = rampart.Errorf(op, rampart.KindUnavailable, "The provider refused the refresh (%s%s): nothing changed.", e.Code, describe(e.Description))
				return i, in.RecordRefreshFailed(ctx, i, "token endpoint refused: "+e.Code)
			default:
				refusal = rampart.Errorf(op, rampart.KindUnavailable, "The provider's token endpoint could not be used (%s): nothing changed; try again later.", failure(e))
				return i, in.RecordRefreshFailed(ctx, i, "token endpoint failed: "+e.Error())
			}
		}
		if g.Tokens.Refresh.Empty() {
			g.Tokens.Refresh = l.Tokens.Refresh
		}
		rotated := g.Tokens.Refresh.Reveal() != l.Tokens.Refresh.Reveal()
		return in.Refreshed(ctx, i, g.Scopes, g.Tokens, rotated)
	})
	if err != nil {
		return rampart.Integration{}, err
	}
	if refusal != nil {
		return rampart.Integration{}, refusal
	}
	return out, nil
}

// Revocation outcomes recorded with a disconnect.
const (
	Revoked                = "revoked"
	RevocationNone         = "not_supported_by_provider"
	RevocationNoToken      = "no_token_held"
	RevocationUnread       = "token_unreadable"
	RevocationNoConfig     = "provider_not_configured"
	RevocationFailedForced = "failed_forgotten_anyway"
)

// Disconnect revokes the refresh token at the provider (RFC 7009) when it
// supports revocation, then deletes the credential and its sealed values.
// When the provider does not confirm the revocation nothing changes
// (503, audited) unless force is set: then the tokens are forgotten anyway.
// It returns the revocation outcome.
func Disconnect(ctx context.Context, st *store.Store, oc *oauth.Client, c rampart.Claims, id uuid.UUID, force bool) (string, error) {
	const op = "integration.Disconnect"
	if err := allowed(c, access.ActionEdit); err != nil {
		return "", err
	}
	var refusal error
	out, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (string, error) {
		refusal = nil
		in := tx.Integrations()
		l, err := in.Lock(ctx, id)
		if err != nil {
			return "", err
		}
		i := l.Integration
		outcome := Revoked
		switch {
		case !oc.Has(i.Provider):
			outcome = RevocationNoConfig
		case !oc.CanRevoke(i.Provider):
			outcome = RevocationNone
		case l.OpenErr != nil:
			outcome = RevocationUnread
		case l.Tokens.Refresh.Empty():
			outcome = RevocationNoToken
		default:
			if err := oc.Revoke(ctx, i.Provider, l.Tokens.Refresh, "refresh_token"); err != nil {
				e, _ := oauth.AsError(err)
				if e == nil {
					return "", err
				}
				if !force {
					refusal = rampart.Errorf(op, rampart.KindUnavailable,
						"The provider did not confirm the revocation (%s): nothing changed. Try again, or disconnect with force=true to forget the tokens anyway.", revokeFailure(e))
					return "", in.RecordRevokeFailed(ctx, i, revokeFailure(e))
				}
				outcome = RevocationFailedForced
			}
		}
		return outcome, in.Delete(ctx, i, outcome)
	})
	if err != nil {
		return "", err
	}
	return out, refusal
}

func revokeFailure(e *oauth.Error) string {
	if e.Kind == oauth.Refused {
		return e.Code + describe(e.Description)
	}
	return failure(e)
}
