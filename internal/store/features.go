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

// Set applies changes to orgID's flags as actor (e.g. "cli:alice"), with
// the operator's reason (1 to 500 characters), audited in the
// organization's chain with before and after; the service transaction's
// own event is the platform's record. Flags not in changes keep their
// value. An unknown flag or an empty change set is KindInvalid and
// writes nothing.
func (tx OrgFeaturesTx) Set(ctx context.Context, orgID uuid.UUID, changes map[rampart.Feature]bool, reason, actor string) (before, after rampart.OrgFeatures, err error) {
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
