// Package edge is the HTTP edge every request passes before a handler: the
// middleware chain (request id, security headers and the CSP nonce,
// Cache-Control no-store on /api and /auth, the client address behind
// trusted proxies, panic recovery, cross-origin protection including
// Sec-Fetch-Site, request log and metrics), authentication of a session
// cookie or API token into live claims, rate limits with their failure
// budgets, the route kinds, problem+json, strict JSON decoding and the
// OpenAPI registry served at /openapi.json.
//
// Guarantees:
//   - A route is reachable only when registered on a Router, and only by
//     kind: Public (PublicHandler), Authed (AuthedHandler, given live
//     claims) or Agent (AgentHandler, given an AgentCall that only Agent
//     can build after the role tier and venue scope checks). The handler
//     types differ, so an authenticated handler cannot be mounted without
//     authentication.
//   - A route with a body is registered once, with its request type
//     (PublicJSON, AuthedJSON): that type's schema is both what the body
//     is validated against and what /openapi.json publishes. Nothing
//     outside this package decodes a request body.
//   - Every answer carries the security headers; every error, panic, 404
//     and 405 is problem+json, and internal detail reaches only the log.
//   - A public route states its rate-limit budget where it is registered;
//     an authenticated one draws on its organization's and principal's
//     budgets, and a valid credential is never refused by an address's
//     failure budget.
//
// Resources register their own routes on the Router (internal/api for
// JSON, internal/console for pages); the edge knows none of them.
package edge
