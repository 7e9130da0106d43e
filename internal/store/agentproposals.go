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
)

// From queries/agentproposals.sql.
var (
	sqlCreateAgentProposal    = query("CreateAgentProposal")
	sqlGetAgentProposal       = query("GetAgentProposal")
	sqlGetAgentProposalPriced = query("GetAgentProposalPriced")
	sqlLockAgentProposal      = query("LockAgentProposal")
	sqlListAgentProposals     = query("ListAgentProposals")
	sqlDecideAgentProposal    = query("DecideAgentProposal")
	sqlExpireAgentProposals   = query("ExpireAgentProposals")
)

// AgentTx is the transaction an agent holds while it acts for the member
// who asked for it (Store.InAgent): row-level security sees that member's
// live claims, and the type offers only what an agent may do — read the
// proposal it works on, record an agent proposal, finish its own AI job.
// It has no write of a bill of materials, a budget, a statement of work or
// a choice: those are applied only when a person approves the proposal, in
// the person's own TenantTx (internal/agentproposal). The architecture
// test keeps agent packages (internal/agent) away from finance too.
type AgentTx struct {
	t     tenant
	agent string
}

// InAgent runs fn as agent acting for claims' member: a tenant transaction
// whose events are the agent's ("bom_drafter:<user>").
func (s *Store) InAgent(ctx context.Context, claims rampart.Claims, agent string, fn func(ctx context.Context, tx *AgentTx) error) error {
	if agent == "" {
		return rampart.Errorf("store.InAgent", rampart.KindInvalid, "an agent transaction needs its agent type")
	}
	return s.inTenant(ctx, claims, func(ctx context.Context, t *txn) error {
		return fn(ctx, &AgentTx{t: tenant{txn: t, tc: *t.claims}, agent: agent})
	})
}

// Claims returns the claims the agent acts with (its requester's).
func (tx *AgentTx) Claims() rampart.Claims { return tx.t.tc }

// ProposalSummary reads the proposal the agent works on (no brief, no body).
func (tx *AgentTx) ProposalSummary(ctx context.Context, id uuid.UUID) (rampart.ProposalSummary, error) {
	return ProposalsTx{tx.t}.Summary(ctx, id)
}

// FinishJob records the outcome of the agent's own AI job attempt
// (AIJobsTx.Finish), in the same transaction as its proposal.
func (tx *AgentTx) FinishJob(ctx context.Context, id uuid.UUID, attempt int, out JobOutcome) (rampart.AIJob, error) {
	if out.Body != nil {
		return rampart.AIJob{}, rampart.Errorf("store.AgentFinishJob", rampart.KindInvalid, "an agent's job proposes; it writes no proposal body")
	}
	return AIJobsTx{tx.t}.Finish(ctx, id, attempt, out)
}

// costJSON is how AgentChangeCost is stored: minor units, not the
// display form of Money.
type costJSON struct {
	Planned []moneyJSON      `json:"planned,omitempty"`
	Signals []rampart.Signal `json:"signals,omitempty"`
}

type moneyJSON struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

func encodeCost(c rampart.AgentChangeCost) ([]byte, error) {
	if len(c.Planned) == 0 && len(c.Signals) == 0 {
		return nil, nil
	}
	out := costJSON{Signals: c.Signals}
	for _, m := range c.Planned {
		out.Planned = append(out.Planned, moneyJSON{Minor: m.Minor, Currency: m.Currency})
	}
	return json.Marshal(out)
}

func decodeCost(b []byte) (rampart.AgentChangeCost, error) {
	var c rampart.AgentChangeCost
	if len(b) == 0 {
		return c, nil
	}
	var in costJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return c, err
	}
	for _, m := range in.Planned {
		c.Planned = append(c.Planned, rampart.Money{Minor: m.Minor, Currency: m.Currency})
	}
	c.Signals = in.Signals
	return c, nil
}

// Propose records an agent proposal, pending, expiring a week after p.At.
// The event is the agent's, with the change and its amounts.
func (tx *AgentTx) Propose(ctx context.Context, p rampart.NewAgentProposal) (rampart.PricedAgentProposal, error) {
	const op = "store.ProposeAgentChange"
	if p.AgentType != tx.agent {
		return rampart.PricedAgentProposal{}, rampart.Errorf(op, rampart.KindInvalid, "agent %s cannot propose as %s", tx.agent, p.AgentType)
	}
	if err := rampart.ValidateAgentProposal(p); err != nil {
		return rampart.PricedAgentProposal{}, err
	}
	change, err := json.Marshal(p.Change)
	if err != nil {
		return rampart.PricedAgentProposal{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	cost, err := encodeCost(p.Cost)
	if err != nil {
		return rampart.PricedAgentProposal{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	c := tx.t.tc
	out, err := scanAgentProposal(tx.t.queryRow(ctx, sqlCreateAgentProposal, c.OrganizationID, p.ProposalID, p.JobID, p.AgentType,
		p.Kind, change, cost, p.Rationale, c.UserID, p.At.UTC()), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, rampart.Errorf(op, rampart.KindNotFound, "proposal %s not found", p.ProposalID)
	}
	if err != nil {
		return out, classify(op, err)
	}
	ev := tx.t.userEvent(audit.Event{Action: audit.ActionAgentProposalCreated, TargetType: "agent_proposal",
		TargetID: out.ID.String(), After: snapshot(out),
		Metadata: metadata(map[string]any{"proposal_id": out.ProposalID, "kind": out.Kind, "job_id": out.JobID})})
	ev.ActorType, ev.ActorID = audit.ActorAgent, tx.agent+":"+c.UserID.String()
	return out, tx.t.recordAudit(ctx, ev)
}

// AgentProposalsTx is the organization's agent proposals as people read
// and decide them.
type AgentProposalsTx struct{ tenant }

// AgentProposals returns the agent-proposal methods.
func (tx *TenantTx) AgentProposals() AgentProposalsTx { return AgentProposalsTx{tx.tenant} }

// AgentProposalFilter narrows a list.
type AgentProposalFilter struct {
	Status     *rampart.AgentProposalStatus
	ProposalID *uuid.UUID
	Limit      int
	// Before is the (created_at, id) of the last item of the previous page.
	Before *AgentProposalCursor
}

// AgentProposalCursor is a position in the newest-first list.
type AgentProposalCursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// MaxListAgentProposals bounds a page.
const MaxListAgentProposals = 200

// List pages the proposals the caller may read, newest first, without amounts.
func (tx AgentProposalsTx) List(ctx context.Context, f AgentProposalFilter) ([]rampart.AgentProposal, error) {
	const op = "store.ListAgentProposals"
	if f.Limit <= 0 || f.Limit > MaxListAgentProposals {
		f.Limit = 50
	}
	var status *string
	if f.Status != nil {
		s := string(*f.Status)
		status = &s
	}
	var at *time.Time
	var id *uuid.UUID
	if f.Before != nil {
		at, id = &f.Before.CreatedAt, &f.Before.ID
	}
	rows, err := tx.query(ctx, sqlListAgentProposals, tx.tc.OrganizationID, status, f.ProposalID, f.Limit, at, id)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.AgentProposal, error) {
		p, err := scanAgentProposal(r, false)
		return p.AgentProposal, err
	})
	return out, classify(op, err)
}

// Get reads one proposal without amounts; another tenant's, or one out of
// the caller's venues, is not found.
func (tx AgentProposalsTx) Get(ctx context.Context, id uuid.UUID) (rampart.AgentProposal, error) {
	const op = "store.GetAgentProposal"
	p, err := scanAgentProposal(tx.queryRow(ctx, sqlGetAgentProposal, tx.tc.OrganizationID, id), false)
	return p.AgentProposal, classify(op, err)
}

// GetPriced reads one proposal with the amounts of its change. Only the
// use cases of roles with full cost access call it.
func (tx AgentProposalsTx) GetPriced(ctx context.Context, id uuid.UUID) (rampart.PricedAgentProposal, error) {
	const op = "store.GetAgentProposalPriced"
	p, err := scanAgentProposal(tx.queryRow(ctx, sqlGetAgentProposalPriced, tx.tc.OrganizationID, id), true)
	return p, classify(op, err)
}

// Lock reads one proposal with its amounts and locks it until the
// transaction ends: a decision holds it against a concurrent one.
func (tx AgentProposalsTx) Lock(ctx context.Context, id uuid.UUID) (rampart.PricedAgentProposal, error) {
	const op = "store.LockAgentProposal"
	p, err := scanAgentProposal(tx.queryRow(ctx, sqlLockAgentProposal, tx.tc.OrganizationID, id), true)
	return p, classify(op, err)
}

// Decision is a person's decision on a pending proposal.
type Decision struct {
	Approve bool
	Reason  *string
	At      time.Time
	// Applied is what approval created (required to approve).
	Applied *rampart.AgentApplied
}

// Decide records a decision on a pending proposal the caller locked, with
// its audit event (before and after). A proposal decided or expired
// meanwhile is a conflict and nothing is written.
func (tx AgentProposalsTx) Decide(ctx context.Context, before rampart.PricedAgentProposal, d Decision) (rampart.AgentProposal, error) {
	const op = "store.DecideAgentProposal"
	status, action := rampart.AgentProposalRejected, audit.ActionAgentProposalRejected
	var applied []byte
	if d.Approve {
		if d.Applied == nil {
			return rampart.AgentProposal{}, rampart.Errorf(op, rampart.KindInvalid, "an approval records what it applied")
		}
		status, action = rampart.AgentProposalApproved, audit.ActionAgentProposalApproved
		b, err := json.Marshal(d.Applied)
		if err != nil {
			return rampart.AgentProposal{}, rampart.Wrap(op, rampart.KindInternal, err)
		}
		applied = b
	}
	after, err := scanAgentProposal(tx.queryRow(ctx, sqlDecideAgentProposal, tx.tc.OrganizationID, before.ID, status,
		tx.tc.UserID, d.At.UTC(), d.Reason, applied), false)
	if errors.Is(err, pgx.ErrNoRows) {
		return after.AgentProposal, rampart.Errorf(op, rampart.KindConflict, "the agent proposal is no longer pending")
	}
	if err != nil {
		return after.AgentProposal, classify(op, err)
	}
	reason := ""
	if d.Reason != nil {
		reason = *d.Reason
	}
	after.Cost = before.Cost
	return after.AgentProposal, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: action, Reason: reason,
		TargetType: "agent_proposal", TargetID: before.ID.String(), Before: snapshot(before), After: snapshot(after),
		Metadata: metadata(map[string]any{"proposal_id": before.ProposalID, "kind": before.Kind, "agent_type": before.AgentType})}))
}

// ExpiredAgentProposal is one proposal the expiry task marked.
type ExpiredAgentProposal struct {
	OrganizationID uuid.UUID
	ID             uuid.UUID
}

// ExpireAgentProposals marks expired, on the service path, up to limit
// pending proposals whose week ended at or before now, with one audit
// event each in its organization. It returns how many it marked; the
// periodic task calls it until fewer than limit come back.
func (p Periodic) ExpireAgentProposals(ctx context.Context, now time.Time, limit int) (int, error) {
	const op = "store.ExpireAgentProposals"
	if limit <= 0 || limit > 1000 {
		return 0, rampart.Errorf(op, rampart.KindInvalid, "a batch is 1 to 1000 proposals")
	}
	n := 0
	err := p.s.asService(ctx, "expire agent proposals pending for more than 7 days", func(ctx context.Context, tx *txn) error {
		rows, err := tx.query(ctx, sqlExpireAgentProposals, now.UTC(), limit)
		if err != nil {
			return err
		}
		type expired struct {
			org, id, proposal    uuid.UUID
			agent, kind          string
			createdAt, expiresAt time.Time
		}
		var all []expired
		var e expired
		if _, err := pgx.ForEachRow(rows, []any{&e.org, &e.id, &e.proposal, &e.agent, &e.kind, &e.createdAt, &e.expiresAt}, func() error {
			all = append(all, e)
			return nil
		}); err != nil {
			return err
		}
		for _, e := range all {
			org := e.org
			if err := tx.recordAudit(ctx, audit.Event{OrganizationID: &org, ActorType: audit.ActorService, ActorID: tx.service,
				Action: audit.ActionAgentProposalExpired, TargetType: "agent_proposal", TargetID: e.id.String(),
				Reason: "pending for 7 days without a decision",
				Metadata: metadata(map[string]any{"proposal_id": e.proposal, "agent_type": e.agent, "kind": e.kind,
					"created_at": e.createdAt, "expires_at": e.expiresAt})}); err != nil {
				return err
			}
		}
		n = len(all)
		return nil
	})
	return n, classify(op, err)
}

// scanAgentProposal scans agent_proposal_columns, then change_cost when
// priced.
func scanAgentProposal(r pgx.Row, priced bool) (rampart.PricedAgentProposal, error) {
	var p rampart.PricedAgentProposal
	var change, applied, cost []byte
	dst := []any{&p.OrganizationID, &p.ID, &p.ProposalID, &p.VenueCode, &p.JobID, &p.AgentType, &p.Kind, &change, &p.Rationale,
		&p.Status, &p.RequestedBy, &p.CreatedAt, &p.ExpiresAt, &p.DecidedBy, &p.DecidedAt, &p.DecisionReason, &applied, &p.UpdatedAt}
	if priced {
		dst = append(dst, &cost)
	}
	if err := r.Scan(dst...); err != nil {
		return p, err
	}
	if err := json.Unmarshal(change, &p.Change); err != nil {
		return p, err
	}
	if len(applied) > 0 {
		p.Applied = &rampart.AgentApplied{}
		if err := json.Unmarshal(applied, p.Applied); err != nil {
			return p, err
		}
	}
	c, err := decodeCost(cost)
	if err != nil {
		return p, err
	}
	p.Cost = c
	p.Labels()
	return p, nil
}
