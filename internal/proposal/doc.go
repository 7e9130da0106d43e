// Package proposal holds the proposal use cases: list, create, read,
// update and approve an organization's proposals. Each function takes the
// store, the caller's claims and a validated input, checks access (by
// role and, for a proposal tied to a venue, by venue code), runs the store
// calls in one tenant transaction and applies the rules: a venue code must
// name one of the organization's venues the caller can see, and approving
// with the version the caller saw approves only that version.
//
// A proposal the caller may not read is not found, whether it belongs to
// another organization (row-level security) or to a venue outside the
// caller's scope (access.Can). The JSON API, the console and the agent
// route all call these functions.
package proposal
