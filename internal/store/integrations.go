package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/fieldcrypt"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/integrations.sql.
var (
	sqlListIntegrations          = query("ListIntegrations")
	sqlLockIntegration           = query("LockIntegration")
	sqlLockIntegrationByProvider = query("LockIntegrationByProvider")
	sqlInsertIntegration         = query("InsertIntegration")
	sqlReplaceIntegration        = query("ReplaceIntegration")
	sqlUpdateIntegrationTokens   = query("UpdateIntegrationTokens")
	sqlIntegrationNeedsReconnect = query("IntegrationNeedsReconnect")
	sqlDeleteIntegration         = query("DeleteIntegration")
	sqlSweepIntegrationFlows     = query("SweepIntegrationFlows")
	sqlInsertIntegrationFlow     = query("InsertIntegrationFlow")
	sqlTakeIntegrationFlow       = query("TakeIntegrationFlow")
)

// The sealed columns of the integration tables: what a fieldcrypt.Binding
// names. They are sealed under the secrets key ring, never a field key.
const (
	tableIntegrationCredentials = "integration_credentials"
	tableIntegrationFlows       = "integration_flows"
	colRefreshToken             = "refresh_token_enc"
	colAccessToken              = "access_token_enc"
	colVerifier                 = "verifier_enc"
)

// IntegrationsTx is the organization's integration credentials and the
// authorization flows in progress. Every method refuses a caller who is
// not an admin (and RLS refuses them again). Tokens cross this type only
// as rampart.Secret: they are sealed before a statement is built and
// opened after a row is read, under the secrets key ring.
type IntegrationsTx struct{ tenant }

// Integrations returns the integration credential methods.
func (tx *TenantTx) Integrations() IntegrationsTx { return IntegrationsTx{tx.tenant} }

func (tx IntegrationsTx) admin(op string) error {
	if tx.tc.Role != rampart.RoleAdmin {
		return rampart.Errorf(op, rampart.KindForbidden, "Only admins manage integrations.")
	}
	return nil
}

func (tx IntegrationsTx) ring(op string) (*fieldcrypt.Ring, error) {
	if tx.store.secrets == nil {
		return nil, rampart.Errorf(op, rampart.KindUnavailable, "integration credentials are not available: the secrets key (RAMPART_SECRETS_KEY) is not configured")
	}
	return tx.store.secrets, nil
}

func credBinding(org, id uuid.UUID, col string) fieldcrypt.Binding {
	return fieldcrypt.Binding{Organization: org, Table: tableIntegrationCredentials, Column: col, Row: id}
}

func integrationDest(i *rampart.Integration, reason **string) []any {
	return []any{&i.OrganizationID, &i.ID, &i.Provider, &i.Status, reason, &i.Scopes, &i.ConnectedBy, &i.ConnectedAt,
		&i.LastRefreshedAt, &i.AccessTokenExpiresAt, &i.UpdatedAt}
}

func scanIntegration(row pgx.Row, extra ...any) (rampart.Integration, error) {
	var i rampart.Integration
	var reason *string
	err := row.Scan(append(integrationDest(&i, &reason), extra...)...)
	if reason != nil {
		i.StatusReason = *reason
	}
	if i.Scopes == nil {
		i.Scopes = []string{}
	}
	return i, err
}

// integrationSnapshot is what the audit log keeps of a credential: never
// a token.
func integrationSnapshot(i rampart.Integration) map[string]any {
	return map[string]any{"id": i.ID, "provider": i.Provider, "status": i.Status, "status_reason": i.StatusReason,
		"scopes": i.Scopes, "connected_by": i.ConnectedBy, "connected_at": i.ConnectedAt, "last_refreshed_at": i.LastRefreshedAt}
}

func (tx IntegrationsTx) event(action string, id uuid.UUID, before, after *rampart.Integration, reason string, meta map[string]any) audit.Event {
	ev := audit.Event{Action: action, TargetType: "integration", TargetID: id.String(), Reason: reason}
	if before != nil {
		ev.Before = snapshot(integrationSnapshot(*before))
	}
	if after != nil {
		ev.After = snapshot(integrationSnapshot(*after))
	}
	if meta != nil {
		ev.Metadata = snapshot(meta)
	}
	return tx.userEvent(ev)
}

// List returns the organization's integrations, without any secret.
func (tx IntegrationsTx) List(ctx context.Context) ([]rampart.Integration, error) {
	const op = "store.ListIntegrations"
	if err := tx.admin(op); err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, sqlListIntegrations, tx.tc.OrganizationID)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.Integration, error) { return scanIntegration(r) })
	if err != nil {
		return nil, classify(op, err)
	}
	return out, nil
}

// sealTokens seals a credential's tokens for row id under the newest
// secrets key.
func (tx IntegrationsTx) sealTokens(ring *fieldcrypt.Ring, id uuid.UUID, tok rampart.IntegrationTokens) (refresh, access []byte, expiry *time.Time, kid string, err error) {
	org := tx.tc.OrganizationID
	if refresh, err = ring.Seal(credBinding(org, id, colRefreshToken), []byte(tok.Refresh.Reveal())); err != nil {
		return nil, nil, nil, "", err
	}
	if !tok.Access.Empty() {
		if access, err = ring.Seal(credBinding(org, id, colAccessToken), []byte(tok.Access.Reveal())); err != nil {
			return nil, nil, nil, "", err
		}
		if !tok.Expiry.IsZero() {
			e := tok.Expiry
			expiry = &e
		}
	}
	return refresh, access, expiry, ring.Newest(), nil
}

func validTokens(op string, tok rampart.IntegrationTokens) error {
	if tok.Refresh.Empty() {
		return rampart.Errorf(op, rampart.KindInvalid, "the provider returned no refresh token: the integration cannot stay connected (check that its scopes ask for offline access)")
	}
	if len(tok.Refresh.Reveal()) > rampart.MaxTokenBytes || len(tok.Access.Reveal()) > rampart.MaxTokenBytes {
		return rampart.Errorf(op, rampart.KindInvalid, "the provider returned a token longer than %d bytes", rampart.MaxTokenBytes)
	}
	return nil
}

// Save stores the tokens of a completed authorization for provider,
// sealed, replacing those of an existing connection to the same provider
// (its id stays). It audits integration.connected.
func (tx IntegrationsTx) Save(ctx context.Context, provider string, scopes []string, tok rampart.IntegrationTokens) (rampart.Integration, error) {
	const op = "store.SaveIntegration"
	if err := tx.admin(op); err != nil {
		return rampart.Integration{}, err
	}
	if err := validTokens(op, tok); err != nil {
		return rampart.Integration{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return rampart.Integration{}, err
	}
	if scopes == nil {
		scopes = []string{}
	}
	org := tx.tc.OrganizationID
	var id uuid.UUID
	replaced := true
	err = tx.queryRow(ctx, sqlLockIntegrationByProvider, org, provider).Scan(&id)
	if err == pgx.ErrNoRows {
		id, replaced = uuid.New(), false
	} else if err != nil {
		return rampart.Integration{}, classify(op, err)
	}
	refresh, access, expiry, kid, err := tx.sealTokens(ring, id, tok)
	if err != nil {
		return rampart.Integration{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	var out rampart.Integration
	if replaced {
		out, err = scanIntegration(tx.queryRow(ctx, sqlReplaceIntegration, org, id, scopes, refresh, access, expiry, kid, tx.tc.UserID))
	} else {
		out, err = scanIntegration(tx.queryRow(ctx, sqlInsertIntegration, org, id, provider, scopes, refresh, access, expiry, kid, tx.tc.UserID))
	}
	if err != nil {
		return rampart.Integration{}, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.event(audit.ActionIntegrationConnected, out.ID, nil, &out, "",
		map[string]any{"replaced_existing_connection": replaced, "access_token_held": access != nil, "secret_key_id": kid}))
}

// Locked is a credential held under a row lock with its tokens opened.
// OpenErr is set when a sealed value did not open (wrong or missing key,
// moved or altered ciphertext); the failure is already logged and audited
// (fieldcrypt.value_unreadable) and Tokens are then empty.
type Locked struct {
	Integration rampart.Integration
	Tokens      rampart.IntegrationTokens
	OpenErr     error
}

// Lock reads one credential FOR UPDATE and opens its tokens. Another
// organization's credential is not found.
func (tx IntegrationsTx) Lock(ctx context.Context, id uuid.UUID) (Locked, error) {
	const op = "store.LockIntegration"
	if err := tx.admin(op); err != nil {
		return Locked{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return Locked{}, err
	}
	var refresh, access []byte
	var kid *string
	i, err := scanIntegration(tx.queryRow(ctx, sqlLockIntegration, tx.tc.OrganizationID, id), &refresh, &access, &kid)
	if err != nil {
		return Locked{}, classify(op, err)
	}
	l := Locked{Integration: i}
	for _, c := range []struct {
		col, label string
		env        []byte
		dst        *rampart.Secret
	}{{colRefreshToken, "refresh token", refresh, &l.Tokens.Refresh}, {colAccessToken, "access token", access, &l.Tokens.Access}} {
		if c.env == nil {
			continue
		}
		pt, _, err := ring.Open(credBinding(i.OrganizationID, i.ID, c.col), c.env)
		if err != nil {
			tx.store.log.Error("sealed secret unreadable", "table", tableIntegrationCredentials, "column", c.col, "row", i.ID, "err", err)
			k := ""
			if kid != nil {
				k = *kid
			}
			if aerr := tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionFieldUnreadable,
				TargetType: "integration", TargetID: i.ID.String(),
				Metadata: snapshot(map[string]any{"table": tableIntegrationCredentials, "column": c.col, "key_id": k, "error": errClass(err)})})); aerr != nil {
				return Locked{}, aerr
			}
			l.OpenErr = rampart.Errorf(op, rampart.KindConflict, "the stored %s cannot be decrypted (%s): connect the integration again; an administrator can see why in the audit log", c.label, errClass(err))
			l.Tokens = rampart.IntegrationTokens{}
			return l, nil
		}
		*c.dst = rampart.NewSecret(string(pt))
	}
	if i.AccessTokenExpiresAt != nil {
		l.Tokens.Expiry = *i.AccessTokenExpiresAt
	}
	return l, nil
}

// Refreshed stores the tokens a refresh returned (the provider may have
// rotated the refresh token) on a credential held by Lock, and audits
// integration.refreshed.
func (tx IntegrationsTx) Refreshed(ctx context.Context, before rampart.Integration, scopes []string, tok rampart.IntegrationTokens, rotated bool) (rampart.Integration, error) {
	const op = "store.RefreshedIntegration"
	if err := tx.admin(op); err != nil {
		return rampart.Integration{}, err
	}
	if err := validTokens(op, tok); err != nil {
		return rampart.Integration{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return rampart.Integration{}, err
	}
	if scopes == nil {
		scopes = before.Scopes
	}
	refresh, access, expiry, kid, err := tx.sealTokens(ring, before.ID, tok)
	if err != nil {
		return rampart.Integration{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	after, err := scanIntegration(tx.queryRow(ctx, sqlUpdateIntegrationTokens, tx.tc.OrganizationID, before.ID, refresh, access, expiry, kid, scopes))
	if err != nil {
		return rampart.Integration{}, classify(op, err)
	}
	return after, tx.recordAudit(ctx, tx.event(audit.ActionIntegrationRefreshed, after.ID, &before, &after, "",
		map[string]any{"refresh_token_rotated": rotated, "access_token_expires_at": after.AccessTokenExpiresAt, "secret_key_id": kid}))
}

// NeedsReconnect erases a credential's tokens and marks it as needing a
// new authorization, auditing integration.refresh.failed with reason.
func (tx IntegrationsTx) NeedsReconnect(ctx context.Context, before rampart.Integration, reason string) (rampart.Integration, error) {
	const op = "store.IntegrationNeedsReconnect"
	if err := tx.admin(op); err != nil {
		return rampart.Integration{}, err
	}
	after, err := scanIntegration(tx.queryRow(ctx, sqlIntegrationNeedsReconnect, tx.tc.OrganizationID, before.ID, reason))
	if err != nil {
		return rampart.Integration{}, classify(op, err)
	}
	return after, tx.recordAudit(ctx, tx.event(audit.ActionIntegrationRefreshFailed, after.ID, &before, &after, reason,
		map[string]any{"tokens_erased": true}))
}

// RecordRefreshFailed audits a refresh that failed without changing the
// credential (the provider could not be reached, say).
func (tx IntegrationsTx) RecordRefreshFailed(ctx context.Context, i rampart.Integration, reason string) error {
	return tx.recordAudit(ctx, tx.event(audit.ActionIntegrationRefreshFailed, i.ID, nil, nil, reason, map[string]any{"provider": i.Provider}))
}

// Delete removes a credential held by Lock (its sealed values go with the
// row) and audits integration.disconnected with how revocation went.
func (tx IntegrationsTx) Delete(ctx context.Context, before rampart.Integration, revocation string) error {
	const op = "store.DeleteIntegration"
	if err := tx.admin(op); err != nil {
		return err
	}
	tag, err := tx.exec(ctx, sqlDeleteIntegration, tx.tc.OrganizationID, before.ID)
	if err != nil {
		return classify(op, err)
	}
	if tag.RowsAffected() != 1 {
		return rampart.Errorf(op, rampart.KindNotFound, "not found")
	}
	return tx.recordAudit(ctx, tx.event(audit.ActionIntegrationDisconnected, before.ID, &before, nil, "",
		map[string]any{"revocation": revocation}))
}

// RecordRevokeFailed audits a disconnect refused because the provider did
// not confirm the revocation (nothing changed).
func (tx IntegrationsTx) RecordRevokeFailed(ctx context.Context, i rampart.Integration, reason string) error {
	return tx.recordAudit(ctx, tx.event(audit.ActionIntegrationRevokeFailed, i.ID, nil, nil, reason, map[string]any{"provider": i.Provider}))
}

// NewFlow is an authorization flow to start: the state's secret is given
// only as its SHA-256, the PKCE verifier is sealed here.
type NewFlow struct {
	ID        uuid.UUID
	Provider  string
	StateHash [32]byte
	Verifier  rampart.Secret
	TTL       time.Duration
	// Scopes are the scopes asked for (kept for when the provider's
	// answer does not say which it granted).
	Scopes []string
}

// StartFlow records an authorization flow for the caller's session,
// sweeping the caller's expired flows first, and audits
// integration.connect.started. It returns the flow's expiry.
func (tx IntegrationsTx) StartFlow(ctx context.Context, f NewFlow) (time.Time, error) {
	const op = "store.StartIntegrationFlow"
	if err := tx.admin(op); err != nil {
		return time.Time{}, err
	}
	if f.Scopes == nil {
		f.Scopes = []string{}
	}
	if tx.tc.SessionID == uuid.Nil || tx.tc.ViaToken() {
		return time.Time{}, rampart.Errorf(op, rampart.KindForbidden, "Connecting an integration needs a signed-in browser session: the provider's consent page returns to it.")
	}
	ring, err := tx.ring(op)
	if err != nil {
		return time.Time{}, err
	}
	org := tx.tc.OrganizationID
	env, err := ring.Seal(fieldcrypt.Binding{Organization: org, Table: tableIntegrationFlows, Column: colVerifier, Row: f.ID}, []byte(f.Verifier.Reveal()))
	if err != nil {
		return time.Time{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	if _, err := tx.exec(ctx, sqlSweepIntegrationFlows, org, tx.tc.UserID); err != nil {
		return time.Time{}, classify(op, err)
	}
	var expires time.Time
	if err := tx.queryRow(ctx, sqlInsertIntegrationFlow, org, f.ID, f.Provider, tx.tc.UserID, tx.tc.SessionID, f.StateHash[:], env,
		ring.Newest(), f.TTL.Seconds(), f.Scopes).Scan(&expires); err != nil {
		return time.Time{}, classify(op, err)
	}
	return expires, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionIntegrationConnectStarted,
		TargetType: "integration_flow", TargetID: f.ID.String(),
		After: snapshot(map[string]any{"provider": f.Provider, "scopes": f.Scopes, "expires_at": expires})}))
}

// Flow is an authorization flow taken (and so deleted) by a callback.
type Flow struct {
	ID        uuid.UUID
	Provider  string
	UserID    uuid.UUID
	SessionID uuid.UUID
	StateHash []byte
	Verifier  rampart.Secret
	ExpiresAt time.Time
	Expired   bool
	Scopes    []string
}

// TakeFlow deletes the caller's flow id and returns it: whatever the
// callback then decides, the flow cannot be used again. A flow of another
// organization or another admin is not found (RLS). A verifier that does
// not open is an error of kind invalid.
func (tx IntegrationsTx) TakeFlow(ctx context.Context, id uuid.UUID) (Flow, error) {
	const op = "store.TakeIntegrationFlow"
	if err := tx.admin(op); err != nil {
		return Flow{}, err
	}
	ring, err := tx.ring(op)
	if err != nil {
		return Flow{}, err
	}
	f := Flow{ID: id}
	var env []byte
	if err := tx.queryRow(ctx, sqlTakeIntegrationFlow, tx.tc.OrganizationID, id).Scan(&f.Provider, &f.UserID, &f.SessionID, &f.StateHash,
		&env, &f.ExpiresAt, &f.Expired, &f.Scopes); err != nil {
		return Flow{}, classify(op, err)
	}
	pt, _, err := ring.Open(fieldcrypt.Binding{Organization: tx.tc.OrganizationID, Table: tableIntegrationFlows, Column: colVerifier, Row: id}, env)
	if err != nil {
		tx.store.log.Error("sealed secret unreadable", "table", tableIntegrationFlows, "column", colVerifier, "row", id, "err", err)
		return f, rampart.Errorf(op, rampart.KindInvalid, "the authorization's verifier cannot be decrypted (%s)", errClass(err))
	}
	f.Verifier = rampart.NewSecret(string(pt))
	return f, nil
}

// RecordCallbackRefused audits a callback refused before any token was
// asked for (bad, replayed, expired or foreign state).
func (tx IntegrationsTx) RecordCallbackRefused(ctx context.Context, provider string, flow uuid.UUID, reason string) error {
	target := ""
	if flow != uuid.Nil {
		target = flow.String()
	}
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionIntegrationCallbackRefused,
		TargetType: "integration_flow", TargetID: target, Reason: reason,
		Metadata: snapshot(map[string]any{"provider": provider})}))
}

// RecordConnectFailed audits an authorization whose code the provider did
// not exchange for tokens (nothing is stored).
func (tx IntegrationsTx) RecordConnectFailed(ctx context.Context, provider string, flow uuid.UUID, reason string) error {
	return tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionIntegrationConnectFailed,
		TargetType: "integration_flow", TargetID: flow.String(), Reason: reason,
		Metadata: snapshot(map[string]any{"provider": provider})}))
}
