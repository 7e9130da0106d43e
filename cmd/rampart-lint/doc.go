// Command rampart-lint runs Rampart's own analyzers (internal/lint) over
// packages, as go vet runs its own: `rampart-lint ./...` (make lint). Each
// finding is "file:line:col: rule: message"; docs/guardrails.md says why
// each rule exists and how an exception is justified. It needs cgo (the
// SQL rules parse with libpg_query): without a C compiler it does not
// build, and make lint fails rather than skip them.
package main
