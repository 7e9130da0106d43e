-- Operations records (operations.go): restore drills. Service path only.

-- fragment: restore_drill_columns
id, recorded_at, started_at, finished_at, ok, backup_file, backup_taken_at, backup_sha256, backup_bytes,
  schema_version, restore_ms, total_ms, tables_checked, rows_checked, failed_checks, summary, checks, run_by

-- name: InsertRestoreDrill
INSERT INTO restore_drills (started_at, finished_at, ok, backup_file, backup_taken_at, backup_sha256, backup_bytes,
  schema_version, restore_ms, total_ms, tables_checked, rows_checked, failed_checks, summary, checks, run_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING ${restore_drill_columns}

-- name: LastRestoreDrill
SELECT ${restore_drill_columns}
FROM restore_drills ORDER BY recorded_at DESC, id DESC LIMIT 1
