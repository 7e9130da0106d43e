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
