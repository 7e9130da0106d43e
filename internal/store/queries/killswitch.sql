-- Kill switches (killswitch.go): the global switch (service path), each
-- organization's switch (its admins, or the platform, which can lock it
-- against them) and the combined state every process holds in memory.
-- Triggers of migration 005 NOTIFY on every change.

-- fragment: org_kill_columns
organization_id, active, reason, changed_by, changed_at, platform_locked

-- fragment: global_kill_columns
active, reason, changed_by, changed_at

-- name: KillSwitchState
SELECT scope, organization_id, active, reason, changed_at FROM killswitch_state()

-- name: OrgKillSwitch
SELECT ${org_kill_columns} FROM org_kill_switches WHERE organization_id = $1

-- name: SetOrgKill
INSERT INTO org_kill_switches (organization_id, active, reason, changed_by, changed_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (organization_id) DO UPDATE SET active = EXCLUDED.active, reason = EXCLUDED.reason,
  changed_by = EXCLUDED.changed_by, changed_at = now()
RETURNING ${org_kill_columns}

-- name: SetOrgKillPlatform
-- The platform's (service path) version: an activation locks the switch
-- against the organization's admins; a deactivation unlocks it. It writes
-- every column of the switch, in the order of org_kill_columns.
INSERT INTO org_kill_switches (${org_kill_columns})
VALUES ($1, $2, $3, $4, now(), $2)
ON CONFLICT (organization_id) DO UPDATE SET active = EXCLUDED.active, reason = EXCLUDED.reason,
  changed_by = EXCLUDED.changed_by, changed_at = now(), platform_locked = EXCLUDED.platform_locked
RETURNING ${org_kill_columns}

-- name: GlobalKill
SELECT ${global_kill_columns} FROM platform_kill_switch

-- name: SetGlobalKill
UPDATE platform_kill_switch SET active = $1, reason = $2, changed_by = $3, changed_at = now()
RETURNING ${global_kill_columns}

-- name: GlobalKillHistory
-- The global switch's changes, newest first, from the audit log (platform
-- events: organization_id NULL, read through audit_events_org_time_idx).
SELECT occurred_at, action = 'killswitch.activated', actor_id, reason
FROM audit_events
WHERE organization_id IS NULL AND target_type = 'kill_switch' AND target_id = 'global'
  AND action IN ('killswitch.activated', 'killswitch.deactivated')
ORDER BY occurred_at DESC, id DESC
LIMIT $1

-- name: OrgKillSwitches
-- Every organization with its switch (off when never set), those switched
-- off first; at most $1.
SELECT o.id, o.name, o.slug, coalesce(k.active, false), coalesce(k.reason, ''), coalesce(k.changed_by, ''),
  k.changed_at, coalesce(k.platform_locked, false)
FROM organizations o LEFT JOIN org_kill_switches k ON k.organization_id = o.id
ORDER BY coalesce(k.active, false) DESC, o.name, o.id
LIMIT $1
