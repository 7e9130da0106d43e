// Package vendors is the use cases of the vendor directory, the
// vendor_ranker and the choice of a vendor for a proposal's category.
//
// The directory is sourcing information (DESIGN.md §4): only roles with
// full cost access read, edit or rank it. Ranking is deterministic Go (no
// model): every candidate carries the signals that produced its score
// (raw value, normalised value, weight, contribution; the score is the sum
// of the contributions), with the weights the organization has learned
// (internal/learning). ApplyChoice applies a choice in a caller's
// transaction with the same access check as the manual route, so an
// approved agent proposal can apply it in the approver's transaction.
package vendors
