// Package venue holds the venue use cases: list, create, read, update and
// delete an organization's venues. Each function takes the store, the
// caller's claims and a validated input; it checks access before any
// database work where it can, runs the store calls in one tenant
// transaction and applies the rules (a venue code never changes). The
// JSON API, the console and the CLI call these functions; none of them
// repeats the checks.
//
// Venues are scoped twice: access.Check decides by role and venue code,
// and row-level security filters a venue manager to their venue codes
// whatever the caller does. Another organization's venue is not found.
package venue
