-- Integration credentials (integrations.go): an organization's OAuth
-- connections to outside providers, admins only (RLS). The *_enc columns
-- hold fieldcrypt envelopes sealed under the secrets key; no token, code or
-- verifier reaches these statements in plaintext.

-- fragment: integration_columns
organization_id, id, provider, status, status_reason, scopes, connected_by, connected_at,
last_refreshed_at, access_token_expires_at, updated_at

-- name: ListIntegrations
SELECT ${integration_columns} FROM integration_credentials WHERE organization_id = $1 ORDER BY provider, id

-- name: LockIntegration
-- Held while the provider is asked (refresh, revocation), so two refreshes
-- of one credential cannot both spend a rotating refresh token.
SELECT ${integration_columns}, refresh_token_enc, access_token_enc, secret_key_id
FROM integration_credentials WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: LockIntegrationByProvider
SELECT id FROM integration_credentials WHERE organization_id = $1 AND provider = $2 FOR UPDATE

-- name: InsertIntegration
INSERT INTO integration_credentials (organization_id, id, provider, status, scopes, refresh_token_enc, access_token_enc,
                                     access_token_expires_at, secret_key_id, connected_by)
VALUES ($1, $2, $3, 'connected', $4, $5, $6, $7, $8, $9)
RETURNING ${integration_columns}

-- name: ReplaceIntegration
UPDATE integration_credentials
SET status = 'connected', status_reason = NULL, scopes = $3, refresh_token_enc = $4, access_token_enc = $5,
    access_token_expires_at = $6, secret_key_id = $7, connected_by = $8, connected_at = now(),
    last_refreshed_at = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING ${integration_columns}

-- name: UpdateIntegrationTokens
UPDATE integration_credentials
SET refresh_token_enc = $3, access_token_enc = $4, access_token_expires_at = $5, secret_key_id = $6, scopes = $7,
    last_refreshed_at = now(), updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'connected'
RETURNING ${integration_columns}

-- name: IntegrationNeedsReconnect
-- The provider refused the refresh token: erase every sealed value.
UPDATE integration_credentials
SET status = 'needs_reconnect', status_reason = $3, refresh_token_enc = NULL, access_token_enc = NULL,
    access_token_expires_at = NULL, secret_key_id = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING ${integration_columns}

-- name: DeleteIntegration
DELETE FROM integration_credentials WHERE organization_id = $1 AND id = $2

-- name: SweepIntegrationFlows
DELETE FROM integration_flows WHERE organization_id = $1 AND user_id = $2 AND expires_at < now()

-- name: InsertIntegrationFlow
INSERT INTO integration_flows (organization_id, id, provider, user_id, session_id, state_hash, verifier_enc, secret_key_id, expires_at, scopes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9), $10)
RETURNING expires_at

-- name: TakeIntegrationFlow
-- Single use: the first callback that names a flow deletes it, whatever
-- it then decides; a second one finds nothing.
DELETE FROM integration_flows WHERE organization_id = $1 AND id = $2
RETURNING provider, user_id, session_id, state_hash, verifier_enc, expires_at, expires_at <= now(), scopes
