package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/learning.sql.
var (
	sqlLearnedWeights        = query("LearnedWeights")
	sqlAdjustLearnedWeight   = query("AdjustLearnedWeight")
	sqlInsertLearningFeedbck = query("InsertLearningFeedback")
	sqlCountLearnedState     = query("CountLearnedState")
	sqlResetLearnedWeights   = query("ResetLearnedWeights")
	sqlResetLearningFeedback = query("ResetLearningFeedback")
)

// The learned-state tables, in the order a reset clears them.
var LearnedStateTables = []string{"learned_weights", "learning_feedback"}

// LearnedStateTx is the organization's learned ranking state: a bounded
// adjustment per (ranker, feature) and the feedback it was learned from.
// Only internal/learning calls it (an architecture test holds every
// other package to that); nothing here reads across organizations.
type LearnedStateTx struct{ tenant }

// LearnedState returns the learned-state methods.
func (tx *TenantTx) LearnedState() LearnedStateTx { return LearnedStateTx{tx.tenant} }

// LearnedWeight is one feature's learned adjustment.
type LearnedWeight struct {
	Feature      string  `json:"feature"`
	Adjustment   float64 `json:"adjustment"`
	Observations int     `json:"observations"`
}

// Weights returns the organization's adjustments for ranker, by feature.
func (tx LearnedStateTx) Weights(ctx context.Context, ranker string) ([]LearnedWeight, error) {
	const op = "store.LearnedWeights"
	rows, err := tx.query(ctx, sqlLearnedWeights, tx.tc.OrganizationID, ranker)
	if err != nil {
		return nil, classify(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LearnedWeight, error) {
		var w LearnedWeight
		return w, r.Scan(&w.Feature, &w.Adjustment, &w.Observations)
	})
	return out, classify(op, err)
}

// Adjust adds delta to a feature's adjustment, clamped to ±bound, and
// returns the new adjustment.
func (tx LearnedStateTx) Adjust(ctx context.Context, ranker, feature string, delta, bound float64) (float64, error) {
	var adj float64
	err := tx.queryRow(ctx, sqlAdjustLearnedWeight, tx.tc.OrganizationID, ranker, feature, delta, bound).Scan(&adj)
	return adj, classify("store.AdjustLearnedWeight", err)
}

// RecordFeedback appends one observation (the normalised signals of the
// candidate a person approved or rejected) to the history.
func (tx LearnedStateTx) RecordFeedback(ctx context.Context, ranker string, approved bool, signals map[string]float64) error {
	b, err := json.Marshal(signals)
	if err != nil {
		return rampart.Wrap("store.LearningFeedback", rampart.KindInternal, err)
	}
	_, err = tx.exec(ctx, sqlInsertLearningFeedbck, tx.tc.OrganizationID, ranker, approved, b, tx.tc.UserID)
	return classify("store.LearningFeedback", err)
}

// Counts returns how many learned weights and feedback rows the
// organization holds.
func (tx LearnedStateTx) Counts(ctx context.Context) (weights, feedback int64, err error) {
	err = tx.queryRow(ctx, sqlCountLearnedState, tx.tc.OrganizationID).Scan(&weights, &feedback)
	return weights, feedback, classify("store.LearnedStateCounts", err)
}

// Reset deletes the organization's learned state, table by table, and
// writes one audit event per table (with the number of rows removed) in
// the same transaction. Row-level security lets only an admin delete.
func (tx LearnedStateTx) Reset(ctx context.Context) (map[string]int64, error) {
	const op = "store.ResetLearnedState"
	out := map[string]int64{}
	for i, q := range []string{sqlResetLearnedWeights, sqlResetLearningFeedback} {
		table := LearnedStateTables[i]
		var n int64
		if err := tx.queryRow(ctx, q, tx.tc.OrganizationID).Scan(&n); err != nil {
			return nil, classify(op, err)
		}
		out[table] = n
		if err := tx.recordAudit(ctx, tx.userEvent(audit.Event{Action: audit.ActionLearningReset, TargetType: "table", TargetID: table,
			Before: snapshot(map[string]any{"rows": n}), After: snapshot(map[string]any{"rows": 0})})); err != nil {
			return nil, err
		}
	}
	return out, nil
}
