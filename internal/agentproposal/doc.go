// Package agentproposal is the human side of agent proposals: people list
// and read what agents proposed, and approve or reject it. Approval
// applies the change in the approver's own tenant transaction, through the
// same use cases a person's own edit goes through (bom.AddLineIn,
// finance.AddBudgetLineIn), so an approver who could not make the change
// by hand cannot approve it; the applied change and the decision commit
// together, each audited. Pending proposals expire after seven days
// (store.Periodic.ExpireAgentProposals, a cluster-wide periodic task), and
// an expired or decided proposal cannot be approved.
package agentproposal
