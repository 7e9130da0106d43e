// Package member holds the use cases of organization administration:
// memberships, invitations and API tokens. Each function takes the store,
// the caller's claims and a validated input; it checks the caller may
// manage members before any database work, runs the store calls in one
// tenant transaction and applies the rules: a grant never exceeds its
// grantor (the store enforces it too), the last admin stays, an invite's
// link is mailed after its row commits and a token is signed inside the
// transaction that records it (a signing failure leaves no row).
//
// The JSON API, the console and the CLI call these functions; another
// organization's member, invite or token is not found.
package member
