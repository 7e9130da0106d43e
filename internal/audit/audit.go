package audit

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// ActorType says what kind of principal acted.
type ActorType string

// The actor types the audit table accepts.
const (
	ActorUser     ActorType = "user"
	ActorAPIToken ActorType = "api_token"
	ActorAgent    ActorType = "agent"
	ActorService  ActorType = "service"
	ActorSystem   ActorType = "system"
)

// The closed list of actions. Add new actions here, nowhere else.
const (
	ActionServiceInvoked      = "service.invoked"
	ActionOrganizationCreated = "organization.created"
	ActionMembershipCreated   = "membership.created"
	ActionVenueCreated        = "venue.created"
	ActionVenueUpdated        = "venue.updated"
	ActionVenueDeleted        = "venue.deleted"
	ActionMembershipUpdated   = "membership.updated"
	ActionMembershipRemoved   = "membership.removed"

	ActionLoginSucceeded       = "auth.login.succeeded"
	ActionLoginFailed          = "auth.login.failed"
	ActionLoginLinkRequested   = "auth.login_link.requested"
	ActionSignup               = "auth.signup"
	ActionInviteCreated        = "auth.invite.created"
	ActionInviteResent         = "auth.invite.resent"
	ActionInviteRevoked        = "auth.invite.revoked"
	ActionInviteRedeemed       = "auth.invite.redeemed"
	ActionInviteExpiredAttempt = "auth.invite.expired_attempt"
	ActionInviteReplayAttempt  = "auth.invite.replay_attempt"
	ActionInviteWrongUser      = "auth.invite.wrong_user_attempt"
	// ActionInviteInviterLost is an invite refused at redemption because
	// its inviter (or the token that made it) no longer holds the rights.
	ActionInviteInviterLost   = "auth.invite.inviter_lost_rights"
	ActionSignupRequested     = "auth.signup.requested"
	ActionSignupRefused       = "auth.signup.refused"
	ActionSessionRevoked      = "auth.session.revoked"
	ActionSessionOrgSwitched  = "auth.session.org_switched"
	ActionSessionSwitchDenied = "auth.session.org_switch_denied"
	ActionTokenIssued         = "auth.token.issued"
	ActionTokenRevoked        = "auth.token.revoked"
	ActionTokenRejected       = "auth.token.rejected"
	ActionCSRFRejected        = "auth.csrf.rejected"

	ActionAuditPurged   = "audit.purged"
	ActionAuditExported = "audit.exported"

	// Later capabilities; listed now so the vocabulary is closed in one place.
	ActionKillSwitchActivated     = "killswitch.activated"
	ActionKillSwitchDeactivated   = "killswitch.deactivated"
	ActionAIGenerationRequested   = "ai.generation.requested"
	ActionAIGenerationCompleted   = "ai.generation.completed"
	ActionAIGenerationFailed      = "ai.generation.failed"
	ActionAIGenerationRetried     = "ai.generation.retried"
	ActionBillingSubscriptionChg  = "billing.subscription.changed"
	ActionBillingPaymentSucceeded = "billing.payment.succeeded"
	ActionBillingPaymentFailed    = "billing.payment.failed"
	// ActionBillingCustomerLinked: an operator linked an organization to
	// its Stripe customer.
	ActionBillingCustomerLinked = "billing.customer.linked"
	// ActionBillingEventIgnored: a verified Stripe event that changed no
	// organization (unknown customer or unhandled type); a platform event.
	ActionBillingEventIgnored = "billing.event.ignored"
	// ActionAIPlanRefused: a new AI request refused because the billing
	// plan lapsed beyond its grace period.
	ActionAIPlanRefused   = "ai.generation.refused_by_plan"
	ActionProposalUpdated = "proposal.updated"
	ActionSOWUnsigned     = "sow.unsigned"

	// The AI pipeline.
	ActionProposalCreated         = "proposal.created"
	ActionProposalApproved        = "proposal.approved"
	ActionAIGenerationStarted     = "ai.generation.started"
	ActionAIGenerationCancelled   = "ai.generation.cancelled"
	ActionAIGenerationRefused     = "ai.generation.refused"
	ActionAIGenerationHeld        = "ai.generation.held_for_review"
	ActionAIGenerationKillBlocked = "ai.generation.blocked_by_killswitch"
	ActionAIBudgetExhausted       = "ai.budget.exhausted"
	ActionAIBudgetUpdated         = "ai.budget.updated"
	ActionAIOutputLeak            = "ai.generation.output_leak_refused"

	// Bills of materials and field encryption (issue 14).
	ActionBOMLineCreated      = "bom.line.created"
	ActionBOMLineUpdated      = "bom.line.updated"
	ActionBOMLineDeleted      = "bom.line.deleted"
	ActionFieldUnreadable     = "fieldcrypt.value_unreadable"
	ActionKeyRotationStarted  = "fieldcrypt.rotation.started"
	ActionKeyRotationResumed  = "fieldcrypt.rotation.resumed"
	ActionKeyRotationFinished = "fieldcrypt.rotation.finished"

	// Proposal attachments (issue #14 part 6).
	ActionAttachmentUploaded   = "attachment.uploaded"
	ActionAttachmentDeleted    = "attachment.deleted"
	ActionAttachmentDownloaded = "attachment.downloaded"

	// Finance (issue 15). sow.unsigned is above.
	ActionSOWCreated           = "sow.created"
	ActionSOWUpdated           = "sow.updated"
	ActionSOWSigned            = "sow.signed"
	ActionBudgetLineCreated    = "budget.line.created"
	ActionBudgetLineUpdated    = "budget.line.updated"
	ActionBudgetActualized     = "budget.line.actualized"
	ActionBudgetUnactualized   = "budget.line.unactualized"
	ActionChangeOrderRequested = "change_order.requested"
	ActionChangeOrderApproved  = "change_order.approved"
	ActionChangeOrderRejected  = "change_order.rejected"
	ActionFinanceDenied        = "finance.denied"
	// Integration credentials (issue #14 part 5): OAuth connections to
	// accounting providers. No event carries a token, code or verifier.
	ActionIntegrationConnectStarted  = "integration.connect.started"
	ActionIntegrationConnected       = "integration.connected"
	ActionIntegrationConnectFailed   = "integration.connect.failed"
	ActionIntegrationCallbackRefused = "integration.callback.refused"
	ActionIntegrationRefreshed       = "integration.refreshed"
	ActionIntegrationRefreshFailed   = "integration.refresh.failed"
	ActionIntegrationDisconnected    = "integration.disconnected"
	ActionIntegrationRevokeFailed    = "integration.revoke.failed"
	// Agent proposals (issue 15): an agent proposes, a person decides.
	ActionAgentProposalCreated  = "agent_proposal.created"
	ActionAgentProposalApproved = "agent_proposal.approved"
	ActionAgentProposalRejected = "agent_proposal.rejected"
	ActionAgentProposalExpired  = "agent_proposal.expired"
	ActionAgentProposalDenied   = "agent_proposal.denied"

	// ActionTrustReport records a run of `rampart trust-report` (service
	// path): the report's id, SHA-256 and signing key id in metadata.
	ActionTrustReport = "trust.report.generated"
	// The proposal chat (issue 15 item 6). No event carries the prompt,
	// the question or the answer: ids, scores, token counts and states.
	ActionChatAsked       = "ai.chat.asked"
	ActionChatAnswered    = "ai.chat.answered"
	ActionChatRefused     = "ai.chat.refused"
	ActionChatStopped     = "ai.chat.stopped"
	ActionChatKillBlocked = "ai.chat.blocked_by_killswitch"
	ActionChatFailed      = "ai.chat.failed"

	// Operations (issue #16): a restore drill's result, recorded on the
	// service path by `rampart restore-drill`.
	ActionRestoreDrillRecorded = "operations.restore_drill.recorded"
	// Running processes (decision 0027): a serve or worker registered
	// itself, and a process installed a new state of a kill switch (what
	// it stopped in metadata).
	ActionProcessStarted         = "operations.process.started"
	ActionKillSwitchAcknowledged = "killswitch.acknowledged"
	// Vendors, crew and learned ranking state (issue 15 items 4 and 5).
	// Snapshots of crew members name the sealed day rate, never its value.
	ActionVendorCreated     = "vendor.created"
	ActionVendorUpdated     = "vendor.updated"
	ActionVendorDeleted     = "vendor.deleted"
	ActionCrewMemberCreated = "crew.member.created"
	ActionCrewMemberUpdated = "crew.member.updated"
	ActionCrewMemberDeleted = "crew.member.deleted"
	ActionVendorsRanked     = "agent.vendor_ranker.ranked"
	ActionCrewMatched       = "agent.crew_matcher.matched"
	ActionVendorChosen      = "vendor.chosen"
	ActionVendorUnchosen    = "vendor.unchosen"
	ActionCrewAssigned      = "crew.assigned"
	ActionCrewUnassigned    = "crew.unassigned"
	ActionLearningReset     = "learning.reset"

	// Data subject requests (issue #16). privacy.* events carry ids, never
	// an email or a name, and erasure leaves them in place.
	ActionPrivacyRequested       = "privacy.request.created"
	ActionPrivacyExportReady     = "privacy.export.completed"
	ActionPrivacyExportFailed    = "privacy.export.failed"
	ActionPrivacyLinkIssued      = "privacy.export.link_issued"
	ActionPrivacyExportTaken     = "privacy.export.downloaded"
	ActionPrivacyErasureFinished = "privacy.erasure.completed"
)

// ActionOrganizationBrandingUpdated: an admin changed the console's
// branding (the logo by hash and size, never its bytes).
const ActionOrganizationBrandingUpdated = "organization.branding.updated"

// Organization feature flags (issue #17): a platform operator changed an
// organization's flags (service path, in the organization's chain), and
// the worker cancelled a queued AI job because its organization's ai flag
// was turned off after it was queued.
const (
	ActionOrganizationFeaturesUpdated = "organization.features.updated"
	ActionAIGenerationFeatureBlocked  = "ai.generation.blocked_by_feature"
)

// Actions lists every action an event may carry.
var Actions = []string{
	ActionServiceInvoked,
	ActionTrustReport,
	ActionOrganizationCreated,
	ActionOrganizationBrandingUpdated,
	ActionOrganizationFeaturesUpdated,
	ActionAIGenerationFeatureBlocked,
	ActionMembershipCreated,
	ActionVenueCreated,
	ActionVenueUpdated,
	ActionVenueDeleted,
	ActionMembershipUpdated,
	ActionMembershipRemoved,
	ActionLoginSucceeded,
	ActionLoginFailed,
	ActionLoginLinkRequested,
	ActionSignup,
	ActionInviteCreated,
	ActionInviteResent,
	ActionInviteRevoked,
	ActionInviteRedeemed,
	ActionInviteExpiredAttempt,
	ActionInviteReplayAttempt,
	ActionInviteWrongUser,
	ActionInviteInviterLost,
	ActionSignupRequested,
	ActionSignupRefused,
	ActionSessionRevoked,
	ActionSessionOrgSwitched,
	ActionSessionSwitchDenied,
	ActionTokenIssued,
	ActionTokenRevoked,
	ActionTokenRejected,
	ActionCSRFRejected,
	ActionAuditPurged,
	ActionAuditExported,
	ActionKillSwitchActivated,
	ActionKillSwitchDeactivated,
	ActionAIGenerationRequested,
	ActionAIGenerationCompleted,
	ActionAIGenerationFailed,
	ActionAIGenerationRetried,
	ActionBillingSubscriptionChg,
	ActionBillingPaymentSucceeded,
	ActionBillingPaymentFailed,
	ActionBillingCustomerLinked,
	ActionBillingEventIgnored,
	ActionAIPlanRefused,
	ActionProposalUpdated,
	ActionSOWUnsigned,
	ActionProposalCreated,
	ActionProposalApproved,
	ActionAIGenerationStarted,
	ActionAIGenerationCancelled,
	ActionAIGenerationRefused,
	ActionAIGenerationHeld,
	ActionAIGenerationKillBlocked,
	ActionAIBudgetExhausted,
	ActionAIOutputLeak,
	ActionBOMLineCreated,
	ActionBOMLineUpdated,
	ActionBOMLineDeleted,
	ActionFieldUnreadable,
	ActionKeyRotationStarted,
	ActionKeyRotationResumed,
	ActionKeyRotationFinished,
	ActionSOWCreated,
	ActionSOWUpdated,
	ActionSOWSigned,
	ActionBudgetLineCreated,
	ActionBudgetLineUpdated,
	ActionBudgetActualized,
	ActionBudgetUnactualized,
	ActionChangeOrderRequested,
	ActionChangeOrderApproved,
	ActionChangeOrderRejected,
	ActionFinanceDenied,
	ActionAIBudgetUpdated,
	ActionAttachmentUploaded,
	ActionAttachmentDeleted,
	ActionAttachmentDownloaded,
	ActionIntegrationConnectStarted,
	ActionIntegrationConnected,
	ActionIntegrationConnectFailed,
	ActionIntegrationCallbackRefused,
	ActionIntegrationRefreshed,
	ActionIntegrationRefreshFailed,
	ActionIntegrationDisconnected,
	ActionIntegrationRevokeFailed,
	ActionAgentProposalCreated,
	ActionAgentProposalApproved,
	ActionAgentProposalRejected,
	ActionAgentProposalExpired,
	ActionAgentProposalDenied,
	ActionChatAsked,
	ActionChatAnswered,
	ActionChatRefused,
	ActionChatStopped,
	ActionChatKillBlocked,
	ActionChatFailed,
	ActionRestoreDrillRecorded,
	ActionProcessStarted,
	ActionKillSwitchAcknowledged,
	ActionVendorCreated,
	ActionVendorUpdated,
	ActionVendorDeleted,
	ActionCrewMemberCreated,
	ActionCrewMemberUpdated,
	ActionCrewMemberDeleted,
	ActionVendorsRanked,
	ActionCrewMatched,
	ActionVendorChosen,
	ActionVendorUnchosen,
	ActionCrewAssigned,
	ActionCrewUnassigned,
	ActionLearningReset,
	ActionPrivacyRequested,
	ActionPrivacyExportReady,
	ActionPrivacyExportFailed,
	ActionPrivacyLinkIssued,
	ActionPrivacyExportTaken,
	ActionPrivacyErasureFinished,
}

// Event is one audit record. Before and After are JSON snapshots with
// secrets already replaced by a marker; nil means "none".
type Event struct {
	OrganizationID *uuid.UUID // nil only for platform events
	ActorType      ActorType
	ActorID        string
	ActorScope     json.RawMessage
	Action         string
	TargetType     string
	TargetID       string
	Before, After  json.RawMessage
	IP             netip.Addr
	UserAgent      string
	RequestID      string
	Reason         string
	Metadata       json.RawMessage
}

// Validate rejects an event the table would refuse, with a precise message.
func (e Event) Validate() error {
	const op = "audit.Event"
	switch e.ActorType {
	case ActorUser, ActorAPIToken, ActorAgent, ActorService, ActorSystem:
	default:
		return rampart.Errorf(op, rampart.KindInternal, "unknown actor type %q", e.ActorType)
	}
	if !slices.Contains(Actions, e.Action) {
		return rampart.Errorf(op, rampart.KindInternal, "action %q is not in the closed list", e.Action)
	}
	for _, raw := range []json.RawMessage{e.ActorScope, e.Before, e.After, e.Metadata} {
		if len(raw) > 0 && !json.Valid(raw) {
			return rampart.Errorf(op, rampart.KindInternal, "event %s carries invalid JSON", e.Action)
		}
	}
	return nil
}

// Writer records events inside the caller's transaction; store.Tx is one.
type Writer interface {
	RecordAudit(ctx context.Context, ev Event) error
}

// Record writes ev through w, in the same transaction as the change it
// describes: the one way events are written.
func Record(ctx context.Context, w Writer, ev Event) error { return w.RecordAudit(ctx, ev) }
