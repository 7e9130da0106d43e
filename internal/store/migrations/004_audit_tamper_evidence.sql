-- Tamper evidence and retention for the audit log (docs/audit.md).

-- Seals: per chain (an organization, or 'platform'), a hash-linked list of
-- checkpoints. A seal covers the chain's events whose transaction ids are
-- in [from_xid, to_xid) — transactions that had all ended when it was made —
-- with a digest of their MACs; its own MAC (application key) covers every
-- field and the previous seal's MAC. A purge record notes what retention
-- removed. Only the service path reads or writes seals.
CREATE TABLE audit_seals (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain           text        NOT NULL CHECK (chain = 'platform' OR chain ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  seq             bigint      NOT NULL CHECK (seq > 0),
  kind            text        NOT NULL CHECK (kind IN ('seal', 'purge')),
  from_xid        xid8        NOT NULL,
  to_xid          xid8        NOT NULL,
  event_count     bigint      NOT NULL CHECK (event_count >= 0),
  max_occurred_at timestamptz NOT NULL,
  digest          bytea       NOT NULL,
  purged_through  bigint      NOT NULL DEFAULT 0,
  sealed_at       timestamptz NOT NULL,
  prev_mac        bytea,
  mac_key_id      text        NOT NULL,
  mac             bytea       NOT NULL CHECK (length(mac) = 32),
  UNIQUE (chain, seq)
);
ALTER TABLE audit_seals ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_seals FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON audit_seals TO rampart_service;

-- Append-only, for everyone (owner included): row triggers refuse UPDATE
-- and DELETE, a statement trigger refuses TRUNCATE (row triggers do not
-- fire on it). The one exception is DELETE of events by
-- rampart_audit_purger, a NOLOGIN role that only audit_purge() runs as.
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events' AND current_user = 'rampart_audit_purger' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Retention: delete a chain's events below a seal boundary. The database
-- checks the boundary itself: it must be the end of a seal of that chain
-- whose newest event is older than 12 months, and no event it would delete
-- may be younger than that (the floor no configuration can go below), so a
-- misused service path cannot erase recent history.
CREATE FUNCTION audit_purge(p_chain text, p_through_xid xid8) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_seals s
                 WHERE s.chain = p_chain AND s.kind = 'seal' AND s.to_xid = p_through_xid
                   AND s.max_occurred_at < now() - interval '12 months') THEN
    RAISE EXCEPTION 'audit_purge: % is not the end of a seal of chain % older than 12 months', p_through_xid, p_chain
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- The seal row is not trusted alone (the service path can insert seals):
  -- no event younger than the floor may be deleted, whatever it says.
  IF EXISTS (SELECT 1 FROM audit_events e
             WHERE e.xact_id < p_through_xid
               AND (CASE WHEN p_chain = 'platform' THEN e.organization_id IS NULL
                         ELSE e.organization_id = p_chain::uuid END)
               AND e.occurred_at >= now() - interval '12 months') THEN
    RAISE EXCEPTION 'audit_purge: chain % has events younger than 12 months below %', p_chain, p_through_xid
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM audit_events e
   WHERE e.xact_id < p_through_xid
     AND (CASE WHEN p_chain = 'platform' THEN e.organization_id IS NULL
               ELSE e.organization_id = p_chain::uuid END);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
GRANT SELECT, DELETE ON audit_events TO rampart_audit_purger;
GRANT SELECT ON audit_seals TO rampart_audit_purger;
GRANT CREATE ON SCHEMA public TO rampart_audit_purger;
ALTER FUNCTION audit_purge(text, xid8) OWNER TO rampart_audit_purger;
REVOKE CREATE ON SCHEMA public FROM rampart_audit_purger;
REVOKE ALL ON FUNCTION audit_purge(text, xid8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge(text, xid8) TO rampart_service;
