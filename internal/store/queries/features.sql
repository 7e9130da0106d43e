-- Organization feature flags (features.go, migration 024): members read
-- their own organization's row through row-level security; only the
-- service path writes. A missing row is the defaults (every flag on).

-- fragment: feature_columns
-- What a member may read (the runtime role's column grant): not who made
-- the change.
ai, chat, reason, updated_at

-- name: OrgFeatures
SELECT ${feature_columns} FROM organization_features WHERE organization_id = $1

-- name: OrgFeaturesForUpdate
-- The service path's read before a change: the row lock orders two
-- operators changing the same organization's flags.
SELECT ${feature_columns} FROM organization_features WHERE organization_id = $1 FOR UPDATE

-- name: SetOrgFeatures
INSERT INTO organization_features (organization_id, ai, chat, reason, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (organization_id) DO UPDATE SET ai = EXCLUDED.ai, chat = EXCLUDED.chat, reason = EXCLUDED.reason,
  updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING ${feature_columns}

-- name: JobOrgAIFeature
-- The worker's check before each attempt (Jobs.Claims), under the job's
-- claims: whether the organization's ai flag is on (true without a row).
SELECT coalesce((SELECT f.ai FROM organization_features f WHERE f.organization_id = $1), true)
