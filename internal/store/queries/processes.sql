-- Running processes and their kill-switch acknowledgements (processes.go,
-- migration 025). Service path only.

-- name: RegisterProcess
INSERT INTO rampart_processes (id, role, hostname, pid, version) VALUES ($1, $2, $3, $4, $5)
RETURNING started_at

-- name: PruneProcesses
-- Processes stopped, or unseen, for longer than the retention; their
-- acknowledgements go with them (ON DELETE CASCADE).
DELETE FROM rampart_processes WHERE coalesce(stopped_at, last_seen) < now() - $1::interval

-- name: PruneGlobalAcks
-- Acknowledgements older than the retention, except those of the global
-- switch's current change (a process running for longer still holds it).
DELETE FROM killswitch_acks
WHERE recorded_at < now() - $1::interval
  AND switch_changed_at <> (SELECT changed_at FROM platform_kill_switch)

-- name: PruneOrgAcks
-- Every organization's acknowledgements past the retention, reached
-- through the tenant root on organization_id (the primary key's prefix),
-- each switch's current change kept.
DELETE FROM org_killswitch_acks a USING organizations r
WHERE a.organization_id = r.id
  AND a.recorded_at < now() - $1::interval
  AND a.switch_changed_at IS DISTINCT FROM (SELECT o.changed_at FROM org_kill_switches o WHERE o.organization_id = a.organization_id)

-- name: HeartbeatProcess
UPDATE rampart_processes SET last_seen = greatest(now(), started_at), state_loaded_at = coalesce(state_loaded_at, $2)
WHERE id = $1 AND stopped_at IS NULL

-- name: StopProcess
UPDATE rampart_processes SET stopped_at = now(), last_seen = greatest(now(), started_at)
WHERE id = $1 AND stopped_at IS NULL

-- name: RecordGlobalAck
INSERT INTO killswitch_acks (process_id, switch_changed_at, active, installed_at, jobs_stopped, streams_closed)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (process_id, switch_changed_at) DO UPDATE SET
  jobs_stopped = killswitch_acks.jobs_stopped + EXCLUDED.jobs_stopped,
  streams_closed = killswitch_acks.streams_closed + EXCLUDED.streams_closed,
  installed_at = least(killswitch_acks.installed_at, EXCLUDED.installed_at),
  recorded_at = now()
RETURNING switch_changed_at, jobs_stopped, streams_closed

-- name: RecordOrgAck
-- $2 NULL: the switch was seen off, and the process state holds no
-- change time for it; the switch's row has it. Nothing is written for an
-- organization that no longer exists.
INSERT INTO org_killswitch_acks (organization_id, switch_changed_at, process_id, active, installed_at, jobs_stopped, streams_closed)
SELECT o.organization_id, coalesce($2, o.changed_at), $3, $4, $5, $6, $7
FROM org_kill_switches o WHERE o.organization_id = $1
ON CONFLICT (organization_id, switch_changed_at, process_id) DO UPDATE SET
  jobs_stopped = org_killswitch_acks.jobs_stopped + EXCLUDED.jobs_stopped,
  streams_closed = org_killswitch_acks.streams_closed + EXCLUDED.streams_closed,
  installed_at = least(org_killswitch_acks.installed_at, EXCLUDED.installed_at),
  recorded_at = now()
RETURNING switch_changed_at, jobs_stopped, streams_closed

-- fragment: process_columns
p.id, p.role, p.hostname, p.pid, p.version, p.started_at, p.last_seen, p.state_loaded_at,
  now() - p.last_seen > $1::interval

-- fragment: ack_columns
-- An acknowledgement's columns, read beside its process's.
a.active, a.installed_at, a.recorded_at, a.jobs_stopped, a.streams_closed

-- name: GlobalSwitchAcks
-- Every live (not stopped) process and its acknowledgement, if any, of the
-- global switch's change at $2.
SELECT ${process_columns}, ${ack_columns}
FROM rampart_processes p
LEFT JOIN killswitch_acks a ON a.process_id = p.id AND a.switch_changed_at = $2
WHERE p.stopped_at IS NULL
ORDER BY p.started_at, p.id
LIMIT 1000

-- name: OrgSwitchAcks
SELECT ${process_columns}, ${ack_columns}
FROM rampart_processes p
LEFT JOIN org_killswitch_acks a ON a.organization_id = $3 AND a.process_id = p.id AND a.switch_changed_at = $2
WHERE p.stopped_at IS NULL
ORDER BY p.started_at, p.id
LIMIT 1000
