-- The audit log (audit.go, auditlog.go): the event insert that rides with
-- every COMMIT, and the log's maintenance. Sealing, retention and
-- verification run on the service path; reading and export run in the
-- tenant context (admins see their organization's events, row-level
-- security enforces it).

-- fragment: seal_columns
chain, seq, kind, from_xid::text::bigint, to_xid::text::bigint, event_count, max_occurred_at, digest,
  purged_through, sealed_at, prev_mac, mac_key_id, mac

-- fragment: chain_event_columns
id, event_key, organization_id, occurred_at, actor_type, actor_id, actor_scope, action,
  target_type, target_id, before, after, ip, user_agent, request_id, reason, metadata,
  xact_id, mac_key_id, mac, scheme, pii_salt, pii_commit, redaction_mac

-- fragment: audit_page_columns
-- An event as eachEvent (and the erasure's attestation) scan it.
id, event_key, organization_id, occurred_at, actor_type, actor_id, actor_scope::text, action,
  target_type, target_id, before::text, after::text, host(ip), user_agent, request_id, reason, metadata::text,
  0::bigint, mac_key_id, mac

-- fragment: event_chains
-- The chains that have events, found with a loose index scan over
-- (organization_id, …): one index probe per organization, not a pass over
-- the whole log.
WITH RECURSIVE orgs AS (
  (SELECT organization_id FROM audit_events WHERE organization_id IS NOT NULL ORDER BY organization_id LIMIT 1)
  UNION ALL
  SELECT (SELECT e.organization_id FROM audit_events e WHERE e.organization_id > o.organization_id
          ORDER BY e.organization_id LIMIT 1)
  FROM orgs o WHERE o.organization_id IS NOT NULL
)
SELECT organization_id::text FROM orgs WHERE organization_id IS NOT NULL
UNION ALL
SELECT 'platform' WHERE EXISTS (SELECT 1 FROM audit_events WHERE organization_id IS NULL)

-- name: InsertAudit
INSERT INTO audit_events
  (event_key, organization_id, occurred_at, actor_type, actor_id, actor_scope, action, target_type, target_id,
   before, after, ip, user_agent, request_id, reason, metadata, mac_key_id, mac, scheme, pii_salt, pii_commit)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)

-- name: Horizon
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint

-- name: LastSeals
-- The head of each chain: the last row's seq and MAC (seals and purge
-- records are linked in one list) and the end of the last seal-kind row's
-- range (a purge record covers no new transactions).
SELECT DISTINCT ON (chain) chain, seq, mac,
  (SELECT s2.to_xid::text::bigint FROM audit_seals s2 WHERE s2.chain = s.chain AND s2.kind = 'seal' ORDER BY s2.seq DESC LIMIT 1)
FROM audit_seals s ORDER BY chain, seq DESC

-- name: ChainMACsOrg
-- The chain predicate is "organization_id = $1" or "IS NULL" (platform),
-- written out as two statements so the (organization_id, xact_id, id)
-- index serves both the filter and the order.
SELECT mac, occurred_at FROM audit_events
WHERE organization_id = $1::uuid AND xact_id >= $2::text::xid8 AND xact_id < $3::text::xid8
ORDER BY organization_id, xact_id, id

-- name: ChainMACsPlatform
SELECT mac, occurred_at FROM audit_events
WHERE organization_id IS NULL AND xact_id >= $2::text::xid8 AND xact_id < $3::text::xid8 AND $1::text = 'platform'
ORDER BY organization_id, xact_id, id

-- name: InsertSeal
INSERT INTO audit_seals (chain, seq, kind, from_xid, to_xid, event_count, max_occurred_at, digest,
  purged_through, sealed_at, prev_mac, mac_key_id, mac)
VALUES ($1, $2, $3, $4::text::xid8, $5::text::xid8, $6, $7, $8, $9, $10, $11, $12, $13)

-- name: Seals
SELECT ${seal_columns}
FROM audit_seals WHERE chain = $1 ORDER BY seq

-- name: EventChains
${event_chains}

-- name: Chains
SELECT chain FROM (${event_chains}) AS ev(chain) UNION SELECT chain FROM audit_seals ORDER BY 1

-- name: HeadSeals
-- The newest row of every seal chain (a seal or a retention checkpoint):
-- the heads an anchor file records.
SELECT DISTINCT ON (chain) ${seal_columns}
FROM audit_seals ORDER BY chain, seq DESC

-- name: OrganizationExists
SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1::uuid)

-- name: CountEvents
SELECT count(*) FROM audit_events

-- name: CountOrgEvents
SELECT count(*) FROM audit_events WHERE organization_id = $1::uuid

-- name: SnapshotXmax
SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint

-- name: NewestXact
SELECT coalesce(max(xact_id::text::bigint), 0) FROM audit_events

-- name: Now
SELECT now()

-- name: SealedChains
SELECT DISTINCT chain FROM audit_seals ORDER BY 1

-- name: Purge
SELECT audit_purge($1, $2::text::xid8)

-- name: ChainEventsOrg
SELECT ${chain_event_columns}
FROM audit_events WHERE organization_id = $1::uuid ORDER BY organization_id, xact_id, id

-- name: ChainEventsPlatform
SELECT ${chain_event_columns}
FROM audit_events WHERE organization_id IS NULL AND $1::text = 'platform' ORDER BY organization_id, xact_id, id

-- name: AuditPage
-- Every parameter is typed: left to inference, "$6 = 0" made the cursor
-- an int4, and a cursor past 2^31 failed to encode.
SELECT ${audit_page_columns}
FROM audit_events
WHERE organization_id = $1::uuid
  AND ($2::timestamptz IS NULL OR occurred_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR occurred_at < $3::timestamptz)
  AND ($4::text = '' OR actor_id = $4::text)
  AND ($5::text = '' OR action = $5::text)
  AND ($6::bigint = 0 OR id < $6::bigint)
ORDER BY id DESC
LIMIT $7::bigint
