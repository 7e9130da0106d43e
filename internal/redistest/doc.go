// Package redistest starts private redis-server processes for tests, as
// pgtest does for PostgreSQL: each server listens only on a unix socket in
// a fresh temporary directory, keeps nothing on disk, and is stopped (and
// its directory removed) when the test ends. The server is started with
// Pdeathsig, so it also goes away if the test binary dies.
package redistest
