-- Periodic work (periodic.go): a task runs once per cluster per interval,
-- whichever process claims its periodic_runs row first (service path).

-- name: ClaimPeriodic
-- Starts a run of a task unless one started less than $2 ago. ON CONFLICT
-- locks the row and re-evaluates the condition on its latest version, so
-- of several processes ticking at once exactly one gets a row back.
INSERT INTO periodic_runs (task, last_started_at, run_by) VALUES ($1, now(), $3)
ON CONFLICT (task) DO UPDATE SET last_started_at = now(), run_by = $3, runs = periodic_runs.runs + 1,
  last_finished_at = NULL, last_result = '', last_error = ''
WHERE periodic_runs.last_started_at <= now() - $2::interval
RETURNING runs

-- name: FinishPeriodic
UPDATE periodic_runs SET last_finished_at = now(), last_result = left($2, 500), last_error = left($3, 500)
WHERE task = $1

-- name: PeriodicRuns
SELECT task, last_started_at, last_finished_at, last_result, last_error, run_by, runs
FROM periodic_runs ORDER BY task
