-- Learned ranking state (learnedstate.go), per organization and never
-- pooled. Only internal/learning reaches these statements.

-- name: LearnedWeights
SELECT feature, adjustment, observations FROM learned_weights
WHERE organization_id = $1 AND ranker = $2 ORDER BY feature

-- name: AdjustLearnedWeight
-- Adds $4 to the feature's adjustment, clamped to ±$5 (the table's CHECK
-- holds the outer bound too).
INSERT INTO learned_weights (organization_id, ranker, feature, adjustment, observations)
VALUES ($1, $2, $3, greatest(-$5::float8, least($5::float8, $4::float8)), 1)
ON CONFLICT (organization_id, ranker, feature) DO UPDATE
SET adjustment = greatest(-$5::float8, least($5::float8, learned_weights.adjustment + $4::float8)),
    observations = learned_weights.observations + 1, updated_at = now()
RETURNING adjustment

-- name: InsertLearningFeedback
INSERT INTO learning_feedback (organization_id, ranker, approved, signals, actor_id) VALUES ($1, $2, $3, $4::jsonb, $5)

-- name: CountLearnedState
SELECT (SELECT count(*) FROM learned_weights WHERE organization_id = $1),
       (SELECT count(*) FROM learning_feedback WHERE organization_id = $1)

-- name: ResetLearnedWeights
WITH d AS (DELETE FROM learned_weights WHERE organization_id = $1 RETURNING 1) SELECT count(*) FROM d

-- name: ResetLearningFeedback
WITH d AS (DELETE FROM learning_feedback WHERE organization_id = $1 RETURNING 1) SELECT count(*) FROM d
