package edge

import (
	"context"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// FeatureSource reads an organization's feature flags (store.Auth does,
// under the caller's claims, so row-level security holds the read to the
// caller's own organization).
type FeatureSource interface {
	Features(ctx context.Context, c rampart.Claims) (rampart.OrgFeatures, error)
}

// Feature is the organization feature flag that routes of kind k need
// (ok false: none). Every agent route runs AI work; every chat route asks
// a model a question. The gate is keyed by the route's kind, which only
// the registration functions set, so a new agent or chat route (API or
// console page) cannot be mounted without it.
func (k Kind) Feature() (f rampart.Feature, ok bool) {
	switch k {
	case KindAgent:
		return rampart.FeatureAI, true
	case KindChat:
		return rampart.FeatureChat, true
	}
	return "", false
}

// requireFeature is the feature gate: nil when the route's kind needs no
// flag or the caller's organization has it on; otherwise the
// KindFeatureDisabled error (403, problem type feature-disabled, naming
// the flag). An unreadable flag fails closed (KindUnavailable).
func (rt *Router) requireFeature(ctx context.Context, k Kind, c rampart.Claims) error {
	f, gated := k.Feature()
	if !gated || rt.features == nil {
		return nil
	}
	flags, err := rt.features.Features(ctx, c)
	if err != nil {
		if rampart.ErrorKind(err) == rampart.KindInternal {
			return &rampart.Error{Op: "edge.requireFeature", Kind: rampart.KindUnavailable,
				Message: "the organization's feature flags could not be read; try again", Err: err}
		}
		return err
	}
	return flags.Require("edge.requireFeature", f)
}
