package store

// Beyond the two transactions, the store's operations that own their
// transactions are grouped by who calls them, each group reached through
// an accessor on Store so Store itself stays small:
//
//	st.Auth()     the edge: resolving credentials, the sign-in doors
//	st.Audit()    the audit log's life cycle: events outside a change, sealing, retention, verification, export
//	st.Jobs()     the job queue and the AI job life cycle outside a tenant request
//	st.Periodic() cluster-wide periodic work
//	st.Billing()  plan state: linking a Stripe customer, applying verified Stripe events
//	st.Operations() operational records: restore drills
//	st.RateLimitRefusals() the per-organization rate-limit refusal counters: flushes and their prune

// Auth is what the edge and the sign-in flow need before a tenant
// transaction exists.
type Auth struct{ s *Store }

// AuditLog is the audit log's own operations.
type AuditLog struct{ s *Store }

// Jobs is the job queue's seam (River's driver) and the AI job
// operations that span tenants.
type Jobs struct{ s *Store }

// Periodic is the bookkeeping of cluster-wide periodic tasks.
type Periodic struct{ s *Store }

// Auth returns the credential and sign-in operations.
func (s *Store) Auth() Auth { return Auth{s} }

// Audit returns the audit log operations.
func (s *Store) Audit() AuditLog { return AuditLog{s} }

// Jobs returns the job queue operations.
func (s *Store) Jobs() Jobs { return Jobs{s} }

// Periodic returns the periodic task operations.
func (s *Store) Periodic() Periodic { return Periodic{s} }
