// Package auth holds Rampart's credential formats: the signed session
// cookie, API-token JWTs and magic-link tokens. It knows nothing of the
// database: a verified credential yields only an id (session, token) that
// the store resolves into live claims on every request.
//
// Guarantees:
//   - Session cookies are HMAC-SHA256 signed with a key id inside, verified
//     in constant time; old keys verify, the newest signs.
//   - API tokens are EdDSA JWTs verified with a fixed algorithm allow-list,
//     issuer, audience, required expiry and known key id; tokens that carry
//     key material or key URLs in their header are refused.
//   - Magic-link tokens are 32 random bytes; only their SHA-256 is stored.
//   - Parsers reject oversized or malformed input before any cryptography.
package auth
