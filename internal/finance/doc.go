// Package finance holds the finance use cases: a proposal's statement of
// work, its budget lines and change orders, behind human sign-off.
//
// The rules (DESIGN.md §4, issue 15):
//   - Amounts are cost information: only roles with full cost access read
//     them (the others get rampart.SOW, rampart.BudgetLine and
//     rampart.ChangeOrder, types without amounts) or write finance at all.
//   - Signing a statement of work, and unsigning it, needs admin or
//     executive producer (access.ActionSignSOW, ActionUnsignSOW), as do
//     actualizing a budget line and reversing it (ActionActualizeBudget)
//     and deciding a change order. A reversal needs a reason, recorded in
//     the audit event with before and after. A refused attempt on an
//     object the caller can see is itself audited (finance.denied).
//   - A signed statement of work changes only through change orders.
//   - Every mutation goes through store.FinanceTx, one audited write path.
//     Agents have no way in: the agent transaction type (issue 15) has no
//     finance method, and the architecture test keeps agent packages from
//     importing this one.
package finance
