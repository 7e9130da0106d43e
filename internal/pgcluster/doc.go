// Package pgcluster runs a private PostgreSQL cluster from the server
// binaries installed on the machine.
//
// It is Rampart's embedded default (no DATABASE_URL) and the engine of the
// test harness. The cluster listens on a unix socket only (no TCP), in a
// socket directory readable by its owner alone, and is stopped with a fast
// shutdown when the owning process stops. PostgreSQL refuses to run as root;
// when Rampart runs as root, the cluster runs as an unprivileged system user
// (postgres by default) instead of failing.
//
// Guarantees:
//   - At most one process manages a cluster's lifecycle at a time (an flock
//     on the data directory's lock file); others attach as clients.
//   - The postmaster is a child of the managing process with a parent-death
//     signal, so a crashed or killed manager does not leave a server behind.
//   - A second long-running manager (two `rampart serve` on one data
//     directory) is refused with a message naming the other process.
package pgcluster
