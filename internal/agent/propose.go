package agent

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/rampart-dev/rampart/internal/store"
)

// Propose records d as job's agent proposal, checked first as the domain
// checks it. It runs in the agent's transaction, with the job's finish.
func Propose(ctx context.Context, tx *store.AgentTx, job rampart.AIJob, d Draft, at time.Time) (rampart.PricedAgentProposal, error) {
	jobID := job.ID
	p := rampart.NewAgentProposal{ProposalID: job.ProposalID, JobID: &jobID, AgentType: job.AgentType, Kind: d.Kind,
		Change: d.Change, Cost: d.Cost, Rationale: d.Rationale, At: at}
	if err := rampart.ValidateAgentProposal(p); err != nil {
		return rampart.PricedAgentProposal{}, err
	}
	if job.ProposalID == uuid.Nil {
		return rampart.PricedAgentProposal{}, rampart.Errorf("agent.Propose", rampart.KindInvalid, "the job has no proposal")
	}
	return tx.Propose(ctx, p)
}
