// Package trust is `rampart trust-report`: live evidence for every control
// of DESIGN.md, produced by exercising the control on the running install
// (the embedded cluster or DATABASE_URL) rather than by reading its
// configuration back.
//
// Each control is one Check in Checks, a small value like a row of a test
// table: an id, a title, the OWASP LLM Top 10 (2025) and SOC 2 Trust
// Services Criteria it bears on, what it proves and what it cannot, and a
// Run function that returns a Result: met, not met or not configured, a
// one-line summary, evidence lines and structured data. A new control adds
// one entry. Run executes every check in order, recovering from a failing
// one (an error is "not met": what could not be shown is not claimed).
//
// What the package guarantees:
//
//   - The cross-tenant probe runs as the runtime login through the runtime
//     pool, inside one transaction that is always rolled back
//     (store.CrossTenantProbe): it leaves no row and no audit event behind.
//   - The report never holds key material: key ids, first and last use
//     and counts only.
//   - A report is signed (Sign) with the audit MAC key under a domain of
//     its own (audit.Keyring.SignDocument), so neither an audit event's nor
//     a seal's MAC can pass for a report's; Verify checks a file; the run is
//     recorded as an audit event (trust.report.generated, service path)
//     with the report's id and SHA-256, so a kept report can be matched to
//     its run and any later edit is detected.
//
// The JSON format (Report, Envelope) is stable and documented in
// docs/trust-report.md; fields are only ever added.
package trust
