// Package store is the only door to PostgreSQL.
//
// Every statement the application runs goes through one of two functions:
//
//   - InTenant(ctx, claims, fn) opens a transaction whose first statements,
//     sent in one pipelined batch, set the tenant claims with
//     set_config('request.jwt.claims', $1, true) and switch to the
//     rampart_app role; fn runs inside it; the transaction commits.
//   - AsService(ctx, reason, fn) opens a transaction as rampart_service (the
//     system path that bypasses row-level security) and records an audit
//     event with the reason in the same transaction.
//
// The pool is never exposed and Tx has no method that runs arbitrary SQL
// outside this package, so no other package can begin a transaction or run
// a query outside these two (a test of the import graph keeps it so).
// Tenant context is transaction-local by construction: a pooled connection
// carries no claims and no role from one transaction into the next.
//
// The runtime login may be NOINHERIT: outside a store transaction it holds
// no table privileges at all, so a connection used by mistake fails closed.
package store
