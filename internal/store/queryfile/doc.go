// Package queryfile reads the store's named-query files (issue #11: SQL in
// .sql files): a file is a sequence of blocks, each starting at a line
// "-- name: Name" (a statement) or "-- fragment: name" (text that
// statements and other fragments include as ${name}). Comment lines before
// the first block are the file's documentation; comment lines inside a
// block are dropped.
//
// The store reads its embedded queries with it at start-up, and the SQL
// analyzers of cmd/rampart-lint (internal/lint) read the same files on disk
// with it, so both see exactly the statements the store sends. It
// guarantees: a block is never empty, a name is defined once per kind, a
// fragment that includes itself or an unknown fragment is an error, and
// every block carries the line of its header for diagnostics.
package queryfile
