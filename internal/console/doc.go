// Package console is Rampart's server-rendered pages: the home page, the
// sign-in pages (a magic link's landing and confirmation, the sign-in form,
// the sign-out button), the demo mailbox, and the signed-in workspace and
// administration pages (proposals, a proposal with its BOM, attachments,
// SOW and budget, members and invites, API tokens, the kill switch, the
// audit log, security, usage), with their html/template templates and
// static assets (htmx, the console's script and stylesheet) embedded.
// docs/console.md describes the pages.
//
// Guarantees:
//   - Pages are mounted on the edge (internal/edge) as public routes, each
//     with its rate-limit budget, so they carry the same security headers,
//     CSP nonce, cross-origin protection and rate limits as the API. Every
//     page sets Cache-Control: no-store.
//   - Signed-in pages are edge pages (edge.Router.Page): the chain of an
//     authenticated API route, every refusal rendered as an HTML page with
//     the same status by fail. Templates have no inline script, handler or
//     style attribute; scripts and the stylesheet load with the nonce
//     from content-hashed URLs.
//   - A role without full cost access gets pages built from the BOM type
//     without cost fields: cost, sourcing and lead time are absent from
//     the HTML, not hidden.
//   - Pages call the same use cases as the JSON API: internal/member for
//     who is signed in and signing out, internal/signin (given by the
//     composition as Options.SignIn) for the links. This package never
//     imports internal/api.
//   - A failed link is answered the same way whatever check failed; which
//     one is in the audit log. A magic link is consumed only by the POST
//     of its confirmation page, never by a GET.
//   - The demo mailbox answers only with --demo, to a loopback peer that
//     came through no proxy and holds the printed secret; everyone else
//     gets the 404 of a path that does not exist.
package console
