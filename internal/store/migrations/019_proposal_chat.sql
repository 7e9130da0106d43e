-- Issue 15 item 6: the proposal chat. One row per exchange: the question a
-- member asked about a proposal and the model's answer, sanitised. A
-- question the guard flags is never stored (its refusal is audited with
-- the scores, never the text).
--
-- Cost. The answer to a member with full cost access was written from a
-- prompt that held costs, sourcing, lead times and amounts; it may repeat
-- them. Such a row is marked costed, and only the roles with full cost
-- access read it (the SELECT policy, as well as the use case): a technical
-- director reading the conversation never sees an answer written for a
-- producer.
--
-- Tokens. A turn reserves its estimate in the month's ai_usage row before
-- the model call (estimated_tokens, reserved_month, as ai_jobs do) and
-- settles it with what the call used; the month's use is then the sum of
-- its jobs' and its chat turns' tokens.
--
-- The row takes its proposal's venue, moved with it (MoveProposalChildren),
-- so venue managers see only their venues' conversations.
CREATE TABLE proposal_chat_messages (
  organization_id  uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id               uuid        NOT NULL,
  proposal_id      uuid        NOT NULL,
  venue_code       text        CHECK (venue_code IS NULL OR venue_code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
  asked_by         uuid        NOT NULL,
  question         text        NOT NULL CHECK (length(btrim(question)) BETWEEN 1 AND 4000),
  costed           boolean     NOT NULL,
  status           text        NOT NULL DEFAULT 'answering' CHECK (status IN ('answering', 'answered', 'stopped', 'failed')),
  answer_html      text        NOT NULL DEFAULT '' CHECK (length(answer_html) <= 409600),
  answer_sanitizer integer     NOT NULL DEFAULT 0,
  error_code       text        NOT NULL DEFAULT '' CHECK (length(error_code) <= 64),
  model            text        NOT NULL DEFAULT '' CHECK (length(model) <= 200),
  estimated_tokens integer     NOT NULL DEFAULT 0 CHECK (estimated_tokens >= 0),
  reserved_month   date,
  input_tokens     integer     NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens    integer     NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, proposal_id) REFERENCES proposals (organization_id, id) ON DELETE CASCADE,
  CHECK ((status = 'answering') = (finished_at IS NULL)),
  CHECK (status = 'answered' OR answer_html = '')
);
CREATE INDEX proposal_chat_messages_proposal_idx ON proposal_chat_messages (organization_id, proposal_id, created_at, id);

-- Row-level security. Every reader of the proposal reads the conversation
-- (venue managers their venues'), except the costed answers, which only
-- the roles with full cost access read. The roles that may request AI
-- ask and record answers; a costed row can only be written by a role
-- with full cost access. No DELETE: a conversation goes with its
-- proposal (ON DELETE CASCADE).
ALTER TABLE proposal_chat_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE proposal_chat_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY proposal_chat_messages_tenant_select ON proposal_chat_messages FOR SELECT TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR (NOT costed AND (SELECT current_user_role()) IN ('technical_director', 'stakeholder', 'viewer'))
              OR (NOT costed AND (SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY proposal_chat_messages_tenant_insert ON proposal_chat_messages FOR INSERT TO rampart_app
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR (NOT costed AND (SELECT current_user_role()) = 'technical_director')
                   OR (NOT costed AND (SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
CREATE POLICY proposal_chat_messages_tenant_update ON proposal_chat_messages FOR UPDATE TO rampart_app
  USING (organization_id = (SELECT current_user_org_id())
         AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
              OR (NOT costed AND (SELECT current_user_role()) = 'technical_director')
              OR (NOT costed AND (SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))))
  WITH CHECK (organization_id = (SELECT current_user_org_id())
              AND ((SELECT current_user_role()) IN ('admin', 'executive_producer', 'producer')
                   OR (NOT costed AND (SELECT current_user_role()) = 'technical_director')
                   OR (NOT costed AND (SELECT current_user_role()) = 'venue_manager' AND venue_code = ANY ((SELECT current_user_venue_codes())::text[]))));
GRANT SELECT, INSERT, UPDATE ON proposal_chat_messages TO rampart_app, rampart_service;
