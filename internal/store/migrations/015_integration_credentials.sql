-- Issue 14 part 5: integration credentials. OAuth 2.0 refresh tokens (and
-- the current access token) of an organization's accounting back-ends,
-- sealed by the application under the secrets key (RAMPART_SECRETS_KEY),
-- which is not a field key: a database dump plus the field keys still does
-- not open them. Each envelope is bound to its organization, table, column
-- and row (internal/fieldcrypt), so a ciphertext copied to another row or
-- organization fails to open. The database never holds a token's
-- plaintext; secret_key_id names the key every envelope of the row is
-- sealed under (the envelopes name it too, authenticated).
--
-- Only admins connect, list, refresh and disconnect integrations: the
-- policies say so for every verb, behind the use case's access check.
CREATE TABLE integration_credentials (
  organization_id         uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id                      uuid        NOT NULL,
  provider                text        NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$'),
  status                  text        NOT NULL CHECK (status IN ('connected', 'needs_reconnect')),
  status_reason           text        CHECK (length(status_reason) BETWEEN 1 AND 200),
  scopes                  text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(scopes) <= 50),
  refresh_token_enc       bytea       CHECK (octet_length(refresh_token_enc) BETWEEN 32 AND 8300 AND get_byte(refresh_token_enc, 0) = 1),
  access_token_enc        bytea       CHECK (octet_length(access_token_enc) BETWEEN 32 AND 8300 AND get_byte(access_token_enc, 0) = 1),
  access_token_expires_at timestamptz,
  secret_key_id           text        CHECK (secret_key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  connected_by            uuid        NOT NULL,
  connected_at            timestamptz NOT NULL DEFAULT now(),
  last_refreshed_at       timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  -- One connection per provider and organization; connecting again
  -- replaces its tokens.
  UNIQUE (organization_id, provider),
  -- A connected credential has a refresh token; one that needs
  -- reconnection has none (its tokens were refused and are erased).
  CHECK ((status = 'connected') = (refresh_token_enc IS NOT NULL)),
  CHECK ((status = 'needs_reconnect') = (status_reason IS NOT NULL)),
  -- The key column is set exactly when something is sealed.
  CHECK ((secret_key_id IS NULL) = (refresh_token_enc IS NULL AND access_token_enc IS NULL)),
  CHECK (access_token_enc IS NOT NULL OR access_token_expires_at IS NULL)
);
ALTER TABLE integration_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY integration_credentials_admin_select ON integration_credentials FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY integration_credentials_admin_insert ON integration_credentials FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY integration_credentials_admin_update ON integration_credentials FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY integration_credentials_admin_delete ON integration_credentials FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
-- The service path will count values by key for rotation, and erases an
-- organization's data.
GRANT SELECT, INSERT, UPDATE, DELETE ON integration_credentials TO rampart_app, rampart_service;

-- Authorization flows in progress: one row per `connect`, consumed (deleted)
-- by the first callback that names it, valid for ten minutes. The state
-- sent to the provider is the row id and a 256-bit secret; only the
-- secret's SHA-256 is kept, compared in constant time. The PKCE verifier is
-- sealed like a token. A flow belongs to the admin and the browser session
-- that started it: the policies let only that admin see it, and the use
-- case also demands the same session.
CREATE TABLE integration_flows (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL,
  provider        text        NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$'),
  scopes          text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(scopes) <= 50),
  user_id         uuid        NOT NULL,
  session_id      uuid        NOT NULL,
  state_hash      bytea       NOT NULL CHECK (octet_length(state_hash) = 32),
  verifier_enc    bytea       NOT NULL CHECK (octet_length(verifier_enc) BETWEEN 32 AND 300 AND get_byte(verifier_enc, 0) = 1),
  secret_key_id   text        NOT NULL CHECK (secret_key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (organization_id, id),
  CHECK (expires_at > created_at AND expires_at <= created_at + interval '1 hour')
);
CREATE INDEX integration_flows_expiry_idx ON integration_flows (organization_id, expires_at);
ALTER TABLE integration_flows ENABLE ROW LEVEL SECURITY;
ALTER TABLE integration_flows FORCE ROW LEVEL SECURITY;
CREATE POLICY integration_flows_own_select ON integration_flows FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
         AND user_id = (SELECT current_user_id()));
CREATE POLICY integration_flows_own_insert ON integration_flows FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
              AND user_id = (SELECT current_user_id()));
CREATE POLICY integration_flows_own_delete ON integration_flows FOR DELETE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
         AND user_id = (SELECT current_user_id()));
GRANT SELECT, INSERT, DELETE ON integration_flows TO rampart_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON integration_flows TO rampart_service;
