-- The proposal chat (chat.go): one row per exchange, venue-scoped like
-- its proposal and hidden from roles without cost access when costed
-- (migration 019). Every statement also filters by organization_id.

-- fragment: chat_columns
organization_id, id, proposal_id, venue_code, asked_by, question, costed, status, answer_html, error_code, model,
input_tokens, output_tokens, created_at, finished_at

-- name: CreateChatTurn
-- The venue is the proposal's, copied from its row. Not FOR SHARE, as
-- attachments do: a row lock needs the UPDATE policy, and the roles that
-- may chat include ones that may not edit the proposal (a technical
-- director); a move that commits between this statement's snapshot and
-- its commit leaves the turn in the old venue (decision 0017). The
-- reservation is made in the same statement (r): the row exists only if
-- the month's budget covered the estimate ($7, positive). The caller
-- makes the month's ai_usage row first (EnsureUsage).
WITH r AS (
  UPDATE ai_usage u SET reserved_tokens = u.reserved_tokens + $7, updated_at = now()
  WHERE u.organization_id = $1 AND u.month = ${this_month}
    AND u.used_tokens + u.reserved_tokens + $7 <= coalesce(
          (SELECT b.monthly_tokens FROM ai_budgets b WHERE b.organization_id = $1), 9223372036854775807)
  RETURNING 1)
INSERT INTO proposal_chat_messages (organization_id, id, proposal_id, venue_code, asked_by, question, costed, estimated_tokens, reserved_month)
SELECT p.organization_id, $2, p.id, p.venue_code, $4, $5, $6, $7, ${this_month}
  FROM (SELECT organization_id, id, venue_code FROM proposals WHERE organization_id = $1 AND id = $3) p
 WHERE EXISTS (SELECT 1 FROM r)
RETURNING ${chat_columns}

-- name: ChatProposalVisible
-- Whether the caller sees the proposal (RLS), in CreateChatTurn's round
-- trip: no turn row then means a missing proposal, not a spent budget.
SELECT EXISTS (SELECT 1 FROM proposals WHERE organization_id = $1 AND id = $2)

-- name: ChatReservation
-- The turn's outstanding reservation, locked; only a turn still answering.
SELECT estimated_tokens, coalesce(reserved_month = ${this_month}, true), reserved_month
FROM proposal_chat_messages WHERE organization_id = $1 AND id = $2 AND status = 'answering' FOR UPDATE

-- name: FinishChatTurn
UPDATE proposal_chat_messages SET status = $3, answer_html = $4, answer_sanitizer = $5, error_code = $6, model = $7,
  input_tokens = $8, output_tokens = $9, estimated_tokens = 0, reserved_month = NULL, finished_at = now()
WHERE organization_id = $1 AND id = $2 AND status = 'answering'
RETURNING ${chat_columns}

-- name: ListChatTurns
-- The newest $3 turns of a proposal after cursor ($4, $5: created_at, id;
-- NULL for the first page), oldest first within the page is the caller's.
SELECT ${chat_columns} FROM proposal_chat_messages
 WHERE organization_id = $1 AND proposal_id = $2
   AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
 ORDER BY created_at, id LIMIT $3

-- name: StaleChatTurns
-- Turns still answering long after the provider's time limit ($1): the
-- process that ran them died mid-answer (service path: every tenant's).
SELECT organization_id, id FROM proposal_chat_messages
 WHERE status = 'answering' AND created_at < now() - $1::interval
 ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED

-- name: AnyStaleChatAnswer
SELECT EXISTS (SELECT 1 FROM proposal_chat_messages WHERE answer_html <> '' AND answer_sanitizer < $1)

-- name: StaleChatAnswers
-- A batch of answers written under an older sanitiser policy (service
-- path: the task spans tenants), locked so two runs never take the same.
SELECT organization_id, id, answer_html FROM proposal_chat_messages
 WHERE answer_html <> '' AND answer_sanitizer < $1
 ORDER BY answer_sanitizer, organization_id, id LIMIT $2 FOR UPDATE SKIP LOCKED

-- name: ResanitizeChatAnswer
UPDATE proposal_chat_messages SET answer_html = $3, answer_sanitizer = $4 WHERE organization_id = $1 AND id = $2
