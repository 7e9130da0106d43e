package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// From queries/chat.sql.
var (
	sqlCreateChatTurn      = query("CreateChatTurn")
	sqlChatProposalVisible = query("ChatProposalVisible")
	sqlChatReservation     = query("ChatReservation")
	sqlFinishChatTurn      = query("FinishChatTurn")
	sqlListChatTurns       = query("ListChatTurns")
)

// maxReportedChatToks bounds the usage a provider may report for one turn.
const maxReportedChatToks = 10_000_000

// ChatTx is the conversations of the organization's proposals (the
// proposal chat). A turn is written twice: when the question is asked
// (with the token reservation) and when the model's answer ends
// (answered, stopped or failed, settling the reservation). Which roles may
// ask, and what the model is shown, is the chat use case's rule; row-level
// security keeps costed turns from the roles without cost access.
type ChatTx struct{ tenant }

// Chat returns the proposal chat methods.
func (tx *TenantTx) Chat() ChatTx { return ChatTx{tx.tenant} }

// NewChatTurn is a question to record before the model call.
type NewChatTurn struct {
	ProposalID uuid.UUID
	// Question is the caller's question, validated and passed by the guard.
	Question string
	// Costed says the prompt holds costs and amounts (the caller has full
	// cost access).
	Costed bool
	// Reserve is the token estimate to reserve from the month's budget.
	Reserve int
	// Metadata joins the ai.chat.asked event (guard scores; never text).
	Metadata map[string]any
}

func scanChatTurn(r pgx.Row) (rampart.ChatTurn, error) {
	var t rampart.ChatTurn
	err := r.Scan(&t.OrganizationID, &t.ID, &t.ProposalID, &t.VenueCode, &t.AskedBy, &t.Question, &t.Costed, &t.Status,
		&t.AnswerHTML, &t.ErrorCode, &t.Model, &t.InputTokens, &t.OutputTokens, &t.CreatedAt, &t.FinishedAt)
	return t, err
}

// chatSnapshot is a turn as an audit event records it: no question and
// no answer, their sizes instead.
func chatSnapshot(t rampart.ChatTurn) json.RawMessage {
	return snapshot(map[string]any{"id": t.ID, "proposal_id": t.ProposalID, "venue_code": t.VenueCode, "status": t.Status,
		"costed": t.Costed, "question_chars": len([]rune(t.Question)), "answer_bytes": len(t.AnswerHTML),
		"input_tokens": t.InputTokens, "output_tokens": t.OutputTokens, "model": t.Model, "error_code": t.ErrorCode})
}

// Ask records a question on a proposal the caller may read and reserves
// its token estimate, in one round trip; the row takes the proposal's
// venue. It returns ErrBudgetExhausted when the month's budget cannot
// cover the reservation, and a KindNotFound error for a proposal the
// caller cannot see; either error must roll the transaction back.
func (tx ChatTx) Ask(ctx context.Context, in NewChatTurn) (rampart.ChatTurn, error) {
	const op = "store.AskChat"
	c := tx.tc
	if in.Reserve <= 0 {
		return rampart.ChatTurn{}, rampart.Errorf(op, rampart.KindInvalid, "a reservation must be positive")
	}
	id := uuid.New()
	b := &pgx.Batch{}
	b.Queue(sqlEnsureUsage, c.OrganizationID)
	b.Queue(sqlChatProposalVisible, c.OrganizationID, in.ProposalID)
	b.Queue(sqlCreateChatTurn, c.OrganizationID, id, in.ProposalID, c.UserID, in.Question, in.Costed, in.Reserve)
	br := tx.sendBatch(ctx, b)
	_, err := br.Exec()
	visible := false
	if err == nil {
		err = br.QueryRow().Scan(&visible)
	}
	var t rampart.ChatTurn
	if err == nil {
		t, err = scanChatTurn(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// No row: the proposal is gone (or out of sight), or the
		// reservation did not fit. Either way the caller's transaction
		// rolls back, and the reservation with it.
		if !visible {
			return t, rampart.Errorf(op, rampart.KindNotFound, "not found")
		}
		return t, ErrBudgetExhausted
	}
	if err != nil {
		return t, classify(op, err)
	}
	meta := map[string]any{"proposal_id": in.ProposalID, "reserved_tokens": in.Reserve, "costed": in.Costed}
	for k, v := range in.Metadata {
		meta[k] = v
	}
	m, _ := json.Marshal(meta)
	return t, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionChatAsked, TargetType: "chat_message",
		TargetID: id.String(), After: chatSnapshot(t), Metadata: m}))
}

// ChatOutcome is how a turn ended.
type ChatOutcome struct {
	Status rampart.ChatStatus // answered, stopped or failed
	// Answer is the sanitised answer; only an answered turn has one.
	Answer       sanitize.HTML
	ErrorCode    string
	Model        string
	InputTokens  int
	OutputTokens int
	// Action is the audit action (ai.chat.answered, ai.chat.stopped,
	// ai.chat.failed); Reason and Metadata join it.
	Action   string
	Reason   string
	Metadata map[string]any
}

// ErrChatFinished means the turn had already ended (or is not the
// caller's to see).
var ErrChatFinished = rampart.Errorf("store.FinishChat", rampart.KindConflict, "the chat turn has already ended")

// Finish ends a turn that is still answering: it stores the outcome,
// releases the reservation, counts the tokens used as this month's use,
// and records the event with before and after, in one transaction.
func (tx ChatTx) Finish(ctx context.Context, id uuid.UUID, out ChatOutcome) (rampart.ChatTurn, error) {
	const op = "store.FinishChat"
	c := tx.tc
	switch out.Status {
	case rampart.ChatAnswered, rampart.ChatStopped, rampart.ChatFailed:
	default:
		return rampart.ChatTurn{}, rampart.Errorf(op, rampart.KindInternal, "a turn cannot end as %q", out.Status)
	}
	if out.Status != rampart.ChatAnswered && out.Answer.String() != "" {
		return rampart.ChatTurn{}, rampart.Errorf(op, rampart.KindInternal, "only an answered turn stores an answer")
	}
	in := min(max(out.InputTokens, 0), maxReportedChatToks)
	outT := min(max(out.OutputTokens, 0), maxReportedChatToks)
	var r reservation
	err := tx.queryRow(ctx, sqlChatReservation, c.OrganizationID, id).Scan(&r.tokens, &r.sameMonth, &r.month)
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.ChatTurn{}, ErrChatFinished
	}
	if err != nil {
		return rampart.ChatTurn{}, classify(op, err)
	}
	before := rampart.ChatTurn{ID: id, Status: rampart.ChatAnswering}
	b := &pgx.Batch{}
	queueSettlement(b, c.OrganizationID, r, int64(in+outT))
	settle := b.Len()
	b.Queue(sqlFinishChatTurn, c.OrganizationID, id, string(out.Status), out.Answer.String(), sanitize.Version, out.ErrorCode,
		out.Model, in, outT)
	br := tx.sendBatch(ctx, b)
	for range settle {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	var t rampart.ChatTurn
	if err == nil {
		t, err = scanChatTurn(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t, classify(op, err)
	}
	before.ProposalID, before.VenueCode, before.Costed, before.Question = t.ProposalID, t.VenueCode, t.Costed, t.Question
	meta := map[string]any{"proposal_id": t.ProposalID, "input_tokens": in, "output_tokens": outT, "released_tokens": r.tokens}
	for k, v := range out.Metadata {
		meta[k] = v
	}
	m, _ := json.Marshal(meta)
	return t, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: out.Action, TargetType: "chat_message", TargetID: id.String(),
		Before: chatSnapshot(before), After: chatSnapshot(t), Reason: out.Reason, Metadata: m}))
}

// ChatCursor is a position in a conversation.
type ChatCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// List returns up to limit turns of a proposal after cursor (nil: from
// the start), oldest first. Row-level security leaves out the turns the
// caller may not read (costed ones for roles without cost access).
func (tx ChatTx) List(ctx context.Context, proposalID uuid.UUID, limit int, after *ChatCursor) ([]rampart.ChatTurn, error) {
	const op = "store.ChatTurns"
	var at *time.Time
	var aid *uuid.UUID
	if after != nil {
		at, aid = &after.CreatedAt, &after.ID
	}
	rows, err := tx.query(ctx, sqlListChatTurns, tx.tc.OrganizationID, proposalID, limit, at, aid)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.ChatTurn, error) { return scanChatTurn(r) })
	return out, classify(op, err)
}

// sqlStaleChatTurns is in queries/chat.sql.
var sqlStaleChatTurns = query("StaleChatTurns")

// SweepStaleChat ends, as failed, the chat turns still answering olderThan
// after they were asked: the process answering them died, and nothing else
// would end them or release their token reservation. The reservation is
// counted as used (the model may have been called), as for a job given
// up on. serve runs it every minute, with olderThan past the provider's
// time limit so that no live answer is swept.
func (p Periodic) SweepStaleChat(ctx context.Context, olderThan time.Duration) (int, error) {
	const op = "store.SweepStaleChat"
	if olderThan <= 0 {
		return 0, rampart.Errorf(op, rampart.KindInvalid, "the age of a stale chat turn must be positive")
	}
	n := 0
	err := p.s.asService(ctx, "end chat turns whose answer was abandoned", func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlStaleChatTurns, olderThan.String())
		if err != nil {
			return err
		}
		type stale struct{ org, id uuid.UUID }
		found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stale, error) {
			var x stale
			return x, r.Scan(&x.org, &x.id)
		})
		if err != nil {
			return err
		}
		for _, x := range found {
			var r reservation
			if err := tx.queryRow(ctx, sqlChatReservation, x.org, x.id).Scan(&r.tokens, &r.sameMonth, &r.month); err != nil {
				return err
			}
			b := &pgx.Batch{}
			queueSettlement(b, x.org, r, r.tokens)
			if err := tx.execBatch(ctx, b); err != nil {
				return err
			}
			after, err := scanChatTurn(tx.queryRow(ctx, sqlFinishChatTurn, x.org, x.id, string(rampart.ChatFailed), "", sanitize.Version,
				"answer_abandoned", "", min(r.tokens, int64(maxReportedChatToks)), 0))
			if err != nil {
				return err
			}
			org := x.org
			if err := tx.recordAudit(ctx, audit.Event{OrganizationID: &org, ActorType: audit.ActorService, ActorID: tx.service,
				Action: audit.ActionChatFailed, TargetType: "chat_message", TargetID: x.id.String(),
				Reason: "the answer was abandoned (its process stopped); the reservation is counted as used",
				Before: chatSnapshot(rampart.ChatTurn{ID: x.id, ProposalID: after.ProposalID, VenueCode: after.VenueCode, Costed: after.Costed,
					Status: rampart.ChatAnswering}),
				After:    chatSnapshot(after),
				Metadata: metadata(map[string]any{"error_code": "answer_abandoned", "released_tokens": r.tokens})}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, classify(op, err)
}

// From queries/chat.sql.
var (
	sqlAnyStaleChatAnswer   = query("AnyStaleChatAnswer")
	sqlStaleChatAnswers     = query("StaleChatAnswers")
	sqlResanitizeChatAnswer = query("ResanitizeChatAnswer")
)

// ResanitizeChatAnswers is ResanitizeBodies for the proposal chat's
// stored answers: every answer written under an older sanitiser policy is
// run through the current one, in batches, each an audited service
// transaction; an idle run writes nothing.
func (p Periodic) ResanitizeChatAnswers(ctx context.Context, batch int) (int, error) {
	return p.s.resanitize(ctx, "store.ResanitizeChatAnswers", "chat answers", staleHTML{sqlAnyStaleChatAnswer, sqlStaleChatAnswers, sqlResanitizeChatAnswer}, batch)
}
