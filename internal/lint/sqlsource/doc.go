// Package sqlsource gives the SQL analyzers of internal/lint the SQL a
// package embeds: every .sql file named by a //go:embed directive of the
// package, read from disk (so a checker sees the tree it checks, not the
// one it was built from), split into statements and parsed with the real
// PostgreSQL parser (github.com/pganalyze/pg_query_go, libpg_query).
//
// A file with "-- name:" blocks is a queries file: it is read with the
// store's own reader (internal/store/queryfile), fragments substituted, and
// each statement is positioned at its header line. Any other file is a
// plain script (a migration): each statement is positioned at its first
// line. Files are registered in the pass's file set so diagnostics carry
// the .sql file and line. A file the parser refuses is returned as an
// error with its position; callers report it, never skip it.
package sqlsource
