package aijob

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/access"
	"github.com/rampart-dev/rampart/internal/proposal"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Requester records generation requests: the job queue (jobs.Queue).
type Requester interface {
	Request(ctx context.Context, claims rampart.Claims, proposalID uuid.UUID, agent string) (rampart.AIJob, error)
}

// Call is an agent call: the caller's claims, the agent it acts through
// and the venue the call is scoped to (the proposal's).
type Call struct {
	Claims    rampart.Claims
	Agent     access.AgentType
	VenueCode string
}

// Request asks agent call.Agent to generate proposalID. q is nil when this
// process runs no AI pipeline (KindUnavailable).
func Request(ctx context.Context, q Requester, call Call, proposalID uuid.UUID) (rampart.AIJob, error) {
	const op = "aijob.Request"
	if q == nil {
		return rampart.AIJob{}, rampart.Errorf(op, rampart.KindUnavailable, "the AI pipeline is not running in this process")
	}
	if err := access.Check(call.Claims, access.ActionRequestAI, access.Resource{Kind: access.KindProposal, VenueCode: call.VenueCode}); err != nil {
		return rampart.AIJob{}, err
	}
	return q.Request(ctx, call.Claims, proposalID, string(call.Agent))
}

// ForProposal lists the jobs of a proposal the caller may read.
func ForProposal(ctx context.Context, st *store.Store, c rampart.Claims, proposalID uuid.UUID) ([]rampart.AIJob, error) {
	if _, err := proposal.Get(ctx, st, c, proposalID); err != nil {
		return nil, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.AIJob, error) {
		return tx.AIJobs().ForProposal(ctx, proposalID)
	})
}

// Get reads one job (row-level security scopes it to what the caller's
// venues allow).
func Get(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID) (rampart.AIJob, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.AIJob, error) {
		return tx.AIJobs().Get(ctx, id)
	})
}

// Cancel is the job-level kill switch: the requester or an admin cancels
// an unfinished job, with a reason; every process running it stops.
func Cancel(ctx context.Context, st *store.Store, c rampart.Claims, id uuid.UUID, reason string) (rampart.AIJob, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.AIJob, error) {
		return tx.AIJobs().Cancel(ctx, id, reason)
	})
}

// Budget reads the organization's monthly token budget and this month's use.
func Budget(ctx context.Context, st *store.Store, c rampart.Claims) (rampart.TokenBudget, error) {
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.TokenBudget, error) {
		return tx.Budget().Get(ctx)
	})
}

// SetBudget sets the monthly token budget, or with nil removes it (admins).
func SetBudget(ctx context.Context, st *store.Store, c rampart.Claims, monthly *int64) (rampart.TokenBudget, error) {
	if err := access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}); err != nil {
		return rampart.TokenBudget{}, err
	}
	return store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) (rampart.TokenBudget, error) {
		return tx.Budget().Set(ctx, monthly)
	})
}

// MaxUsageDays bounds the days Usage reads.
const MaxUsageDays = 92

// Usage is the organization's AI use per UTC day over the last days days
// (1 to MaxUsageDays), oldest first, every day present (zero when
// nothing ran), for admins.
func Usage(ctx context.Context, st *store.Store, c rampart.Claims, days int, now time.Time) ([]rampart.DailyAIUsage, error) {
	const op = "aijob.Usage"
	if err := access.Check(c, access.ActionManageMembers, access.Resource{Kind: access.KindOrganization}); err != nil {
		return nil, err
	}
	if days < 1 || days > MaxUsageDays {
		return nil, rampart.FieldError(op, "days", "must be a whole number from 1 to %d", MaxUsageDays)
	}
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	got, err := store.InTenantValue(ctx, st, c, func(ctx context.Context, tx *store.TenantTx) ([]rampart.DailyAIUsage, error) {
		return tx.AIJobs().UsagePerDay(ctx, first)
	})
	if err != nil {
		return nil, err
	}
	byDay := map[string]rampart.DailyAIUsage{}
	for _, u := range got {
		byDay[u.Day.Format(time.DateOnly)] = u
	}
	out := make([]rampart.DailyAIUsage, days)
	for i := range out {
		d := first.AddDate(0, 0, i)
		u := byDay[d.Format(time.DateOnly)]
		u.Day = d
		out[i] = u
	}
	return out, nil
}
