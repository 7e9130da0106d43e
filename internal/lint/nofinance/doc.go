// Package nofinance is the no-finance-from-agents analyzer: agent packages
// (internal/agent and below) propose; a person approves (issue #15). They
// may not import the finance use cases (internal/finance) nor reach the
// store's finance writes: the TenantTx.Finance accessor or any method of
// FinanceTx (statements of work, budget lines, change orders). Found by
// type, so an alias, a method value or a wrapper type does not hide it.
// internal/agentproposal, which applies an approved proposal as the
// approving person, is not an agent package.
package nofinance
