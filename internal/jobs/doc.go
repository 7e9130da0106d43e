// Package jobs runs AI work on River, a job queue in PostgreSQL.
//
// A generation request is an ai_jobs row, its River job and its audit event,
// committed together in the request's tenant transaction (Queue.Request).
// A worker then, for each attempt: checks the kill switches in memory
// (global → organization → job), re-reads the requester's live claims, runs
// everything else inside store.InTenant for the job's organization, guards
// the untrusted input, reserves the token budget, calls the model through
// internal/llm, sanitises the output and stores it as AI-generated and
// pending review. Concurrency is bounded per process (River's MaxWorkers)
// and per organization (a job of an organization at its limit is snoozed:
// it waits, it is not dropped). A worker that dies mid-job leaves its job to
// River's rescuer, which makes it available again; exactly one attempt can
// finish a job (store.FinishAIJob).
//
// River runs poll-only (no LISTEN) and its insert never NOTIFYs (quietDriver):
// the only NOTIFY in request transactions is a kill-switch change.
package jobs
