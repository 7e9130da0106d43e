package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/sanitize"
)

// From queries/proposals.sql.
var (
	sqlCreateProposal    = query("CreateProposal")
	sqlListProposals     = query("ListProposals")
	sqlGetProposal       = query("GetProposal")
	sqlGetProposalLocked = query("GetProposalLocked")
	sqlGetProposalSumm   = query("GetProposalSummary")
	sqlUpdateProposal    = query("UpdateProposal")
	sqlStoreAIBody       = query("StoreAIBody")
	sqlAnyStaleBody      = query("AnyStaleBody")
	sqlStaleBodies       = query("StaleBodies")
	sqlResanitizeBody    = query("ResanitizeBody")
	sqlApproveProposal   = query("ApproveProposal")
)

// sqlMoveProposalChildren is in queries/proposals.sql.
var sqlMoveProposalChildren = query("MoveProposalChildren")

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Create adds a draft proposal authored by the tenant's user.
func (tx ProposalsTx) Create(ctx context.Context, p rampart.Proposal) (rampart.Proposal, error) {
	const op = "store.CreateProposal"
	c := tx.tc
	if err := rampart.ValidateProposal(p); err != nil {
		return rampart.Proposal{}, err
	}
	out, err := scanProposal(tx.queryRow(ctx, sqlCreateProposal, c.OrganizationID, p.Title, p.ClientName, p.VenueCode, p.Brief, c.UserID))
	if err != nil {
		return out, classify(op, err)
	}
	return out, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionProposalCreated,
		TargetType: "proposal", TargetID: out.ID.String(), After: proposalSnapshot(out)}))
}

// Pages of proposals: DefaultListProposals when the caller names no
// size, at most MaxListProposals.
const (
	DefaultListProposals = 50
	MaxListProposals     = 200
)

// ProposalCursor is where a page of proposals continues: after the
// proposal updated at UpdatedAt with id ID (pages run newest first).
type ProposalCursor struct {
	UpdatedAt time.Time
	ID        uuid.UUID
}

// List returns a page of the proposals the tenant context may see,
// newest first, without brief and body: limit of them (the default when
// 0, at most MaxListProposals) after the cursor, if any. next is the
// cursor of the following page, nil on the last.
func (tx ProposalsTx) List(ctx context.Context, limit int, after *ProposalCursor) (page []rampart.ProposalSummary, next *ProposalCursor, err error) {
	const op = "store.Proposals"
	c := tx.tc
	if limit <= 0 {
		limit = DefaultListProposals
	}
	limit = min(limit, MaxListProposals)
	var at *time.Time
	var id *uuid.UUID
	if after != nil {
		at, id = &after.UpdatedAt, &after.ID
	}
	rows, err := tx.query(ctx, sqlListProposals, c.OrganizationID, limit+1, at, id)
	return collectPage(op, rows, err, limit)
}

// ProposalFilter narrows a list of proposals ("" fields: any).
type ProposalFilter struct {
	Status    string // draft, ai_pending_review or approved
	VenueCode string
}

// sqlListProposalsWhere is in queries/proposals.sql.
var sqlListProposalsWhere = query("ListProposalsWhere")

// ListWhere is List narrowed by f, in the database (so a page is full
// when enough proposals match).
func (tx ProposalsTx) ListWhere(ctx context.Context, limit int, after *ProposalCursor, f ProposalFilter) (page []rampart.ProposalSummary, next *ProposalCursor, err error) {
	const op = "store.ProposalsWhere"
	c := tx.tc
	if limit <= 0 {
		limit = DefaultListProposals
	}
	limit = min(limit, MaxListProposals)
	var at *time.Time
	var id *uuid.UUID
	if after != nil {
		at, id = &after.UpdatedAt, &after.ID
	}
	var status, venue *string
	if f.Status != "" {
		status = &f.Status
	}
	if f.VenueCode != "" {
		venue = &f.VenueCode
	}
	rows, err := tx.query(ctx, sqlListProposalsWhere, c.OrganizationID, limit+1, at, id, status, venue)
	return collectPage(op, rows, err, limit)
}

// collectPage reads up to limit summaries and the cursor of the next page
// (the query asked for limit+1).
func collectPage(op string, rows pgx.Rows, err error, limit int) (page []rampart.ProposalSummary, next *ProposalCursor, _ error) {
	if err != nil {
		return nil, nil, classify(op, err)
	}
	page, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.ProposalSummary, error) {
		var p rampart.ProposalSummary
		return p, r.Scan(summaryDest(&p)...)
	})
	if err != nil {
		return nil, nil, classify(op, err)
	}
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = &ProposalCursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	return page, next, nil
}

// Proposal reads one proposal; another tenant's (or another venue's) is not found.
func (tx ProposalsTx) Get(ctx context.Context, id uuid.UUID) (rampart.Proposal, error) {
	const op = "store.Proposal"
	c := tx.tc
	p, err := scanProposal(tx.queryRow(ctx, sqlGetProposal, c.OrganizationID, id))
	return p, classify(op, err)
}

// Summary reads one proposal without its brief and body: what an access
// check on something under the proposal needs. Another tenant's (or
// another venue's) is not found.
func (tx ProposalsTx) Summary(ctx context.Context, id uuid.UUID) (rampart.ProposalSummary, error) {
	var p rampart.ProposalSummary
	err := tx.queryRow(ctx, sqlGetProposalSumm, tx.tc.OrganizationID, id).Scan(summaryDest(&p)...)
	return p, classify("store.ProposalSummary", err)
}

func (tx ProposalsTx) lock(ctx context.Context, op string, id uuid.UUID) (rampart.Proposal, error) {
	c := tx.tc
	p, err := scanProposal(tx.queryRow(ctx, sqlGetProposalLocked, c.OrganizationID, id))
	return p, classify(op, err)
}

// UpdateProposal changes the fields a person edits (title, client, venue,
// brief). The AI body and review state are changed only by StoreAIBody and
// ApproveProposal.
func (tx ProposalsTx) Update(ctx context.Context, p rampart.Proposal) (rampart.Proposal, error) {
	const op = "store.UpdateProposal"
	if err := rampart.ValidateProposal(p); err != nil {
		return rampart.Proposal{}, err
	}
	before, err := tx.lock(ctx, op, p.ID)
	if err != nil {
		return rampart.Proposal{}, err
	}
	after, err := scanProposal(tx.queryRow(ctx, sqlUpdateProposal, before.OrganizationID, p.ID, p.Title, p.ClientName, p.VenueCode, p.Brief))
	if err != nil {
		return after, classify(op, err)
	}
	// Everything venue-scoped under the proposal follows it: its AI jobs
	// (and so the progress stream), bill of materials, attachments and
	// finance. One statement.
	if deref(before.VenueCode) != deref(after.VenueCode) {
		if _, err := tx.exec(ctx, sqlMoveProposalChildren, after.OrganizationID, after.ID, after.VenueCode); err != nil {
			return after, classify(op, err)
		}
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionProposalUpdated,
		TargetType: "proposal", TargetID: after.ID.String(), Before: proposalSnapshot(before), After: proposalSnapshot(after)}))
}

// StoreAIBody stores sanitised model output as the proposal's body, marked
// AI-generated and pending review. Only sanitize.HTML is accepted: raw model
// text cannot reach the column.
func (tx ProposalsTx) StoreAIBody(ctx context.Context, id uuid.UUID, body sanitize.HTML) (rampart.Proposal, error) {
	const op = "store.StoreAIBody"
	c := tx.tc
	// No audit event of its own: it is written with the job's completion
	// (FinishAIJob), in the same transaction.
	after, err := scanProposal(tx.queryRow(ctx, sqlStoreAIBody, c.OrganizationID, id, body.String(), sanitize.Version))
	if err != nil {
		return after, classify(op, err)
	}
	return after, nil
}

// ApproveProposal is the human review of AI output: it clears the
// pending-review label. Only a proposal pending review can be approved.
//
// seen, when set, is the updated_at of the version the approver read: a
// proposal changed since (say, a new AI draft) is a conflict, so nobody
// approves a text they did not see.
func (tx ProposalsTx) Approve(ctx context.Context, id uuid.UUID, seen *time.Time) (rampart.Proposal, error) {
	const op = "store.ApproveProposal"
	c := tx.tc
	if c.ViaToken() {
		return rampart.Proposal{}, rampart.Errorf(op, rampart.KindForbidden, "approval is a human action: sign in to approve")
	}
	before, err := tx.lock(ctx, op, id)
	if err != nil {
		return rampart.Proposal{}, err
	}
	if before.Status != rampart.ProposalAIPendingReview {
		return rampart.Proposal{}, rampart.Errorf(op, rampart.KindConflict, "only a proposal pending review can be approved (this one is %s)", before.Status)
	}
	if seen != nil && !seen.Equal(before.UpdatedAt) {
		return rampart.Proposal{}, rampart.Errorf(op, rampart.KindConflict, "the proposal changed since it was read (a new draft may have arrived): read it again before approving")
	}
	var busy bool
	if err := tx.queryRow(ctx, sqlActiveAIJobForProposal, c.OrganizationID, id).Scan(&busy); err != nil {
		return rampart.Proposal{}, classify(op, err)
	}
	if busy {
		return rampart.Proposal{}, rampart.Errorf(op, rampart.KindConflict, "a new generation for this proposal is under way: approve its result when it is ready")
	}
	after, err := scanProposal(tx.queryRow(ctx, sqlApproveProposal, before.OrganizationID, id, c.UserID))
	if err != nil {
		return after, classify(op, err)
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionProposalApproved,
		TargetType: "proposal", TargetID: after.ID.String(), Before: proposalSnapshot(before), After: proposalSnapshot(after)}))
}

// summaryDest is where the columns of the proposal_summary_columns
// fragment scan to, in its order.
func summaryDest(p *rampart.ProposalSummary) []any {
	return []any{&p.OrganizationID, &p.ID, &p.Title, &p.ClientName, &p.VenueCode, &p.Status,
		&p.AIGenerated, &p.ReviewStatus, &p.AuthorID, &p.ApprovedBy, &p.ApprovedAt, &p.CreatedAt, &p.UpdatedAt}
}

func scanProposal(r pgx.Row) (rampart.Proposal, error) {
	var p rampart.Proposal
	err := r.Scan(append(summaryDest(&p.ProposalSummary), &p.Brief, &p.BodyHTML)...)
	return p, err
}

// proposalSnapshot keeps the audit trail small: the body and brief are
// summarised by length, not copied (the trail is not a document store, and
// the brief is untrusted text).
func proposalSnapshot(p rampart.Proposal) []byte {
	return snapshot(map[string]any{
		"id": p.ID, "title": p.Title, "client_name": p.ClientName, "venue_code": p.VenueCode,
		"brief_chars": len([]rune(p.Brief)), "body_bytes": len(p.BodyHTML), "status": p.Status,
		"ai_generated": p.AIGenerated, "review_status": p.ReviewStatus, "approved_by": p.ApprovedBy,
	})
}

// ResanitizeBodies re-sanitises, under the current policy
// (sanitize.Version), every proposal body written under an older one, in
// batches of batch, each its own audited service transaction, while a
// read-only look (no audit event: it changes nothing) finds any; it
// returns how many bodies it rewrote. Bodies are sanitised once, on write: this is
// how a policy change reaches the bodies already stored (the periodic task
// resanitize_bodies runs it once per cluster).
func (p Periodic) ResanitizeBodies(ctx context.Context, batch int) (int, error) {
	return p.s.resanitize(ctx, "store.ResanitizeBodies", "proposal bodies", staleHTML{sqlAnyStaleBody, sqlStaleBodies, sqlResanitizeBody}, batch)
}

// staleHTML names the three statements of one table's stored sanitised
// HTML: whether any row predates the policy ($1, sanitize.Version), up to
// $2 such rows (organization, id, html), and one row's rewrite
// (organization, id, html, version).
type staleHTML struct{ any, stale, rewrite string }

// resanitize is the mechanism behind ResanitizeBodies and
// ResanitizeChatAnswers: while a read-only look (no audit event: it
// changes nothing) finds a row written under an older sanitiser policy,
// one audited service transaction rewrites up to batch of them under the
// current one. It returns how many rows it rewrote.
func (s *Store) resanitize(ctx context.Context, op, what string, q staleHTML, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for {
		var stale bool
		err := s.auditTx(ctx, op, true, func(ctx context.Context, tx *txn) error {
			return tx.queryRow(ctx, q.any, sanitize.Version).Scan(&stale)
		})
		if err != nil || !stale {
			return total, classify(op, err)
		}
		n := 0
		err = s.asService(ctx, fmt.Sprintf("re-sanitise %s written under a sanitizer policy older than version %d", what, sanitize.Version),
			func(ctx context.Context, tx *txn) error {
				rows, err := tx.query(ctx, q.stale, sanitize.Version, batch)
				if err != nil {
					return err
				}
				type row struct {
					org, id uuid.UUID
					html    string
				}
				found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
					var x row
					return x, r.Scan(&x.org, &x.id, &x.html)
				})
				if err != nil || len(found) == 0 {
					return err
				}
				b := &pgx.Batch{}
				for _, x := range found {
					b.Queue(q.rewrite, x.org, x.id, sanitize.Resanitize(x.html).String(), sanitize.Version)
				}
				n = len(found)
				return tx.execBatch(ctx, b)
			})
		if err != nil {
			return total, classify(op, err)
		}
		if n == 0 {
			return total, nil
		}
		total += n
	}
}
