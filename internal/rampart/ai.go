package rampart

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Proposal statuses. AI output always lands as ai_pending_review and only a
// human approval moves it on.
const (
	ProposalDraft           = "draft"
	ProposalAIPendingReview = "ai_pending_review"
	ProposalApproved        = "approved"

	ReviewNone          = "none"
	ReviewPendingReview = "pending_review"
	ReviewApproved      = "approved"
)

// Proposal is an event-production proposal. Brief is untrusted text (it
// reaches a model only through the guard); BodyHTML is sanitised HTML.
type Proposal struct {
	ProposalSummary
	Brief    string `json:"brief"`
	BodyHTML string `json:"body_html"`
}

// ProposalSummary is a proposal as a list shows it: without its brief and
// body, which only the detail route returns.
type ProposalSummary struct {
	OrganizationID uuid.UUID  `json:"organization_id"`
	ID             uuid.UUID  `json:"id"`
	Title          string     `json:"title"`
	ClientName     string     `json:"client_name"`
	VenueCode      *string    `json:"venue_code,omitempty"`
	Status         string     `json:"status"`
	AIGenerated    bool       `json:"ai_generated"`
	ReviewStatus   string     `json:"review_status"`
	AuthorID       uuid.UUID  `json:"author_id"`
	ApprovedBy     *uuid.UUID `json:"approved_by,omitempty"`
	ApprovedAt     *time.Time `json:"approved_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Limits of a proposal's fields, shared by the API schema and the database.
const (
	MaxProposalTitle  = 200
	MaxProposalClient = 200
	MaxProposalBrief  = 20000
)

// ValidateProposal checks the fields a person edits.
func ValidateProposal(p Proposal) error {
	const op = "rampart.Proposal"
	if err := validateName(op, "title", p.Title); err != nil {
		return err
	}
	if !utf8.ValidString(p.ClientName) || strings.ContainsRune(p.ClientName, 0) || utf8.RuneCountInString(p.ClientName) > MaxProposalClient {
		return Errorf(op, KindInvalid, "client_name must be valid UTF-8 of at most %d characters", MaxProposalClient)
	}
	if p.VenueCode != nil && !ValidVenueCode(*p.VenueCode) {
		return Errorf(op, KindInvalid, "venue_code %q must be 1 to 32 upper-case letters, digits, '-' or '_'", *p.VenueCode)
	}
	if !utf8.ValidString(p.Brief) || strings.ContainsRune(p.Brief, 0) || utf8.RuneCountInString(p.Brief) > MaxProposalBrief {
		return Errorf(op, KindInvalid, "brief must be valid UTF-8 without NUL characters, of at most %d characters", MaxProposalBrief)
	}
	return nil
}

// AI job statuses. Terminal: succeeded, failed, cancelled, refused, needs_review.
const (
	JobQueued      = "queued"
	JobRunning     = "running"
	JobRetrying    = "retrying"
	JobSucceeded   = "succeeded"
	JobFailed      = "failed"
	JobCancelled   = "cancelled"
	JobRefused     = "refused"
	JobNeedsReview = "needs_review"

	JobKindProposalGeneration = "proposal_generation"
	// JobKindBOMDraft drafts bill-of-materials lines (bom_drafter): it ends
	// in an agent proposal, not in the proposal's body.
	JobKindBOMDraft = "bom_draft"
	// JobKindBudgetAnalysis proposes budget lines (budget_analyst): it
	// ends in an agent proposal.
	JobKindBudgetAnalysis = "budget_analysis"
)

// JobKindFor is the kind of AI job an agent runs.
func JobKindFor(agent string) string {
	switch agent {
	case "bom_drafter":
		return JobKindBOMDraft
	case "budget_analyst":
		return JobKindBudgetAnalysis
	}
	return JobKindProposalGeneration
}

// JobFinished reports whether status is terminal.
func JobFinished(status string) bool {
	switch status {
	case JobSucceeded, JobFailed, JobCancelled, JobRefused, JobNeedsReview:
		return true
	}
	return false
}

// AIJob is one AI generation request and its progress.
type AIJob struct {
	OrganizationID  uuid.UUID  `json:"organization_id"`
	ID              uuid.UUID  `json:"id"`
	Kind            string     `json:"kind"`
	ProposalID      uuid.UUID  `json:"proposal_id"`
	VenueCode       *string    `json:"venue_code,omitempty"`
	AgentType       string     `json:"agent_type"`
	RequestedBy     uuid.UUID  `json:"requested_by"`
	Status          string     `json:"status"`
	Attempt         int        `json:"attempt"`
	Provider        string     `json:"provider,omitempty"`
	Model           string     `json:"model,omitempty"`
	EstimatedTokens int        `json:"estimated_tokens"`
	InputTokens     int        `json:"input_tokens"`
	OutputTokens    int        `json:"output_tokens"`
	GuardScore      int        `json:"guard_score"`
	GuardRules      []string   `json:"guard_rules"`
	ErrorCode       string     `json:"error_code,omitempty"`
	ErrorMessage    string     `json:"error_message,omitempty"`
	CancelledBy     *uuid.UUID `json:"cancelled_by,omitempty"`
	CancelReason    string     `json:"cancel_reason,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// KillSwitch is the state of one kill-switch level.
type KillSwitch struct {
	Scope          string     `json:"scope"` // "global" or "organization"
	OrganizationID *uuid.UUID `json:"organization_id,omitempty"`
	Active         bool       `json:"active"`
	Reason         string     `json:"reason"`
	ChangedBy      string     `json:"changed_by"`
	ChangedAt      time.Time  `json:"changed_at"`
	// PlatformLocked: switched on by a platform operator; the
	// organization's admins cannot switch it off.
	PlatformLocked bool `json:"platform_locked,omitempty"`
}

// ValidateReason checks a kill-switch or cancellation reason.
func ValidateReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) || utf8.RuneCountInString(reason) > 500 {
		return "", Errorf("rampart.Reason", KindInvalid, "reason must be 1 to 500 characters of valid UTF-8")
	}
	return reason, nil
}

// TokenBudget is an organization's monthly AI token budget and this month's use.
type TokenBudget struct {
	MonthlyTokens  *int64    `json:"monthly_tokens"` // nil: unlimited
	Month          time.Time `json:"month"`
	ReservedTokens int64     `json:"reserved_tokens"`
	UsedTokens     int64     `json:"used_tokens"`
	// The billing plan's side (docs/billing.md): the plan's cap (nil: no
	// cap), its status, and whether a lapsed plan's grace period has ended,
	// so that new AI jobs are refused (by the database's clock).
	Plan         Plan          `json:"plan"`
	PlanStatus   BillingStatus `json:"plan_status"`
	PlanTokens   *int64        `json:"plan_monthly_tokens"`
	AIGraceUntil *time.Time    `json:"ai_grace_until,omitempty"`
	PlanRefused  bool          `json:"plan_refuses_ai"`
}

// Limit is the month's effective limit: the lower of the admin's budget
// and the plan's cap, or nil when neither is set.
func (b TokenBudget) Limit() *int64 {
	switch {
	case b.MonthlyTokens == nil:
		return b.PlanTokens
	case b.PlanTokens == nil || *b.MonthlyTokens <= *b.PlanTokens:
		return b.MonthlyTokens
	}
	return b.PlanTokens
}

// Remaining is the tokens left this month under Limit, or -1 when unlimited.
func (b TokenBudget) Remaining() int64 {
	l := b.Limit()
	if l == nil {
		return -1
	}
	return max(0, *l-b.UsedTokens-b.ReservedTokens)
}

// DailyAIUsage is one UTC day of an organization's AI jobs: how many were
// requested, the tokens they used and how many the guard or a switch
// refused.
type DailyAIUsage struct {
	Day     time.Time `json:"day"`
	Jobs    int       `json:"jobs"`
	Tokens  int64     `json:"tokens"`
	Refused int       `json:"refused"`
}
