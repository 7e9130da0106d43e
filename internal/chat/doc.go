// Package chat is the proposal chat's use cases (issue 15 item 6): a
// member asks the model about a proposal, its bill of materials, its
// statement of work and its budget, and the conversation is stored per
// proposal.
//
// What it guarantees:
//   - The model sees the proposal as the caller may see it. The data is
//     read through the domain use cases (proposal.Get, then bom.Get or
//     bom.GetCosted, finance.SOW or finance.PricedSOW, finance.Budget or
//     finance.PricedBudget), chosen by the caller's cost access, so for a
//     role without full cost access no cost, sourcing, lead time or amount
//     exists in the prompt to leak. A turn asked with cost access is marked
//     costed, and only roles with full cost access read it (row-level
//     security as well as this package).
//   - Only roles that may request AI on the proposal's venue may ask
//     (access.ActionRequestAI): others get 403; another organization's
//     proposal is 404.
//   - Every untrusted text (the question, the proposal's fields, the text
//     of its bill, statement and budget) reaches the model only as
//     guard.Text. A flagged question is refused (422) and audited with the
//     scores, never the text; flagged proposal data refuses the turn the
//     same way (409).
//   - The kill switches: an active global or organization switch refuses
//     before the model call (423, audited); a switch raised while the
//     answer streams ends it at once (the turn is registered with the
//     process's watcher like a job), and the turn is stored as stopped
//     with no answer.
//   - Nothing unsanitised reaches the client or the store: the answer is
//     shown block by block, each block sanitised (sanitize.Blocks) and
//     checked for a passage of the system prompt before it is sent, and
//     the whole answer is sanitised again before it is stored.
//   - Tokens: the estimate is reserved from the organization's monthly
//     budget when the question is recorded (an exhausted budget refuses
//     the turn, 429) and settled with the provider's usage when it ends.
//   - Audit: asked, answered, refused, blocked by or stopped by a kill
//     switch, failed — with ids, scores and token counts, never the
//     prompt, the question or the answer.
package chat
