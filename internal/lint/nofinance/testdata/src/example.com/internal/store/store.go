// Package store stands in for the store's typed transactions.
package store

// TenantTx is a tenant transaction.
type TenantTx struct{}

// FinanceTx is the finance aggregate.
type FinanceTx struct{}

// Finance is the finance accessor.
func (tx *TenantTx) Finance() FinanceTx { return FinanceTx{} }

// Proposals is a harmless accessor.
func (tx *TenantTx) Proposals() ProposalsTx { return ProposalsTx{} }

// ProposalsTx reads proposals.
type ProposalsTx struct{}

// Get reads one proposal.
func (ProposalsTx) Get(id string) string { return id }

// CreateBudgetLine is a finance write.
func (FinanceTx) CreateBudgetLine(desc string) error { return nil }
