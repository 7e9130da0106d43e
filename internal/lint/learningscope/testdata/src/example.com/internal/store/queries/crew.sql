-- name: ListCrew
SELECT id FROM crew_members WHERE organization_id = $1

-- want "learning-scope: queries/crew.sql: RankCrew names the learned-state table learned_weights"
-- name: RankCrew
SELECT c.id FROM crew_members c JOIN learned_weights w ON w.organization_id = c.organization_id WHERE c.organization_id = $1
