// Package operator is the local operator console (decision 0027): a small
// HTTP server, separate from the public listener, that `rampart operator
// console` binds to a loopback address for a platform operator on the
// machine. It shows the global AI kill switch with its reason and history
// and lets the operator raise or lower it with a mandatory reason, the
// acknowledgement of its latest change by each running process, and the
// organizations with their kill-switch state.
//
// What it guarantees:
//
//   - It is not part of the public web tier: the command that starts it
//     holds the service-path credentials (as every operator command does),
//     refuses a listen address that is not loopback, and refuses a request
//     whose Host is not the loopback address it listens on (DNS rebinding).
//   - One operator, one session: the URL it prints carries a random
//     one-time token; the first request that presents it gets a session
//     cookie (HttpOnly, SameSite=Strict, Path=/) and is redirected to the
//     same page without the token; the token is then spent. Every other
//     request needs the cookie; without it the answer is 401 and nothing
//     is read.
//   - Writes are forms with a per-session CSRF token, behind Go's
//     cross-origin protection (Sec-Fetch-Site / Origin): a cross-site POST
//     is refused 403 and changes nothing.
//   - Every response carries the main chain's security headers and a
//     nonce CSP (edge.SecurityHeaders); templates have no inline code.
//
// The pages call the same kill-switch use cases as the CLI through a
// Backend the command implements on the service path (only commands open
// it), so a change is audited exactly as `rampart killswitch on|off` is.
// Pages are grouped in sections (a small type per section, as in
// internal/console) so another section can be added beside them.
package operator
