// Package integration holds the use cases of an organization's
// connections to outside providers (accounting back-ends reached with
// OAuth 2.0): connect (authorization code with PKCE S256 and a state bound
// to the admin's session), the provider's callback, list, refresh and
// disconnect.
//
// It guarantees: only admins act (access.KindIntegration, and RLS again);
// a callback is honoured once, within ten minutes, for the admin, session,
// organization and provider that started it, its state compared in
// constant time; nothing is stored unless the provider returned a refresh
// token; every step, refusals included, is one audit event written in the
// transaction that decides it, and no event, log line or answer carries a
// token, code or verifier. Tokens are sealed by the store under the
// secrets key (RAMPART_SECRETS_KEY); this package sees them only as
// rampart.Secret, and talks to providers only through internal/oauth.
package integration
