package agentproposal

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/bom"
	"github.com/rampart-dev/rampart/internal/crew"
	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/learning"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
	"github.com/rampart-dev/rampart/internal/vendors"
)

// View is an agent proposal as the caller may see it: with the amounts of
// its change for a role with full cost access, without them otherwise.
type View struct {
	Public *rampart.AgentProposal
	Priced *rampart.PricedAgentProposal
}

// Value is what a response carries.
func (v View) Value() any {
	if v.Priced != nil {
		return *v.Priced
	}
	return *v.Public
}

// Proposal is the proposal's public part, whichever the view holds.
func (v View) Proposal() rampart.AgentProposal {
	if v.Priced != nil {
		return v.Priced.AgentProposal
	}
	return *v.Public
}

func costAccess(c rampart.Claims) bool { return access.HasFullCostAccess(c.Role) }

// artefact is the kind of thing a proposal would change, for the
// permission matrix ("BOM only" for technical directors).
func artefact(k rampart.AgentProposalKind) access.ResourceKind {
	switch k {
	case rampart.ProposeBOMLines:
		return access.KindBOM
	case rampart.ProposeBudgetLines:
		return access.KindBudget
	}
	return access.KindProposal
}

func view(ctx context.Context, tx *store.TenantTx, id uuid.UUID) (View, error) {
	if costAccess(tx.Claims()) {
		p, err := tx.AgentProposals().GetPriced(ctx, id)
		return View{Priced: &p}, err
	}
	p, err := tx.AgentProposals().Get(ctx, id)
	return View{Public: &p}, err
}

// List pages the agent proposals the caller may read (row-level security
// scopes venue managers to their venues), newest first, without amounts.
func List(ctx context.Context, st *store.Store, c rampart.Claims, f store.AgentProposalFilter) ([]rampart.AgentProposal, error) {
	if f.Status != nil && !validStatus(*f.Status) {
		return nil, rampart.FieldError("agentproposal.List", "status", "must be pending, approved, rejected or expired")
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.AgentProposal, error) {
		return tx.AgentProposals().List(ctx, f)
	})
}

func validStatus(s rampart.AgentProposalStatus) bool {
	switch s {
	case rampart.AgentProposalPending, rampart.AgentProposalApproved, rampart.AgentProposalRejected, rampart.AgentProposalExpired:
		return true
	}
	return false
}

// Get reads one agent proposal as the caller may see it.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (View, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (View, error) {
		return view(ctx, tx, id)
	})
}

// denied is a refusal of a visible proposal, audited after the rollback.
type denied struct {
	err  error
	id   uuid.UUID
	rule string
}

func (d *denied) Error() string { return d.err.Error() }
func (d *denied) Unwrap() error { return d.err }

// run is InTenant for decisions: a refusal of a proposal the caller can
// see is recorded (agent_proposal.denied) in a transaction of its own
// after the rollback, and the caller gets the refusal.
func run(ctx context.Context, st *store.Store, c rampart.Claims, fn func(context.Context, *store.TenantTx) (View, error)) (View, error) {
	v, err := store.InTenantValue(ctx, st, c, fn)
	var d *denied
	if errors.As(err, &d) {
		meta, _ := json.Marshal(map[string]string{"rule": d.rule})
		rerr := st.InTenant(context.WithoutCancel(ctx), c, func(ctx context.Context, tx *store.TenantTx) error {
			return tx.RecordAudit(ctx, audit.Event{ActorType: audit.ActorUser, ActorID: c.UserID.String(),
				Action: audit.ActionAgentProposalDenied, TargetType: "agent_proposal", TargetID: d.id.String(), Metadata: meta})
		})
		if rerr != nil {
			return v, rerr
		}
		return v, d.err
	}
	return v, err
}

// decidable locks a pending, unexpired proposal the caller may decide.
func decidable(ctx context.Context, tx *store.TenantTx, op string, id uuid.UUID, now time.Time) (rampart.PricedAgentProposal, error) {
	// Read first (every reader sees it), so a reader who may not decide
	// is told so (403) rather than "not found"; then lock (FOR UPDATE
	// needs the UPDATE policy, which readers are outside of).
	seen, err := tx.AgentProposals().Get(ctx, id)
	if err != nil {
		return rampart.PricedAgentProposal{}, err
	}
	venue := ""
	if seen.VenueCode != nil {
		venue = *seen.VenueCode
	}
	if err := access.Check(tx.Claims(), access.ActionApproveAgentProposal, access.Resource{Kind: artefact(seen.Kind), VenueCode: venue}); err != nil {
		return rampart.PricedAgentProposal{}, &denied{err: err, id: id, rule: "may_not_decide_" + string(seen.Kind)}
	}
	p, err := tx.AgentProposals().Lock(ctx, id)
	if err != nil {
		return p, err
	}
	switch {
	case p.Status != rampart.AgentProposalPending:
		return p, rampart.Errorf(op, rampart.KindConflict, "rule already_decided: the agent proposal is %s", p.Status)
	case !now.Before(p.ExpiresAt):
		return p, rampart.Errorf(op, rampart.KindConflict, "rule expired: the agent proposal expired at %s, 7 days after it was made",
			p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return p, nil
}

// Approve applies a pending proposal as the caller and records the
// decision, in one transaction: the applied change's events and the
// approval's event commit together. The caller must be allowed to decide
// this kind of proposal and to make the change by hand; now is the
// decision time (the expiry is checked against it).
func Approve(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, reason string, now time.Time) (View, error) {
	const op = "agentproposal.Approve"
	r, err := optionalReason(op, reason)
	if err != nil {
		return View{}, err
	}
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (View, error) {
		p, err := decidable(ctx, tx, op, id, now)
		if err != nil {
			return View{}, err
		}
		applied, err := apply(ctx, tx, p)
		if err != nil {
			if k := rampart.ErrorKind(err); k == rampart.KindForbidden {
				// Allowed to decide, but not to make this change by hand.
				return View{}, &denied{id: id, rule: "approver_cannot_make_change", err: rampart.Errorf(op, rampart.KindConflict,
					"rule approver_cannot_make_change: approving applies the change as you, and you may not: %s", rampart.ErrorMessage(err))}
			}
			return View{}, err
		}
		if _, err := tx.AgentProposals().Decide(ctx, p, store.Decision{Approve: true, Reason: r, At: now, Applied: &applied}); err != nil {
			return View{}, err
		}
		return view(ctx, tx, id)
	})
}

// Reject records a rejection with its reason (required).
func Reject(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, reason string, now time.Time) (View, error) {
	const op = "agentproposal.Reject"
	r, err := optionalReason(op, reason)
	if err != nil {
		return View{}, err
	}
	if r == nil {
		return View{}, rampart.FieldError(op, "reason", "is required to reject")
	}
	return run(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (View, error) {
		p, err := decidable(ctx, tx, op, id, now)
		if err != nil {
			return View{}, err
		}
		if _, err := tx.AgentProposals().Decide(ctx, p, store.Decision{Approve: false, Reason: r, At: now}); err != nil {
			return View{}, err
		}
		if err := learnRejection(ctx, tx, p); err != nil {
			return View{}, err
		}
		return view(ctx, tx, id)
	})
}

func optionalReason(op, reason string) (*string, error) {
	if reason == "" {
		return nil, nil
	}
	r, err := rampart.ValidateReason(reason)
	if err != nil {
		return nil, rampart.FieldError(op, "reason", "must be 1 to 500 characters of text")
	}
	return &r, nil
}

// apply makes the proposed change through the use cases a person's own
// edit uses, as the caller.
func apply(ctx context.Context, tx *store.TenantTx, p rampart.PricedAgentProposal) (rampart.AgentApplied, error) {
	var out rampart.AgentApplied
	switch p.Kind {
	case rampart.ProposeBOMLines:
		for _, l := range p.Change.BOMLines {
			line, err := bom.AddLineIn(ctx, tx, p.ProposalID, bom.LineInput{Item: l.Item, Category: l.Category,
				Quantity: l.Quantity, Unit: l.Unit}, true)
			if err != nil {
				return out, err
			}
			out.BOMLines = append(out.BOMLines, lineID(line))
		}
	case rampart.ProposeBudgetLines:
		if len(p.Cost.Planned) != len(p.Change.BudgetLines) {
			return out, rampart.Errorf("agentproposal.apply", rampart.KindInternal, "a budget proposal without its amounts")
		}
		for i, l := range p.Change.BudgetLines {
			line, err := finance.AddBudgetLineIn(ctx, tx, p.ProposalID, finance.BudgetInput{Category: l.Category,
				Description: l.Description, Planned: p.Cost.Planned[i]})
			if err != nil {
				return out, err
			}
			out.BudgetLines = append(out.BudgetLines, line.ID)
		}
	case rampart.ProposeVendorChoice:
		if p.Change.VendorChoice == nil {
			return out, rampart.Errorf("agentproposal.apply", rampart.KindInternal, "a vendor_choice proposal without its choice")
		}
		rec, err := vendors.ApplyChoice(ctx, tx, tx.Claims(), *p.Change.VendorChoice)
		if err != nil {
			return out, err
		}
		out.VendorChoice = &rec.ID
	case rampart.ProposeCrewAssignment:
		if p.Change.CrewAssignment == nil {
			return out, rampart.Errorf("agentproposal.apply", rampart.KindInternal, "a crew_assignment proposal without its assignment")
		}
		rec, err := crew.ApplyAssignment(ctx, tx, tx.Claims(), *p.Change.CrewAssignment)
		if err != nil {
			return out, err
		}
		out.CrewAssignment = &rec.ID
	default:
		return out, rampart.Errorf("agentproposal.apply", rampart.KindConflict, "rule unsupported_kind: %s proposals cannot be applied by this version", p.Kind)
	}
	return out, nil
}

// learnRejection teaches the ranker behind a rejected choice: the
// candidate's signals count against it, in the rejection's transaction
// (an approval teaches through the Apply* use case it runs).
func learnRejection(ctx context.Context, tx *store.TenantTx, p rampart.PricedAgentProposal) error {
	signals := p.Cost.Signals
	if len(signals) == 0 {
		signals = p.Change.Signals
	}
	switch p.Kind {
	case rampart.ProposeVendorChoice:
		return learning.Observe(ctx, tx, vendors.Ranker, signals, false)
	case rampart.ProposeCrewAssignment:
		return learning.Observe(ctx, tx, crew.Ranker, signals, false)
	}
	return nil
}

func lineID(l bom.Line) uuid.UUID {
	if l.Costed != nil {
		return l.Costed.ID
	}
	return l.Public.ID
}
