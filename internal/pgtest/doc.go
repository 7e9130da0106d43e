// Package pgtest is the integration-test harness: real PostgreSQL, one
// throw-away cluster per test binary, one database per test.
//
// A package's TestMain calls Main with a Prepare function that migrates the
// template database. When RAMPART_TEST_DATABASE_URL (a superuser URL) is
// unset, Main starts a private cluster (fsync off, socket in a fresh temp
// directory, no TCP); New then clones the migrated template into a fresh
// database for each test (CREATE DATABASE … TEMPLATE, STRATEGY FILE_COPY)
// and drops it when the test ends.
//
// Tests connect as the runtime login, never as a superuser, because a
// superuser silently bypasses row-level security. The superuser URL is
// there for set-up and for tests that tamper on purpose.
//
// Cleanup: the cluster stops and its directory is removed when the test
// binary ends; if the binary dies (panic, timeout, SIGKILL), the
// postmaster's parent-death signal stops the server and the next run
// removes the orphaned directory.
package pgtest
