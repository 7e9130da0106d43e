// Package backup takes Rampart's backups and runs restore drills on them.
//
// A backup is one tar file holding two entries, in this order:
//
//	manifest.json  what the backup claims: when it was taken, the
//	               PostgreSQL and schema versions, the exact row count of
//	               every table, every audit chain's head (event count,
//	               newest event, newest seal) and the dump's size and
//	               SHA-256
//	rampart.dump   pg_dump's custom format (compressed), made by the
//	               pg_dump of the PostgreSQL installation the embedded
//	               cluster uses
//
// The manifest's facts are read inside the very snapshot pg_dump dumps
// (pg_export_snapshot, pg_dump --snapshot), so they describe the dump
// exactly even while Rampart keeps serving.
//
// A drill (Drill) proves a backup restores: it checks the dump against
// the manifest's checksum, restores it into a scratch database (created
// and dropped by the drill), checks the migrations are complete, runs the
// RLS audit as the runtime login would, verifies every audit chain
// against the manifest's heads, and compares every table's row count and
// every chain's head with the manifest. Any mismatch is a failed check
// with a sentence naming it; the drill never changes the live database
// (the caller records the result there, store.Operations).
//
// The package runs no SQL of its own: the database work is the store's
// (store.OpenBackupSnapshot, store.ReadBackupFacts, the scratch database
// helpers), the rest is files and the PostgreSQL client programs.
package backup
