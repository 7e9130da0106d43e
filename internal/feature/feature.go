package feature

import (
	"context"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// The operators' use cases take the service transaction their caller
// opened (only commands may open one) and the actor who acts, e.g.
// "cli:alice", recorded in the audit log.

// Get reads orgID's feature flags.
func Get(ctx context.Context, tx *store.ServiceTx, orgID uuid.UUID) (rampart.OrgFeatures, error) {
	return tx.OrgFeatures().Get(ctx, orgID)
}

// Set applies changes to orgID's flags with the operator's reason
// (required, 1 to 500 characters), audited. Turning ai off refuses new AI
// requests at once (the edge reads the flags with every request's
// credential) and cancels the organization's unfinished AI jobs in the
// same transaction: queued ones never start, running ones stop in every
// process through the job-level kill-switch notice. The worker checks
// the flag before each attempt as well, for a job queued by a request
// that passed the gate just before the change.
func Set(ctx context.Context, tx *store.ServiceTx, actor string, orgID uuid.UUID, changes map[rampart.Feature]bool, reason string) (store.FeatureChange, error) {
	return tx.OrgFeatures().Set(ctx, orgID, changes, reason, actor)
}
