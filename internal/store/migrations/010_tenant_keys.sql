-- Issue 12: every tenant table's keys include organization_id, so the
-- schema can be distributed by tenant without a rewrite
-- (TestSchemaIsReadyToDistributeByTenant, docs/scaling.md). The two
-- references to an API token (the token a token was minted from, the
-- token that made an invite) now name the token with its organization,
-- and api_tokens no longer needs a key on id alone.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_parent_token_id_fkey;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_parent_token_id_fkey
  FOREIGN KEY (organization_id, parent_token_id) REFERENCES api_tokens (organization_id, id)
  ON DELETE SET NULL (parent_token_id);
ALTER TABLE invites DROP CONSTRAINT invites_created_by_token_fkey;
ALTER TABLE invites ADD CONSTRAINT invites_created_by_token_fkey
  FOREIGN KEY (organization_id, created_by_token) REFERENCES api_tokens (organization_id, id)
  ON DELETE SET NULL (created_by_token);
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_id_key;
