// Package aijob holds the AI job use cases a person starts: request a
// generation (an agent call, after the access check by role and venue),
// read a job or a proposal's jobs, cancel a job (the job-level kill
// switch), and read or set the organization's monthly token budget.
//
// The life cycle itself has one owner below this package: the job queue
// (internal/jobs) records a request with its queue job and audit event in
// one transaction, refuses it under a kill switch or a spent budget, and
// runs it (kill switch → guard → model → sanitiser → store); the store's
// AI job transaction is the state machine every step goes through. These
// functions are what the API, the console and the CLI call; none of them
// repeats a check.
package aijob
