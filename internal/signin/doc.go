// Package signin holds the identity use cases before a tenant exists:
// asking for a sign-in link, asking for a new organization (self-service
// sign-up), redeeming a magic link (an invite, a sign-in link or a sign-up
// link) and the mails that carry them.
//
// Its guarantee is that nothing an unauthenticated caller sees — the
// answer or its timing — tells a member from a stranger: a request
// reserves a background slot (the same for everyone, refused for everyone
// when too many are in flight) and touches no database before the caller
// is answered; the lookup, the link row, its audit event and the mail run
// after the answer, detached from the request, bounded in time, and
// Drain waits for them on shutdown. A link that does not redeem is
// recorded (which check failed) and answered like every other failure.
//
// The JSON API, the console's sign-in pages and the operators' commands
// call these functions.
package signin
