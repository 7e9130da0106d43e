package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/guard"
	"github.com/rampart-dev/rampart/internal/killswitch"
	"github.com/rampart-dev/rampart/internal/llm"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
	"github.com/rampart-dev/rampart/internal/store"
)

// DefaultMaxTokens bounds an answer's output when Options.MaxTokens is 0:
// a chat answer is a few paragraphs.
const DefaultMaxTokens = 1024

// Page bounds of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Options configure a Service.
type Options struct {
	Store    *store.Store
	Provider llm.Provider
	Guard    *guard.Guard
	// Watcher is the process's kill-switch watcher (the one the job queue
	// uses): it refuses a turn in a killed scope and ends a streaming one.
	Watcher *killswitch.Watcher
	// MaxTokens bounds an answer's output; 0 means DefaultMaxTokens.
	MaxTokens int
	Logger    *slog.Logger
}

// Service answers questions about proposals. It is safe for concurrent use.
type Service struct{ opts Options }

// New checks opts and returns a Service.
func New(opts Options) (*Service, error) {
	const op = "chat.New"
	if opts.Store == nil || opts.Provider == nil || opts.Guard == nil || opts.Watcher == nil {
		return nil, rampart.Errorf(op, rampart.KindInternal, "the chat needs a store, a model provider, a guard and a kill-switch watcher")
	}
	if opts.MaxTokens < 0 || opts.MaxTokens > llm.MaxMaxTokens {
		return nil, rampart.Errorf(op, rampart.KindInvalid, "chat max tokens %d is out of range: use 0 to %d", opts.MaxTokens, llm.MaxMaxTokens)
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts}, nil
}

// Stream receives a turn as it happens. Started is called once the
// question is recorded and the model call is about to start (a caller
// that streams to a client commits to its answer there: every refusal
// before it is an error of Ask); Block is called with each sanitised block
// of the answer, in order. Either may be nil. An error from either aborts
// the turn (it ends as failed, its tokens billed).
type Stream struct {
	Started func(rampart.ChatTurn) error
	Block   func(sanitize.HTML) error
}

// Errors of a turn that started (after Stream.Started) are these, wrapped
// in a *rampart.Error: the turn is stored as stopped or failed.
var (
	// ErrStopped: a kill switch ended the answer.
	ErrStopped = errors.New("a kill switch stopped the answer")
	// ErrAnswerFailed: the provider failed, the answer was refused as a
	// leak of the instructions, or the client went away.
	ErrAnswerFailed = errors.New("the answer failed")
)

// Ask asks the model q about the proposal as c may see it, records the
// exchange and returns the ended turn. See the package documentation for
// the rules. Errors before Stream.Started: KindInvalid (the question),
// KindNotFound (the proposal), KindForbidden (the role), KindRefused (a
// flagged question), KindConflict (flagged proposal data), KindLocked (a
// kill switch), KindUnavailable (the kill-switch state is unknown),
// KindQuotaExceeded (the token budget). After it: the turn and an error
// wrapping ErrStopped (KindLocked) or ErrAnswerFailed.
func (s *Service) Ask(ctx context.Context, c rampart.Claims, proposalID uuid.UUID, question string, out Stream) (rampart.ChatTurn, error) {
	const op = "chat.Ask"
	q, err := rampart.ValidateChatQuestion(op, question)
	if err != nil {
		return rampart.ChatTurn{}, err
	}
	// The proposal as the caller may read it (404 before 403).
	p, err := proposal.Get(ctx, s.opts.Store, c, proposalID)
	if err != nil {
		return rampart.ChatTurn{}, err
	}
	if err := access.Check(c, access.ActionRequestAI, proposal.Resource(p.ProposalSummary)); err != nil {
		return rampart.ChatTurn{}, err
	}
	if err := s.opts.Watcher.Check(c.OrganizationID); err != nil {
		return rampart.ChatTurn{}, s.refuseKilled(ctx, op, c, proposalID, err)
	}

	// What the caller may see, through the domain use cases: the priced
	// reads only with full cost access.
	costed := access.HasFullCostAccess(c.Role)
	facts, err := s.readFacts(ctx, c, p, costed)
	if err != nil {
		return rampart.ChatTurn{}, err
	}

	// The guard: the question on its own, the proposal's data joined.
	g := s.opts.Guard
	qText, qVerdict := g.Inspect("question", q)
	if qVerdict.Blocked {
		return rampart.ChatTurn{}, s.refuse(ctx, c, proposalID, "question", qVerdict,
			rampart.Errorf(op, rampart.KindRefused, "question: it looks like a prompt injection and was refused; rephrase it as a question about the proposal"))
	}
	data := []guard.Text{qText}
	var vs []guard.Verdict
	for _, f := range facts {
		if strings.TrimSpace(f.text) == "" {
			continue
		}
		t, v := g.Inspect(f.label, f.text)
		data = append(data, t)
		vs = append(vs, v)
	}
	if ctxVerdict := guard.Join(g.Threshold(), vs...); ctxVerdict.Blocked {
		return rampart.ChatTurn{}, s.refuse(ctx, c, proposalID, "proposal", ctxVerdict,
			rampart.Errorf(op, rampart.KindConflict, "the proposal's content (its brief, bill of materials or statement of work) looks like a prompt injection: a person must review it before the chat can use it"))
	}

	req := llm.Request{Prompt: llm.ProposalChat, Data: data, MaxTokens: s.opts.MaxTokens}
	reserve := llm.EstimateTokens(req)
	turn, err := store.InTenantValue(ctx, s.opts.Store, c, func(ctx context.Context, tx *store.TenantTx) (rampart.ChatTurn, error) {
		return tx.Chat().Ask(ctx, store.NewChatTurn{ProposalID: proposalID, Question: q, Costed: costed, Reserve: reserve,
			Metadata: map[string]any{"guard_score": qVerdict.Score, "guard_rules": qVerdict.Rules(), "model": s.opts.Provider.Model()}})
	})
	if errors.Is(err, store.ErrBudgetExhausted) {
		// Recorded on its own: the turn's transaction rolled back.
		_ = s.opts.Store.Audit().RecordTenantEvent(ctx, c, audit.Event{Action: audit.ActionAIBudgetExhausted,
			TargetType: "proposal", TargetID: proposalID.String(),
			Reason: "chat question refused: the monthly token budget cannot cover it", Metadata: mustJSON(map[string]any{"estimated_tokens": reserve})})
		return rampart.ChatTurn{}, rampart.Errorf(op, rampart.KindQuotaExceeded,
			"the organization's monthly AI token budget cannot cover this question (about %d tokens)", reserve)
	}
	if err != nil {
		return rampart.ChatTurn{}, err
	}
	return s.answer(ctx, c, turn, req, out)
}

// answer runs the model call of a recorded turn and ends the turn.
func (s *Service) answer(ctx context.Context, c rampart.Claims, turn rampart.ChatTurn, req llm.Request, out Stream) (rampart.ChatTurn, error) {
	const op = "chat.Ask"
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Register before the second check: a switch that flips in between is
	// seen by one of the two.
	unregister := s.opts.Watcher.RegisterStream(c.OrganizationID, turn.ID, cancel)
	defer unregister()
	finishCtx := context.WithoutCancel(ctx)
	if err := s.opts.Watcher.Check(c.OrganizationID); err != nil {
		var st *killswitch.Stopped
		if !errors.As(err, &st) {
			st = &killswitch.Stopped{Scope: "unknown"} // the state went stale: fail closed (503)
		}
		return s.stop(finishCtx, c, turn, 0, st, true)
	}
	if out.Started != nil {
		if err := out.Started(turn); err != nil {
			return s.fail(finishCtx, c, turn, "client_gone", llm.Response{}, err)
		}
	}

	var (
		blocks   sanitize.Blocks
		raw      strings.Builder
		streamed int
		errLeak  = rampart.Wrap(op, rampart.KindInvalid, llm.ErrOutputLeak)
	)
	send := func(hs []sanitize.HTML) error {
		for _, h := range hs {
			if out.Block != nil {
				if err := out.Block(h); err != nil {
					return err
				}
			}
		}
		return nil
	}
	resp, callErr := s.opts.Provider.Stream(callCtx, req, func(d string) error {
		streamed += len(d)
		raw.WriteString(d)
		done, err := blocks.Write(d)
		if err != nil || len(done) == 0 {
			return err
		}
		// A passage of the instructions is never shown, even before the
		// provider's whole-answer check runs.
		if llm.ProposalChat.Reproduces(raw.String()) {
			return errLeak
		}
		return send(done)
	})
	var st *killswitch.Stopped
	if errors.As(context.Cause(callCtx), &st) {
		// Stopped mid-stream (or right after the last delta): nothing more
		// is sent and no answer is stored.
		spent := llm.EstimateTokens(llm.Request{Prompt: req.Prompt, Data: req.Data, MaxTokens: 1}) + streamed/4
		if callErr == nil {
			spent = resp.Usage.Total()
		}
		return s.stop(finishCtx, c, turn, spent, st, false)
	}
	if errors.Is(callErr, llm.ErrOutputLeak) {
		if resp.Usage.Total() == 0 {
			resp.Usage = llm.Usage{InputTokens: llm.EstimateTokens(llm.Request{Prompt: req.Prompt, Data: req.Data, MaxTokens: 1}), OutputTokens: streamed / 4, Estimated: true}
		}
		return s.fail(finishCtx, c, turn, "output_leak", resp, callErr)
	}
	if callErr != nil {
		code := "provider_error"
		if rampart.ErrorKind(callErr) == rampart.KindTooLarge {
			code = "output_rejected"
		}
		if resp.Usage.Total() == 0 {
			resp.Usage = llm.Usage{InputTokens: llm.EstimateTokens(llm.Request{Prompt: req.Prompt, Data: req.Data, MaxTokens: 1}), OutputTokens: streamed / 4, Estimated: true}
		}
		return s.fail(finishCtx, c, turn, code, resp, callErr)
	}
	// The last block, then the whole answer sanitised again for the store.
	last, err := blocks.Flush()
	if err == nil && last.String() != "" {
		err = send([]sanitize.HTML{last})
	}
	if err != nil {
		return s.fail(finishCtx, c, turn, "client_gone", resp, err)
	}
	body, err := sanitize.Markdown(resp.Text)
	if err != nil {
		return s.fail(finishCtx, c, turn, "output_rejected", resp, err)
	}
	return store.InTenantValue(finishCtx, s.opts.Store, c, func(ctx context.Context, tx *store.TenantTx) (rampart.ChatTurn, error) {
		return tx.Chat().Finish(ctx, turn.ID, store.ChatOutcome{Status: rampart.ChatAnswered, Answer: body, Model: resp.Model,
			InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens, Action: audit.ActionChatAnswered,
			Metadata: map[string]any{"usage_estimated": resp.Usage.Estimated, "stop_reason": resp.StopReason, "answer_bytes": len(body.String())}})
	})
}

// stop ends a turn a kill switch stopped: no answer, the tokens spent so
// far billed, audited with the scope.
func (s *Service) stop(ctx context.Context, c rampart.Claims, turn rampart.ChatTurn, spent int, st *killswitch.Stopped, before bool) (rampart.ChatTurn, error) {
	const op = "chat.Ask"
	ended, err := store.InTenantValue(ctx, s.opts.Store, c, func(ctx context.Context, tx *store.TenantTx) (rampart.ChatTurn, error) {
		return tx.Chat().Finish(ctx, turn.ID, store.ChatOutcome{Status: rampart.ChatStopped, ErrorCode: "killswitch_" + st.Scope,
			InputTokens: spent, Action: audit.ActionChatStopped, Reason: st.Error(),
			Metadata: map[string]any{"scope": st.Scope, "before_model_call": before}})
	})
	if err != nil {
		s.opts.Logger.Warn("could not record a chat turn stopped by a kill switch", "turn_id", turn.ID, "err", err)
		ended = turn
	}
	if st.Scope == "unknown" {
		return ended, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: "the AI kill-switch state cannot be confirmed; the question was not answered", Err: ErrStopped}
	}
	return ended, &rampart.Error{Op: op, Kind: rampart.KindLocked, Message: "the AI kill switch stopped the answer; nothing of it was stored", Err: ErrStopped}
}

// fail ends a turn whose answer failed: no answer, the tokens billed.
func (s *Service) fail(ctx context.Context, c rampart.Claims, turn rampart.ChatTurn, code string, resp llm.Response, cause error) (rampart.ChatTurn, error) {
	const op = "chat.Ask"
	ended, err := store.InTenantValue(ctx, s.opts.Store, c, func(ctx context.Context, tx *store.TenantTx) (rampart.ChatTurn, error) {
		return tx.Chat().Finish(ctx, turn.ID, store.ChatOutcome{Status: rampart.ChatFailed, ErrorCode: code, Model: resp.Model,
			InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens, Action: audit.ActionChatFailed,
			Metadata: map[string]any{"error_code": code, "usage_estimated": resp.Usage.Estimated}})
	})
	if err != nil {
		s.opts.Logger.Warn("could not record a failed chat turn", "turn_id", turn.ID, "err", err)
		ended = turn
	}
	s.opts.Logger.Debug("chat answer failed", "turn_id", turn.ID, "code", code, "err", cause)
	msg := "the model's answer failed; nothing of it was stored"
	if code == "output_leak" {
		msg = "the model's answer reproduced its instructions and was refused; nothing of it was stored"
	}
	return ended, &rampart.Error{Op: op, Kind: rampart.KindUnavailable, Message: msg, Err: errors.Join(ErrAnswerFailed, cause)}
}

// refuse records a flagged input (the scores, never the text) on its own
// transaction and returns refusal.
func (s *Service) refuse(ctx context.Context, c rampart.Claims, proposalID uuid.UUID, what string, v guard.Verdict, refusal error) error {
	meta := map[string]any{"input": what, "rules": v.Rules(), "score": v.Score, "rules_score": v.RulesScore,
		"model_score": v.ModelScore, "model_probability": v.ModelProbability, "threshold": v.Threshold, "truncated": v.Truncated}
	if err := s.opts.Store.Audit().RecordTenantEvent(ctx, c, audit.Event{Action: audit.ActionChatRefused, TargetType: "proposal",
		TargetID: proposalID.String(), Reason: "the " + what + " looks like a prompt injection", Metadata: mustJSON(meta)}); err != nil {
		return err
	}
	return refusal
}

// refuseKilled answers a question in a killed scope: 423 with the reason
// (the organization's own, read through RLS), audited.
func (s *Service) refuseKilled(ctx context.Context, op string, c rampart.Claims, proposalID uuid.UUID, checkErr error) error {
	var orgReason string
	var st *killswitch.Stopped
	if errors.As(checkErr, &st) && st.Scope == "organization" {
		ks, err := store.InTenantValue(ctx, s.opts.Store, c, func(ctx context.Context, tx *store.TenantTx) (rampart.KillSwitch, error) {
			return tx.KillSwitch().Get(ctx)
		})
		if err == nil {
			orgReason = ks.Reason
		}
	}
	refusal := killswitch.Refuse(op, checkErr, orgReason)
	if err := s.opts.Store.Audit().RecordTenantEvent(ctx, c, audit.Event{Action: audit.ActionChatKillBlocked,
		TargetType: "proposal", TargetID: proposalID.String(), Reason: rampart.ErrorMessage(refusal)}); err != nil {
		return err
	}
	return refusal
}

// fact is one labelled piece of the proposal's data, before the guard.
type fact struct{ label, text string }

// readFacts reads the proposal's bill of materials, statement of work and
// budget lines as c may see them (the priced reads only when costed) and
// lays them out as text with the proposal's own fields.
func (s *Service) readFacts(ctx context.Context, c rampart.Claims, p rampart.Proposal, costed bool) ([]fact, error) {
	st := s.opts.Store
	facts := []fact{{"title", p.Title}, {"client", p.ClientName}, {"brief", p.Brief}}
	if p.VenueCode != nil {
		facts = append(facts, fact{"venue", *p.VenueCode})
	}
	var b strings.Builder
	if costed {
		bill, err := bom.GetCosted(ctx, st, c, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range bill.Lines {
			fmt.Fprintf(&b, "- %s: %s %s (%s)", l.Item, l.Quantity, l.Unit, l.Category)
			if l.Cost.UnitCost != nil {
				fmt.Fprintf(&b, "; unit cost %s %s", l.Cost.UnitCost.Amount(), l.Cost.UnitCost.Currency)
			}
			if l.LineTotal != nil {
				fmt.Fprintf(&b, "; line total %s", jsonMoney(l.LineTotal))
			}
			if l.Cost.LeadTimeDays != nil {
				fmt.Fprintf(&b, "; lead time %d days", *l.Cost.LeadTimeDays)
			}
			if l.Cost.Sourcing != "" {
				fmt.Fprintf(&b, "; sourcing: %s", l.Cost.Sourcing)
			}
			b.WriteString("\n")
		}
		for _, t := range bill.Totals {
			fmt.Fprintf(&b, "Total: %s\n", jsonMoney(&t))
		}
	} else {
		bill, err := bom.Get(ctx, st, c, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range bill.Lines {
			fmt.Fprintf(&b, "- %s: %s %s (%s)\n", l.Item, l.Quantity, l.Unit, l.Category)
		}
	}
	facts = append(facts, fact{"bill_of_materials", b.String()})

	var sow rampart.SOW
	var amount *rampart.Money
	var err error
	if costed {
		var priced rampart.PricedSOW
		priced, err = finance.PricedSOW(ctx, st, c, p.ID)
		sow, amount = priced.SOW, &priced.Amount
	} else {
		sow, err = finance.SOW(ctx, st, c, p.ID)
	}
	switch {
	case rampart.ErrorKind(err) == rampart.KindNotFound:
	case err != nil:
		return nil, err
	default:
		text := fmt.Sprintf("Title: %s\nStatus: %s\n", sow.Title, sow.Status)
		if amount != nil {
			text += fmt.Sprintf("Amount: %s %s\n", amount.Amount(), amount.Currency)
		}
		if sow.Terms != "" {
			text += "Terms: " + sow.Terms + "\n"
		}
		facts = append(facts, fact{"statement_of_work", text})
	}

	b.Reset()
	if costed {
		lines, err := finance.PricedBudget(ctx, st, c, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s (%s), %s: planned %s %s", l.Description, l.Category, l.Status, l.Planned.Amount(), l.Planned.Currency)
			if l.Actual != nil {
				fmt.Fprintf(&b, ", actual %s %s", l.Actual.Amount(), l.Actual.Currency)
			}
			b.WriteString("\n")
		}
	} else {
		lines, err := finance.Budget(ctx, st, c, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s (%s), %s\n", l.Description, l.Category, l.Status)
		}
	}
	facts = append(facts, fact{"budget", b.String()})
	return facts, nil
}

// jsonMoney formats a total as "1234.50 EUR".
func jsonMoney(t *rampart.Total) string {
	var m struct{ Amount, Currency string }
	b, _ := json.Marshal(t)
	_ = json.Unmarshal(b, &m)
	return m.Amount + " " + m.Currency
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// Page is one page of a conversation, oldest first, and the cursor of the
// next (nil on the last).
type Page struct {
	Turns []rampart.ChatTurn `json:"turns"`
	Next  *store.ChatCursor  `json:"-"`
}

// List returns a proposal's conversation as c may read it: the proposal
// must be readable (another organization's is 404), and the costed turns
// are left out for roles without full cost access.
func List(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID, limit int, after *store.ChatCursor) (Page, error) {
	const op = "chat.List"
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, rampart.FieldError(op, "limit", "must be between 1 and %d", MaxPageSize)
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (Page, error) {
		if _, err := proposal.Readable(ctx, tx, op, proposalID); err != nil {
			return Page{}, err
		}
		turns, err := tx.Chat().List(ctx, proposalID, limit+1, after)
		if err != nil {
			return Page{}, err
		}
		costed := access.HasFullCostAccess(c.Role)
		pg := Page{Turns: make([]rampart.ChatTurn, 0, len(turns))}
		for _, t := range turns {
			if t.Costed && !costed {
				continue // RLS already leaves these out; a backstop
			}
			pg.Turns = append(pg.Turns, t)
		}
		if len(pg.Turns) > limit {
			pg.Turns = pg.Turns[:limit]
			last := pg.Turns[limit-1]
			pg.Next = &store.ChatCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		return pg, nil
	})
}
