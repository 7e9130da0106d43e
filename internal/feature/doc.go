// Package feature holds the use cases of organization feature flags:
// gates (ai, chat) that platform operators set per organization and that
// the organization's members read but cannot change.
//
// Guarantees:
//   - No organization role can write a flag: there is no tenant use case
//     that writes, store.FeaturesTx has no write method, and the runtime
//     database role holds no write grant or policy on the table
//     (migration 024). Operators write through `rampart org features` on
//     the audited service path (Set), which records the change in the
//     organization's audit chain, and the service transaction's own event
//     on the platform's.
//   - The flags are enforced at one door per kind of request: the edge's
//     gate for every agent and chat route, API and console alike
//     (edge.Kind.Feature), and the AI worker before each attempt
//     (store.JobStart.AIEnabled), which cancels a job of an organization
//     whose ai flag is off. Turning ai off also cancels the organization's
//     unfinished AI jobs in the operator's transaction; running ones stop
//     in every process through the job-level kill-switch notice.
//   - A missing row is the defaults (every feature on), so an
//     organization no operator touched behaves as before the flags.
package feature
