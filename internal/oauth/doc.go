// Package oauth is the one door to OAuth 2.0 authorization servers: the
// only importer of golang.org/x/oauth2, and the only code that sends a
// client secret, an authorization code, a PKCE verifier or a token to a
// provider.
//
// It guarantees: every authorization request carries a PKCE S256
// challenge and a state; the client authenticates in the configured
// style only (never auto-detected, so a code is never sent twice); every
// call has a time limit; tokens come back as rampart.Secret, which neither
// prints nor logs; and a provider's failure comes back as *Error, whose
// text holds the provider's error code and description and never the
// body of a response (which could echo a token).
//
// Revocation (RFC 7009) is not in golang.org/x/oauth2; Revoke implements
// it with the same HTTP client.
package oauth
