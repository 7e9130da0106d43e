package proposal

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Input is a new proposal. Brief is untrusted text: it reaches a model
// only through the prompt-injection guard.
type Input struct {
	Title      string
	ClientName string
	VenueCode  string // "" for none
	Brief      string
}

// Patch changes the fields that are set.
type Patch struct {
	Title      *string
	ClientName *string
	VenueCode  *string
	Brief      *string
}

// Resource is the proposal as the access matrix sees it.
func Resource(p rampart.ProposalSummary) access.Resource {
	r := access.Resource{Kind: access.KindProposal}
	if p.VenueCode != nil {
		r.VenueCode = *p.VenueCode
	}
	return r
}

func notFound(op string) error { return rampart.Errorf(op, rampart.KindNotFound, "not found") }

// Page is one page of proposals (summaries: no brief, no body) and the
// cursor of the next (nil on the last).
type Page struct {
	Proposals []rampart.ProposalSummary
	Next      *store.ProposalCursor
}

// List returns a page of the proposals the caller may read, newest first:
// limit of them (0: store.DefaultListProposals; at most
// store.MaxListProposals), after the cursor when one is given. A venue
// manager's page holds only their venues' proposals (row-level security
// already returns only those; access.Can checks again).
func List(ctx context.Context, st *store.Store, c rampart.Claims, limit int, after *store.ProposalCursor) (Page, error) {
	if limit < 0 || limit > store.MaxListProposals {
		return Page{}, rampart.FieldError("proposal.List", "limit", "must be a whole number from 1 to %d", store.MaxListProposals)
	}
	var pg Page
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		all, next, err := tx.Proposals().List(ctx, limit, after)
		if err != nil {
			return err
		}
		pg.Next = next
		pg.Proposals = make([]rampart.ProposalSummary, 0, len(all))
		for _, p := range all {
			if access.Can(c, access.ActionRead, Resource(p)) {
				pg.Proposals = append(pg.Proposals, p)
			}
		}
		return nil
	})
	return pg, err
}

// ListWhere is List narrowed in the database by f (status: draft,
// ai_pending_review or approved; a venue code), for the console's filters.
func ListWhere(ctx context.Context, st *store.Store, c rampart.Claims, limit int, after *store.ProposalCursor, f store.ProposalFilter) (Page, error) {
	const op = "proposal.ListWhere"
	if limit < 0 || limit > store.MaxListProposals {
		return Page{}, rampart.FieldError(op, "limit", "must be a whole number from 1 to %d", store.MaxListProposals)
	}
	switch f.Status {
	case "", rampart.ProposalDraft, rampart.ProposalAIPendingReview, rampart.ProposalApproved:
	default:
		return Page{}, rampart.FieldError(op, "status", "must be draft, ai_pending_review or approved")
	}
	var pg Page
	err := st.InTenant(ctx, c, func(ctx context.Context, tx *store.TenantTx) error {
		all, next, err := tx.Proposals().ListWhere(ctx, limit, after, f)
		if err != nil {
			return err
		}
		pg.Next = next
		pg.Proposals = make([]rampart.ProposalSummary, 0, len(all))
		for _, p := range all {
			if access.Can(c, access.ActionRead, Resource(p)) {
				pg.Proposals = append(pg.Proposals, p)
			}
		}
		return nil
	})
	return pg, err
}

// Create adds a draft proposal authored by the caller.
func Create(ctx context.Context, st *store.Store, c rampart.Claims, in Input) (rampart.Proposal, error) {
	p := rampart.Proposal{ProposalSummary: rampart.ProposalSummary{Title: in.Title, ClientName: in.ClientName}, Brief: in.Brief}
	if in.VenueCode != "" {
		p.VenueCode = &in.VenueCode
	}
	if err := rampart.ValidateProposal(p); err != nil {
		return rampart.Proposal{}, err
	}
	if err := access.Check(c, access.ActionEdit, Resource(p.ProposalSummary)); err != nil {
		return rampart.Proposal{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
		if err := venueExists(ctx, tx, p.VenueCode); err != nil {
			return rampart.Proposal{}, err
		}
		return tx.Proposals().Create(ctx, p)
	})
}

// venueExists refuses a venue code the organization does not have (or the
// caller cannot see).
func venueExists(ctx context.Context, tx *store.TenantTx, code *string) error {
	if code == nil {
		return nil
	}
	vs, err := tx.Venues().List(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Code == *code {
			return nil
		}
	}
	return rampart.FieldError("proposal.venue", "venue_code", "no venue %q in this organization", *code)
}

// Get reads one proposal the caller may read.
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.Proposal, error) {
	p, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
		return tx.Proposals().Get(ctx, id)
	})
	if err != nil {
		return p, err
	}
	if !access.Can(c, access.ActionRead, Resource(p.ProposalSummary)) {
		return rampart.Proposal{}, notFound("proposal.Get")
	}
	return p, nil
}

// Readable reads, in tx, the summary of a proposal the caller may read:
// what the use cases of things under a proposal (its bill of materials,
// finance, attachments) check access against, without its brief and body.
// Another organization's proposal, or one outside the caller's venues, is
// not found.
func Readable(ctx context.Context, tx *store.TenantTx, op string, id uuid.UUID) (rampart.ProposalSummary, error) {
	p, err := tx.Proposals().Summary(ctx, id)
	if err != nil {
		return p, err
	}
	if !access.Can(tx.Claims(), access.ActionRead, Resource(p)) {
		return rampart.ProposalSummary{}, notFound(op)
	}
	return p, nil
}

// VenueOf is the venue code of a proposal the caller may read ("" for
// none): what the agent route scopes an agent call by.
func VenueOf(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (string, error) {
	p, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.ProposalSummary, error) {
		return Readable(ctx, tx, "proposal.VenueOf", id)
	})
	if err != nil || p.VenueCode == nil {
		return "", err
	}
	return *p.VenueCode, nil
}

// Update changes a proposal the caller may edit; moving it to another
// venue needs edit rights there too.
func Update(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, in Patch) (rampart.Proposal, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
		p, err := tx.Proposals().Get(ctx, id)
		if err != nil {
			return p, err
		}
		if !access.Can(c, access.ActionRead, Resource(p.ProposalSummary)) {
			return rampart.Proposal{}, notFound("proposal.Update")
		}
		if err := access.Check(c, access.ActionEdit, Resource(p.ProposalSummary)); err != nil {
			return p, err
		}
		if in.Title != nil {
			p.Title = *in.Title
		}
		if in.ClientName != nil {
			p.ClientName = *in.ClientName
		}
		if in.Brief != nil {
			p.Brief = *in.Brief
		}
		if in.VenueCode != nil {
			p.VenueCode = in.VenueCode
			if err := access.Check(c, access.ActionEdit, Resource(p.ProposalSummary)); err != nil {
				return p, err
			}
			if err := venueExists(ctx, tx, p.VenueCode); err != nil {
				return p, err
			}
		}
		return tx.Proposals().Update(ctx, p)
	})
}

// Approve marks an AI-generated proposal approved by the caller (who must
// be allowed to approve agent work for its venue). With seen set, only the
// version updated at seen is approved: a newer draft is a conflict.
func Approve(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, seen *time.Time) (rampart.Proposal, error) {
	p, err := Get(ctx, st, c, id)
	if err != nil {
		return p, err
	}
	if err := access.Check(c, access.ActionApproveAgentProposal, Resource(p.ProposalSummary)); err != nil {
		return rampart.Proposal{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.Proposal, error) {
		return tx.Proposals().Approve(ctx, id, seen)
	})
}
