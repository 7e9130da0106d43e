package store

import (
	"context"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Transactions are typed by who holds them, and their methods are grouped
// by aggregate.
//
//   - A TenantTx (Store.InTenant) acts for one person in one organization.
//     Its organization and user come from the transaction's claims — no
//     method takes an organization id — and row-level security holds it
//     to them.
//   - A ServiceTx (Store.AsService) is the audited, cross-tenant path for
//     system work: provisioning organizations, sign-in before there is a
//     tenant, the global kill switch. Methods that act on one
//     organization take its id, because the transaction has none.
//
// Each aggregate is a small type over the same transaction (same
// connection, same context, same pending audit events) reached through an
// accessor: tx.Venues().Create(…), tx.AIJobs().Start(…). A tenant method
// cannot be called on the service path, or the reverse: the compiler
// refuses it, where a single transaction type had to check at run time.
// An agent transaction type that can only read and propose will join these
// (DESIGN.md §8).

// tenant is the part every tenant aggregate shares: the transaction and
// its claims (validated when the transaction opened).
type tenant struct {
	*txn
	tc rampart.Claims
}

// TenantTx is a transaction in one organization for one person.
type TenantTx struct{ tenant }

// ServiceTx is a transaction on the audited service path.
type ServiceTx struct{ *txn }

// Claims returns the transaction's tenant claims.
func (tx *TenantTx) Claims() rampart.Claims { return tx.tc }

// RecordAudit adds ev to the transaction (see txn.recordAudit): it commits
// or rolls back with the change it describes. Its organization is the
// tenant's.
func (tx *TenantTx) RecordAudit(ctx context.Context, ev audit.Event) error {
	return tx.recordAudit(ctx, ev)
}

// RecordAudit adds ev to the service transaction.
func (tx *ServiceTx) RecordAudit(ctx context.Context, ev audit.Event) error {
	return tx.recordAudit(ctx, ev)
}

// The tenant aggregates.
type (
	// VenuesTx is the organization's venues.
	VenuesTx struct{ tenant }
	// ProposalsTx is the organization's proposals.
	ProposalsTx struct{ tenant }
	// AIJobsTx is the AI job life cycle of the organization's proposals.
	AIJobsTx struct{ tenant }
	// BudgetTx is the organization's monthly AI token budget.
	BudgetTx struct{ tenant }
	// MembersTx is the organization's memberships.
	MembersTx struct{ tenant }
	// InvitesTx is the organization's pending invitations.
	InvitesTx struct{ tenant }
	// TokensTx is the organization's API tokens.
	TokensTx struct{ tenant }
	// AccountTx is the signed-in person's own account: profile, sessions,
	// organizations.
	AccountTx struct{ tenant }
	// AuditReadTx reads the organization's audit log.
	AuditReadTx struct{ tenant }
	// KillSwitchTx is the organization's AI kill switch (and a read of the
	// global one).
	KillSwitchTx struct{ tenant }
	// AttachmentsTx is the files attached to the organization's proposals.
	AttachmentsTx struct{ tenant }
)

// Venues returns the venue methods.
func (tx *TenantTx) Venues() VenuesTx { return VenuesTx{tx.tenant} }

// Proposals returns the proposal methods.
func (tx *TenantTx) Proposals() ProposalsTx { return ProposalsTx{tx.tenant} }

// AIJobs returns the AI job methods.
func (tx *TenantTx) AIJobs() AIJobsTx { return AIJobsTx{tx.tenant} }

// Budget returns the token budget methods.
func (tx *TenantTx) Budget() BudgetTx { return BudgetTx{tx.tenant} }

// Members returns the membership methods.
func (tx *TenantTx) Members() MembersTx { return MembersTx{tx.tenant} }

// Invites returns the invitation methods.
func (tx *TenantTx) Invites() InvitesTx { return InvitesTx{tx.tenant} }

// Tokens returns the API token methods.
func (tx *TenantTx) Tokens() TokensTx { return TokensTx{tx.tenant} }

// Account returns the signed-in person's account methods.
func (tx *TenantTx) Account() AccountTx { return AccountTx{tx.tenant} }

// AuditLog returns the audit log reading methods.
func (tx *TenantTx) AuditLog() AuditReadTx { return AuditReadTx{tx.tenant} }

// KillSwitch returns the organization kill-switch methods.
func (tx *TenantTx) KillSwitch() KillSwitchTx { return KillSwitchTx{tx.tenant} }

// Attachments returns the proposal attachment methods.
func (tx *TenantTx) Attachments() AttachmentsTx { return AttachmentsTx{tx.tenant} }

// The service aggregates.
type (
	// ProvisionTx creates organizations, people, memberships and seed
	// venues, and looks organizations up across tenants.
	ProvisionTx struct{ *txn }
	// SignInTx is sign-in before a tenant exists: magic links, invites,
	// self-service sign-up, moving a session to another organization.
	SignInTx struct{ *txn }
	// KillSwitchesTx is the global kill switch and any organization's.
	KillSwitchesTx struct{ *txn }
)

// Provision returns the provisioning methods.
func (tx *ServiceTx) Provision() ProvisionTx { return ProvisionTx{tx.txn} }

// SignIn returns the sign-in methods.
func (tx *ServiceTx) SignIn() SignInTx { return SignInTx{tx.txn} }

// KillSwitches returns the kill-switch methods.
func (tx *ServiceTx) KillSwitches() KillSwitchesTx { return KillSwitchesTx{tx.txn} }
