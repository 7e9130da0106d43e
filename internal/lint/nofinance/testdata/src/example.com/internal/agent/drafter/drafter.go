// Package drafter is an agent runner.
package drafter

import (
	"example.com/internal/finance" // want `no-finance-from-agents: agent package example.com/internal/agent/drafter imports example.com/internal/finance`
	"example.com/internal/store"
)

func run(tx *store.TenantTx) error {
	_ = tx.Proposals().Get("p") // reading a proposal is fine
	finance.Approve()
	fin := tx.Finance()           // want `reaches store.TenantTx.Finance`
	write := fin.CreateBudgetLine // want `calls the finance write store.FinanceTx.CreateBudgetLine`
	_ = write
	return tx.Finance().CreateBudgetLine("stage") // want `reaches store.TenantTx.Finance` `calls the finance write store.FinanceTx.CreateBudgetLine`
}
