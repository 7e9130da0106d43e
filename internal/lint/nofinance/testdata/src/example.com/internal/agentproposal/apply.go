// Package agentproposal applies an approved proposal as the approver: not an agent.
package agentproposal

import "example.com/internal/store"

func apply(tx *store.TenantTx) error { return tx.Finance().CreateBudgetLine("approved") }
