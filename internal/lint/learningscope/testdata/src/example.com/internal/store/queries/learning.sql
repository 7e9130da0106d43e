-- name: LearnedWeights
SELECT feature, adjustment FROM learned_weights WHERE organization_id = $1 AND ranker = $2
