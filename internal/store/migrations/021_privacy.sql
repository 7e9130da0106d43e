-- Data subject requests and erasure that the audit log's tamper evidence
-- survives (issue #16 items 1 and 2; docs/privacy.md, decision 0019).

-- 1. Audit events, scheme 2. The MAC of a new event covers its personal
-- fields (ip, user_agent, before, after, reason, metadata) only through a
-- salted SHA-256 commitment, stored with the event: erasure blanks those
-- fields and the salt and keeps the commitment, so verify still proves
-- every other field. Events written before this migration are scheme 1
-- (MAC over every field) and keep verifying as they are; erasing one takes
-- an attestation by the application (redaction_mac, below).
ALTER TABLE audit_events
  ADD COLUMN scheme     smallint    NOT NULL DEFAULT 1 CHECK (scheme IN (1, 2)),
  ADD COLUMN pii_salt   bytea       CHECK (pii_salt IS NULL OR length(pii_salt) = 16),
  ADD COLUMN pii_commit bytea       CHECK (pii_commit IS NULL OR length(pii_commit) = 32),
  ADD COLUMN erased_at  timestamptz,
  -- A scheme-1 event can be erased too, by an attestation: the application
  -- checks its MAC, then signs its remaining fields with the original MAC
  -- (redaction_mac). Weaker than scheme 2 (docs/privacy.md), kept for the
  -- events written before this migration.
  ADD COLUMN redaction_mac bytea CHECK (redaction_mac IS NULL OR length(redaction_mac) = 32),
  ADD CONSTRAINT audit_events_scheme_fields CHECK (
    (scheme = 1 AND pii_salt IS NULL AND pii_commit IS NULL AND (redaction_mac IS NULL) = (erased_at IS NULL))
    OR (scheme = 2 AND redaction_mac IS NULL AND pii_commit IS NOT NULL AND (pii_salt IS NULL) = (erased_at IS NOT NULL)));

-- The append-only triggers, with one more exception: rampart_audit_eraser
-- (which only audit_erase() runs as) may blank an event's personal fields
-- (and a scheme-2 event's salt; a scheme-1 event gets its redaction MAC),
-- and nothing else. The database checks the shape of the
-- change itself, so even a misused eraser cannot alter what the MAC covers.
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND current_user = 'rampart_audit_purger' THEN
    RETURN OLD;
  END IF;
  -- Nested: OLD has these fields only on audit_events.
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' AND current_user = 'rampart_audit_eraser' THEN
    IF NEW.scheme = OLD.scheme
     AND ((OLD.scheme = 2 AND NEW.redaction_mac IS NULL)
          OR (OLD.scheme = 1 AND OLD.redaction_mac IS NULL AND NEW.redaction_mac IS NOT NULL))
     AND NEW.id = OLD.id AND NEW.event_key = OLD.event_key
     AND NEW.organization_id IS NOT DISTINCT FROM OLD.organization_id
     AND NEW.occurred_at = OLD.occurred_at AND NEW.actor_type = OLD.actor_type AND NEW.actor_id = OLD.actor_id
     AND NEW.actor_scope::text IS NOT DISTINCT FROM OLD.actor_scope::text
     AND NEW.action = OLD.action AND NEW.target_type = OLD.target_type AND NEW.target_id = OLD.target_id
     AND NEW.request_id = OLD.request_id AND NEW.xact_id = OLD.xact_id
     AND NEW.mac_key_id = OLD.mac_key_id AND NEW.mac = OLD.mac AND NEW.pii_commit IS NOT DISTINCT FROM OLD.pii_commit
     AND NEW.ip IS NULL AND NEW.user_agent = '' AND NEW.before IS NULL AND NEW.after IS NULL
     AND NEW.reason = '' AND NEW.metadata IS NULL AND NEW.pii_salt IS NULL AND NEW.erased_at IS NOT NULL THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- audit_event_about: is an event about a person? They did it (actor_id),
-- it was done to them (target_id), or its snapshots, metadata or reason
-- name their id, email or display name (4 characters or more).
CREATE FUNCTION audit_event_about(p_actor text, p_target text, p_body text, p_user uuid, p_email text, p_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT p_actor = p_user::text OR p_target = p_user::text
      OR strpos(lower(p_body), p_user::text) > 0
      OR strpos(lower(p_body), lower(p_email)) > 0
      OR (length(p_name) >= 4 AND strpos(lower(p_body), lower(p_name)) > 0)
$$;

-- audit_erase blanks the personal fields of one chain's events about a
-- person (audit_event_about). Scheme 2: fields and salt, the commitment
-- stays. Scheme 1: only the events the application attested (p_v1_ids,
-- with their redaction MACs). privacy.* events (the requests themselves,
-- which carry ids only) are kept. Only privacy_erase_member() calls it.
CREATE FUNCTION audit_erase(p_org uuid, p_user uuid, p_email text, p_name text, p_v1_ids bigint[], p_v1_macs bytea[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  n bigint;
  n1 bigint;
BEGIN
  UPDATE audit_events e
     SET ip = NULL, user_agent = '', before = NULL, after = NULL, reason = '', metadata = NULL,
         pii_salt = NULL, erased_at = now()
   WHERE e.organization_id IS NOT DISTINCT FROM p_org
     AND e.scheme = 2 AND e.pii_salt IS NOT NULL AND e.action NOT LIKE 'privacy.%'
     AND audit_event_about(e.actor_id, e.target_id, concat_ws(' ', e.before::text, e.after::text, e.metadata::text, e.reason),
                           p_user, p_email, p_name);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE audit_events e
     SET ip = NULL, user_agent = '', before = NULL, after = NULL, reason = '', metadata = NULL,
         redaction_mac = v.mac, erased_at = now()
    FROM unnest(coalesce(p_v1_ids, '{}'), coalesce(p_v1_macs, '{}')) AS v(id, mac)
   WHERE e.id = v.id AND e.organization_id IS NOT DISTINCT FROM p_org
     AND e.scheme = 1 AND e.redaction_mac IS NULL AND e.action NOT LIKE 'privacy.%'
     AND audit_event_about(e.actor_id, e.target_id, concat_ws(' ', e.before::text, e.after::text, e.metadata::text, e.reason),
                           p_user, p_email, p_name);
  GET DIAGNOSTICS n1 = ROW_COUNT;
  RETURN n + n1;
END
$$;
GRANT SELECT, UPDATE ON audit_events TO rampart_audit_eraser;
GRANT CREATE ON SCHEMA public TO rampart_audit_eraser;
ALTER FUNCTION audit_erase(uuid, uuid, text, text, bigint[], bytea[]) OWNER TO rampart_audit_eraser;
REVOKE CREATE ON SCHEMA public FROM rampart_audit_eraser;
REVOKE ALL ON FUNCTION audit_erase(uuid, uuid, text, text, bigint[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_erase(uuid, uuid, text, text, bigint[], bytea[]) TO rampart_service;

-- 2. Data subject requests: an admin's export or erasure of one member of
-- the admin's organization. An export's archive waits here until its one
-- download (then it is deleted); only the SHA-256 of the download link's
-- token is stored. The subject is kept as a user id only (no email, no
-- name), so the record of an erasure holds nothing to erase.
CREATE TABLE privacy_requests (
  organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  kind            text        NOT NULL CHECK (kind IN ('export', 'erasure')),
  subject_user_id uuid        NOT NULL,
  requested_by    uuid        NOT NULL,
  status          text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'ready', 'downloaded', 'completed', 'failed')),
  outcome         json,
  error           text        NOT NULL DEFAULT '' CHECK (length(error) <= 500),
  archive         bytea       CHECK (archive IS NULL OR octet_length(archive) <= 268435456),
  archive_sha256  bytea       CHECK (archive_sha256 IS NULL OR octet_length(archive_sha256) = 32),
  archive_bytes   bigint      CHECK (archive_bytes IS NULL OR archive_bytes >= 0),
  link_token_hash bytea       CHECK (link_token_hash IS NULL OR octet_length(link_token_hash) = 32),
  link_expires_at timestamptz,
  downloaded_at   timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz,
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, link_token_hash),
  CHECK (kind = 'export' OR (archive IS NULL AND link_token_hash IS NULL)),
  CHECK (status <> 'ready' OR (kind = 'export' AND archive IS NOT NULL)),
  CHECK (status <> 'pending' OR completed_at IS NULL),
  CHECK ((link_token_hash IS NULL) = (link_expires_at IS NULL)),
  CHECK (status <> 'downloaded' OR (archive IS NULL AND downloaded_at IS NOT NULL))
);
CREATE INDEX privacy_requests_org_time_idx ON privacy_requests (organization_id, created_at DESC);
-- The export worker's queue: pending exports, oldest first.
CREATE INDEX privacy_requests_pending_idx ON privacy_requests (organization_id, created_at)
  WHERE status = 'pending' AND kind = 'export';
ALTER TABLE privacy_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE privacy_requests FORCE ROW LEVEL SECURITY;
-- Only the organization's admins see and make requests (a data subject's
-- request goes through them); nobody deletes one at run time (no grant).
CREATE POLICY privacy_requests_admin_select ON privacy_requests FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
CREATE POLICY privacy_requests_admin_insert ON privacy_requests FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin'
              AND requested_by = (SELECT current_user_id()));
CREATE POLICY privacy_requests_admin_update ON privacy_requests FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin')
  WITH CHECK (organization_id = (SELECT current_user_org_id()) AND (SELECT current_user_role()) = 'admin');
GRANT SELECT, INSERT, UPDATE ON privacy_requests TO rampart_app;
GRANT SELECT, INSERT, UPDATE ON privacy_requests TO rampart_service;

-- 3. Erasure of one member of the caller's organization, in the caller's
-- transaction (an admin's claims; the subject must be a member, not the
-- caller). Atomic: everything below commits with the request's outcome and
-- audit event, or nothing does.
--
--   * the organization's audit events about them: personal fields erased
--     (audit_erase);
--   * their sessions active in this organization: deleted (IP, user agent);
--   * invites in this organization to their email: the email pseudonymised;
--   * their membership of this organization: deleted; exports of them not
--     yet downloaded: failed, archive deleted;
--   * only when no membership remains anywhere: the global user row (email,
--     display name; login links and remaining sessions cascade), sign-up
--     requests with their email, and the platform chain's events about them.
--
-- Rows of the organization that reference them by id (author_id,
-- created_by, ...) keep the id: with the membership (and, last, the user
-- row) gone, it no longer leads to a person in this organization.
CREATE FUNCTION privacy_erase_member(p_user uuid, p_v1_ids bigint[], p_v1_macs bytea[]) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  org uuid := current_user_org_id();
  em text;
  nm text;
  n_events bigint;
  n_v1 bigint;
  n_sessions bigint;
  n_invites bigint;
  n_platform bigint := 0;
  remaining bigint;
  forgotten boolean := false;
BEGIN
  IF org IS NULL OR current_user_role() IS DISTINCT FROM 'admin' THEN
    RAISE EXCEPTION 'privacy_erase_member: only an admin of the organization may erase a member'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_user = current_user_id() THEN
    RAISE EXCEPTION 'privacy_erase_member: an admin cannot erase themself' USING ERRCODE = 'check_violation';
  END IF;
  SELECT u.email, u.display_name INTO em, nm
    FROM users u JOIN memberships m ON m.user_id = u.id AND m.organization_id = org
   WHERE u.id = p_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'privacy_erase_member: no such member' USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM 1 FROM users WHERE id = p_user FOR UPDATE;

  n_events := audit_erase(org, p_user, em, nm, p_v1_ids, p_v1_macs);
  -- Scheme-1 events about them the application could not attest (their
  -- MAC did not verify): kept, and counted.
  SELECT count(*) INTO n_v1 FROM audit_events e
   WHERE e.organization_id = org AND e.scheme = 1 AND e.redaction_mac IS NULL AND e.action NOT LIKE 'privacy.%'
     AND audit_event_about(e.actor_id, e.target_id, concat_ws(' ', e.before::text, e.after::text, e.metadata::text, e.reason), p_user, em, nm);
  DELETE FROM sessions WHERE user_id = p_user AND active_organization_id = org;
  GET DIAGNOSTICS n_sessions = ROW_COUNT;
  UPDATE invites SET email = 'erased-' || replace(id::text, '-', '') || '@erased.invalid'
   WHERE organization_id = org AND email = em;
  GET DIAGNOSTICS n_invites = ROW_COUNT;
  DELETE FROM memberships WHERE organization_id = org AND user_id = p_user;
  -- An export of them not yet downloaded would keep their data: it goes.
  UPDATE privacy_requests SET status = 'failed', archive = NULL, link_token_hash = NULL, link_expires_at = NULL,
         error = 'the subject was erased before the export was downloaded'
   WHERE organization_id = org AND subject_user_id = p_user AND kind = 'export' AND status IN ('pending', 'ready');

  SELECT count(*) INTO remaining FROM memberships WHERE user_id = p_user;
  IF remaining = 0 THEN
    n_platform := audit_erase(NULL, p_user, em, nm, NULL, NULL);
    DELETE FROM signups WHERE email = em;
    DELETE FROM users WHERE id = p_user;
    forgotten := true;
  END IF;
  -- audit_events_erased is what `rampart audit verify` checks this
  -- chain's erased events against (decision 0019).
  RETURN json_build_object('audit_events_erased', n_events, 'platform_events_erased', n_platform, 'audit_events_kept_scheme1', n_v1,
    'sessions_deleted', n_sessions, 'invites_pseudonymised', n_invites, 'membership_removed', true,
    'other_memberships', remaining, 'user_erased', forgotten);
END
$$;
GRANT CREATE ON SCHEMA public TO rampart_service; -- for the transfer only
ALTER FUNCTION privacy_erase_member(uuid, bigint[], bytea[]) OWNER TO rampart_service;
REVOKE ALL ON FUNCTION privacy_erase_member(uuid, bigint[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy_erase_member(uuid, bigint[], bytea[]) TO rampart_app;
REVOKE CREATE ON SCHEMA public FROM rampart_service;
