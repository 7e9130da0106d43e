package store

// A transaction's methods are grouped by aggregate: each group is a small
// type over the same transaction (same connection, same tenant or service
// context, same pending audit events), reached through an accessor:
// tx.Admin().CreateInvite(…), tx.AI().StartAIJob(…). Organizations, users,
// memberships and venues stay on Tx itself.

// AdminTx is organization administration: invites, members, API tokens.
type AdminTx struct{ *Tx }

// IdentityTx is sign-in: magic links, sessions, organization switching.
type IdentityTx struct{ *Tx }

// AITx is the AI pipeline: proposals, AI jobs, token budgets.
type AITx struct{ *Tx }

// AuditLogTx is reading, sealing and purging the audit log.
type AuditLogTx struct{ *Tx }

// KillSwitchesTx is the global and organization kill switches.
type KillSwitchesTx struct{ *Tx }

// SignupsTx is new organizations: operator-created and self-service.
type SignupsTx struct{ *Tx }

// Admin returns the transaction's administration methods.
func (tx *Tx) Admin() AdminTx { return AdminTx{tx} }

// Identity returns the transaction's sign-in methods.
func (tx *Tx) Identity() IdentityTx { return IdentityTx{tx} }

// AI returns the transaction's AI pipeline methods.
func (tx *Tx) AI() AITx { return AITx{tx} }

// AuditLog returns the transaction's audit log methods.
func (tx *Tx) AuditLog() AuditLogTx { return AuditLogTx{tx} }

// KillSwitches returns the transaction's kill-switch methods.
func (tx *Tx) KillSwitches() KillSwitchesTx { return KillSwitchesTx{tx} }

// Signups returns the transaction's new-organization methods.
func (tx *Tx) Signups() SignupsTx { return SignupsTx{tx} }
