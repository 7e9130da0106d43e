package edge

import (
	"github.com/rampart-dev/rampart/internal/rampart"
)

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

// requireFeature is the feature gate of an authenticated route of kind k:
// nil when the kind needs no flag or the caller's organization has it on;
// otherwise the KindFeatureDisabled error (403, problem type
// feature-disabled, naming the flag). flags are the organization's, read
// in the credential's resolution (store.ResolvedClaims.Features: the same
// round trip, so the gate costs none); unknown flags fail closed.
func requireFeature(k Kind, flags *rampart.OrgFeatures) error {
	f, gated := k.Feature()
	if !gated {
		return nil
	}
	if flags == nil {
		return rampart.Errorf("edge.requireFeature", rampart.KindUnavailable, "the organization's feature flags are unknown; try again")
	}
	return flags.Require("edge.requireFeature", f)
}
