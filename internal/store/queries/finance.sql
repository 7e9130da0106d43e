-- Finance (finance.go): statements of work, budget lines and change
-- orders, venue-scoped by RLS; every write goes through FinanceTx.write,
-- which audits it with before and after.

-- fragment: sow_columns
organization_id, id, proposal_id, venue_code, title, terms, status, signed_by, signed_at, created_by,
created_at, updated_at, amount_minor, currency

-- fragment: budget_columns
organization_id, id, proposal_id, category, description, status, actualized_by, actualized_at, created_by,
created_at, updated_at, planned_minor, currency, actual_minor

-- fragment: change_order_columns
organization_id, id, sow_id, description, status, requested_by, decided_by, decided_at,
coalesce(decision_reason, ''), created_at, amount_delta_minor

-- name: GetSOWByProposal
SELECT ${sow_columns} FROM sows WHERE organization_id = $1 AND proposal_id = $2

-- name: GetSOWLocked
SELECT ${sow_columns} FROM sows WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: CreateSOW
-- The statement takes its proposal's venue; no visible proposal, no row.
INSERT INTO sows (organization_id, id, proposal_id, venue_code, title, terms, amount_minor, currency, created_by)
SELECT p.organization_id, $2, p.id, p.venue_code, $4, $5, $6, $7, $8
FROM proposals p WHERE p.organization_id = $1 AND p.id = $3
RETURNING ${sow_columns}

-- name: UpdateSOW
UPDATE sows SET title = $3, terms = $4, amount_minor = $5, currency = $6, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'draft' RETURNING ${sow_columns}

-- name: SignSOW
UPDATE sows SET status = 'signed', signed_by = $3, signed_at = now(), updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'draft' RETURNING ${sow_columns}

-- name: UnsignSOW
UPDATE sows SET status = 'draft', signed_by = NULL, signed_at = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'signed' RETURNING ${sow_columns}

-- name: AdjustSOWAmount
UPDATE sows SET amount_minor = amount_minor + $3, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'signed' RETURNING ${sow_columns}

-- name: ListBudgetLines
SELECT ${budget_columns} FROM budget_lines WHERE organization_id = $1 AND proposal_id = $2 ORDER BY created_at, id

-- name: GetBudgetLineLocked
SELECT ${budget_columns} FROM budget_lines WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: CreateBudgetLine
INSERT INTO budget_lines (organization_id, id, proposal_id, venue_code, category, description, currency, planned_minor, created_by)
SELECT p.organization_id, $2, p.id, p.venue_code, $4, $5, $6, $7, $8
FROM proposals p WHERE p.organization_id = $1 AND p.id = $3
RETURNING ${budget_columns}

-- name: UpdateBudgetLine
UPDATE budget_lines SET category = $3, description = $4, currency = $5, planned_minor = $6, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'planned' RETURNING ${budget_columns}

-- name: ActualizeBudgetLine
UPDATE budget_lines SET status = 'actualized', actual_minor = $3, actualized_by = $4, actualized_at = now(), updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'planned' RETURNING ${budget_columns}

-- name: UnactualizeBudgetLine
UPDATE budget_lines SET status = 'planned', actual_minor = NULL, actualized_by = NULL, actualized_at = NULL, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'actualized' RETURNING ${budget_columns}

-- name: ListChangeOrders
SELECT ${change_order_columns} FROM change_orders WHERE organization_id = $1 AND sow_id = $2 ORDER BY created_at, id

-- name: GetChangeOrderLocked
SELECT ${change_order_columns} FROM change_orders WHERE organization_id = $1 AND id = $2 FOR UPDATE

-- name: CreateChangeOrder
INSERT INTO change_orders (organization_id, id, sow_id, venue_code, description, amount_delta_minor, requested_by)
SELECT s.organization_id, $2, s.id, s.venue_code, $4, $5, $6
FROM sows s WHERE s.organization_id = $1 AND s.id = $3
RETURNING ${change_order_columns}

-- name: DecideChangeOrder
UPDATE change_orders SET status = $3, decided_by = $4, decided_at = now(), decision_reason = $5
WHERE organization_id = $1 AND id = $2 AND status = 'requested' RETURNING ${change_order_columns}
