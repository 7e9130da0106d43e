package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/audit"
	"github.com/rampart-dev/rampart/internal/rampart"
)

// From queries/features.sql.
var (
	sqlOrgFeatures          = query("OrgFeatures")
	sqlOrgFeaturesForUpdate = query("OrgFeaturesForUpdate")
	sqlSetOrgFeatures       = query("SetOrgFeatures")
	sqlJobOrgAIFeature      = query("JobOrgAIFeature")
	// In queries/aijobs.sql (it uses that file's fragments).
	sqlCancelOrgAIJobsForFeature = query("CancelOrgAIJobsForFeature")
)

// FeaturesTx reads the tenant's own organization's feature flags. It has
// no write method: no organization role may change a flag (the runtime
// role holds no write grant on the table either).
type FeaturesTx struct{ tenant }

// OrgFeaturesTx reads and sets any organization's feature flags on the
// service path (platform operators, through the CLI).
type OrgFeaturesTx struct{ *txn }

// Features returns the organization's feature flag methods (read only).
func (tx *TenantTx) Features() FeaturesTx { return FeaturesTx{tx.tenant} }

// OrgFeatures returns the feature flag methods of the service path.
func (tx *ServiceTx) OrgFeatures() OrgFeaturesTx { return OrgFeaturesTx{tx.txn} }

// Get reads the tenant's organization's flags (the defaults when no
// operator ever set them).
func (tx FeaturesTx) Get(ctx context.Context) (rampart.OrgFeatures, error) {
	return scanFeatures("store.OrgFeatures", tx.queryRow(ctx, sqlOrgFeatures, tx.tc.OrganizationID))
}

// Get reads orgID's flags (the defaults when never set).
func (tx OrgFeaturesTx) Get(ctx context.Context, orgID uuid.UUID) (rampart.OrgFeatures, error) {
	return scanFeatures("store.OrgFeaturesOf", tx.queryRow(ctx, sqlOrgFeatures, orgID))
}

// FeatureChange is the result of OrgFeaturesTx.Set.
type FeatureChange struct {
	Before, After rampart.OrgFeatures
	// CancelledJobs is how many unfinished AI jobs the change cancelled
	// (turning ai off cancels them all).
	CancelledJobs int
}

// FeatureCancelReason is the cancel reason of the AI jobs of an
// organization whose ai flag a platform operator turned off.
const FeatureCancelReason = "cancelled: a platform operator turned off the ai feature for this organization"

// Set applies changes to orgID's flags as actor (e.g. "cli:alice"), with
// the operator's reason (1 to 500 characters), audited in the
// organization's chain with before and after; the service transaction's
// own event is the platform's record. Flags not in changes keep their
// value. Turning ai off also cancels the organization's unfinished AI
// jobs in the same transaction (each audited; running ones stop in every
// process through the job-level kill-switch notice). An unknown flag or
// an empty change set is KindInvalid and writes nothing.
func (tx OrgFeaturesTx) Set(ctx context.Context, orgID uuid.UUID, changes map[rampart.Feature]bool, reason, actor string) (FeatureChange, error) {
	var fc FeatureChange
	var err error
	fc.Before, fc.After, err = tx.set(ctx, orgID, changes, reason, actor)
	if err != nil || !fc.Before.AI || fc.After.AI {
		return fc, err
	}
	fc.CancelledJobs, err = tx.cancelAIJobs(ctx, orgID, reason, actor)
	return fc, err
}

// cancelAIJobs cancels orgID's unfinished AI jobs because its ai flag was
// turned off: each reservation is released (a worker still calling the
// model adds what it spent when it stops) and each job's cancellation is
// audited.
func (tx OrgFeaturesTx) cancelAIJobs(ctx context.Context, orgID uuid.UUID, reason, actor string) (int, error) {
	const op = "store.CancelAIJobsForFeature"
	rows, err := tx.query(ctx, sqlCancelOrgAIJobsForFeature, orgID, FeatureCancelReason)
	if err != nil {
		return 0, classify(op, err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rampart.AIJob, error) { return scanAIJob(r) })
	if err != nil {
		return 0, classify(op, err)
	}
	for _, j := range jobs {
		r, err := tx.jobReservation(ctx, orgID, j.ID)
		if err != nil {
			return 0, classify(op, err)
		}
		if err := tx.settle(ctx, orgID, j.ID, r, 0); err != nil {
			return 0, err
		}
		if err := tx.recordAudit(ctx, audit.Event{OrganizationID: &orgID, ActorType: audit.ActorService, ActorID: actor,
			Action: audit.ActionAIGenerationFeatureBlocked, TargetType: "ai_job", TargetID: j.ID.String(), Reason: reason,
			After: snapshot(j), Metadata: metadata(map[string]any{"feature": string(rampart.FeatureAI), "by": "operator"})}); err != nil {
			return 0, err
		}
	}
	return len(jobs), nil
}

func (tx OrgFeaturesTx) set(ctx context.Context, orgID uuid.UUID, changes map[rampart.Feature]bool, reason, actor string) (before, after rampart.OrgFeatures, err error) {
	const op = "store.SetOrgFeatures"
	if len(changes) == 0 {
		return before, after, rampart.Errorf(op, rampart.KindInvalid, "no flag to change")
	}
	for f := range changes {
		if !f.Valid() {
			return before, after, rampart.Errorf(op, rampart.KindInvalid, "unknown flag %q", string(f))
		}
	}
	if reason, err = rampart.ValidateReason(reason); err != nil {
		return before, after, err
	}
	if actor == "" || len(actor) > 200 {
		return before, after, rampart.Errorf(op, rampart.KindInvalid, "the actor must be 1 to 200 bytes")
	}
	if before, err = scanFeatures(op, tx.queryRow(ctx, sqlOrgFeaturesForUpdate, orgID)); err != nil {
		return before, after, err
	}
	next := before
	for _, f := range slices.Sorted(maps.Keys(changes)) {
		next = next.Set(f, changes[f])
	}
	if after, err = scanFeatures(op, tx.queryRow(ctx, sqlSetOrgFeatures, orgID, next.AI, next.Chat, reason, actor)); err != nil {
		// The organization does not exist (foreign key): not found.
		return before, after, err
	}
	changed := map[string]bool{}
	for f, on := range changes {
		changed[string(f)] = on
	}
	return before, after, tx.recordAudit(ctx, audit.Event{OrganizationID: &orgID, ActorType: audit.ActorService, ActorID: actor,
		Action: audit.ActionOrganizationFeaturesUpdated, TargetType: "organization_features", TargetID: orgID.String(), Reason: reason,
		Before: snapshot(flagsOnly(before)), After: snapshot(flagsOnly(after)), Metadata: metadata(map[string]any{"set": changed})})
}

// flagsOnly is what an audit snapshot of the flags holds (the reason is
// the event's own).
func flagsOnly(f rampart.OrgFeatures) map[string]bool {
	return map[string]bool{string(rampart.FeatureAI): f.AI, string(rampart.FeatureChat): f.Chat}
}

// scanFeatures reads one row of feature_columns; no row is the defaults.
func scanFeatures(op string, r pgx.Row) (rampart.OrgFeatures, error) {
	f := rampart.DefaultFeatures()
	var at time.Time
	err := r.Scan(&f.AI, &f.Chat, &f.Reason, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return rampart.DefaultFeatures(), nil
	}
	if err != nil {
		return rampart.DefaultFeatures(), classify(op, err)
	}
	f.UpdatedAt = &at
	return f, nil
}
