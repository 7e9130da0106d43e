// Package agent holds the agent runners' side of the AI pipeline: what an
// agent does with a model's answer. An agent turns the answer into an
// agent proposal (rampart.NewAgentProposal) and records it through a
// store.AgentTx, which can read and propose but cannot write a bill of
// materials, a budget, a statement of work or a choice. A person applies
// the change by approving it (internal/agentproposal).
//
// The model's answer is untrusted: it is parsed strictly (one JSON object,
// bounded, unknown fields refused), every string must be plain text, and
// every line is validated as the domain validates a person's input.
package agent
