-- The statements that open and end a store transaction (tx.go), sent as
-- one pipelined batch with the claims and, at the end, the audit rows.
-- The role names are the Go constants AppRole and ServiceRole, written
-- out here; TestNamedQueries checks that they match.

-- name: Begin
BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE

-- name: BeginReadOnly
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY

-- name: SetClaims
-- Transaction-local claims (set_config(…, true)): they end with the
-- transaction. The rls-audit probe sets and resets them with the same
-- statement.
SELECT pg_catalog.set_config('request.jwt.claims', $1, true)

-- name: SetAppRole
SET LOCAL ROLE rampart_app

-- name: SetSvcRole
SET LOCAL ROLE rampart_service

-- name: Commit
COMMIT

-- name: Rollback
ROLLBACK
