package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// Token budgets. The month is the UTC calendar month. Reserving takes the
// month's ai_usage row lock, so concurrent reservations of one organization
// are serialised and cannot together overshoot the budget.
//
// The reservation compares with the budget through an uncorrelated scalar
// subquery, never NOT EXISTS: PostgreSQL turns a NOT EXISTS into an
// anti-join, and when a concurrent reservation has just updated the row,
// the re-check of the new row version (EvalPlanQual) sees no ai_budgets row
// on the anti-join's inner side and lets the reservation through.
// The statements are in queries/budget.sql.
var (
	sqlEnsureUsage       = query("EnsureUsage")
	sqlReserveForJob     = query("ReserveForJob")
	sqlReserveForStarted = query("ReserveForStartedJob")
	sqlSettleJobTokens   = query("SettleJobTokens")
	sqlJobReservation    = query("JobReservation")
	sqlSettleTokens      = query("SettleTokens")
	sqlReleaseOldMonth   = query("ReleaseOldMonth")
	sqlTokenBudget       = query("TokenBudget")
	sqlSetTokenBudget    = query("SetTokenBudget")
)

// ErrBudgetExhausted means the organization's monthly token budget cannot
// cover the reservation.
var ErrBudgetExhausted = rampart.Errorf("store.ReserveTokens", rampart.KindQuotaExceeded, "the organization's monthly AI token budget is spent")

// ReserveTokens reserves estimated tokens for a job before its model call.
// It returns ErrBudgetExhausted (and reserves nothing) when the budget
// cannot cover them.
func (tx BudgetTx) Reserve(ctx context.Context, jobID uuid.UUID, estimated int) error {
	const op = "store.ReserveTokens"
	c := tx.tc
	if estimated <= 0 {
		return rampart.Errorf(op, rampart.KindInvalid, "a reservation must be positive")
	}
	// One round trip: make the month's row, then reserve and mark the job
	// in one statement (the job is marked only if the reservation fit).
	b := &pgx.Batch{}
	b.Queue(sqlEnsureUsage, c.OrganizationID)
	b.Queue(sqlReserveForJob, c.OrganizationID, estimated, jobID)
	br := tx.sendBatch(ctx, b)
	_, err := br.Exec()
	var one int
	if err == nil {
		err = br.QueryRow().Scan(&one)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrBudgetExhausted
	}
	return classify(op, err)
}

// reservation is a job's outstanding token reservation and where it is held.
type reservation struct {
	tokens    int64
	sameMonth bool       // held in this month's row (or none held)
	month     *time.Time // the month holding it
}

// jobReservation locks the job's row and reads its reservation.
func (tx *txn) jobReservation(ctx context.Context, orgID, jobID uuid.UUID) (reservation, error) {
	var r reservation
	err := tx.queryRow(ctx, sqlJobReservation, orgID, jobID).Scan(&r.tokens, &r.sameMonth, &r.month)
	return r, err
}

// queueSettlement queues the statements that release r from the month
// holding it and count actual tokens as used this month. The caller
// clears the job's reservation and adds actual to the job's tokens
// (sqlSettleJobTokens, or the finishing UPDATE).
func queueSettlement(b *pgx.Batch, orgID uuid.UUID, r reservation, actual int64) {
	if r.tokens == 0 && actual == 0 {
		return
	}
	// A reservation of this month made the month's row; otherwise make it.
	if !(r.sameMonth && r.tokens > 0) {
		b.Queue(sqlEnsureUsage, orgID)
	}
	reserved := r.tokens
	if !r.sameMonth && r.month != nil && reserved > 0 {
		b.Queue(sqlReleaseOldMonth, orgID, reserved, *r.month)
		reserved = 0
	}
	b.Queue(sqlSettleTokens, orgID, reserved, actual)
}

// releaseTokens settles the job's outstanding reservation: the reserved
// tokens are released and actual tokens counted as used.
func (tx BudgetTx) release(ctx context.Context, orgID, jobID uuid.UUID, actual int64) error {
	r, err := tx.jobReservation(ctx, orgID, jobID)
	if err != nil {
		return classify("store.releaseTokens", err)
	}
	return tx.settle(ctx, orgID, jobID, r, actual)
}

// settle releases reservation r of the job, counts actual as used and
// adds it to the job's tokens (so a month's use is the sum of its jobs'),
// in one round trip.
func (tx *txn) settle(ctx context.Context, orgID, jobID uuid.UUID, r reservation, actual int64) error {
	b := &pgx.Batch{}
	queueSettlement(b, orgID, r, actual)
	if r.tokens > 0 || actual > 0 {
		b.Queue(sqlSettleJobTokens, orgID, jobID, actual)
	}
	return classify("store.settle", tx.execBatch(ctx, b))
}

// execBatch sends b's statements as one pipelined batch and checks each.
func (tx *txn) execBatch(ctx context.Context, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	br := tx.sendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// TokenBudget reads the organization's budget and this month's use.
func (tx BudgetTx) Get(ctx context.Context) (rampart.TokenBudget, error) {
	const op = "store.TokenBudget"
	c := tx.tc
	var b rampart.TokenBudget
	err := tx.queryRow(ctx, sqlTokenBudget, c.OrganizationID).Scan(&b.MonthlyTokens, &b.Month, &b.ReservedTokens, &b.UsedTokens,
		&b.Plan, &b.PlanStatus, &b.PlanTokens, &b.AIGraceUntil, &b.PlanRefused)
	return b, classify(op, err)
}

// SetTokenBudget sets (or, with nil, removes) the monthly token budget.
// Admins only (the policy checks the role as well).
func (tx BudgetTx) Set(ctx context.Context, monthly *int64) (rampart.TokenBudget, error) {
	const op = "store.SetTokenBudget"
	c := tx.tc
	if monthly != nil && (*monthly < 1 || *monthly > 1_000_000_000_000) {
		return rampart.TokenBudget{}, rampart.Errorf(op, rampart.KindInvalid, "monthly_tokens must be between 1 and 1000000000000, or null for no limit")
	}
	before, err := tx.Get(ctx)
	if err != nil {
		return before, err
	}
	// The billing plan's cap bounds what an admin may set (no budget at
	// all is allowed: the cap still applies to every reservation).
	if monthly != nil && before.PlanTokens != nil && *monthly > *before.PlanTokens {
		return before, rampart.Errorf(op, rampart.KindInvalid, "monthly_tokens: %d exceeds the %s plan's cap of %d tokens a month", *monthly, before.Plan, *before.PlanTokens)
	}
	if _, err := tx.exec(ctx, sqlSetTokenBudget, c.OrganizationID, monthly, c.UserID); err != nil {
		return before, classify(op, err)
	}
	after, err := tx.Get(ctx)
	if err != nil {
		return after, err
	}
	return after, tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionAIBudgetUpdated,
		TargetType: "ai_budget", TargetID: c.OrganizationID.String(), Before: snapshot(before), After: snapshot(after)}))
}
