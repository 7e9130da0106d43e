// Package learning is the per-organization learned state of the rankers
// (vendor_ranker, crew_matcher): a bounded adjustment per feature added to
// the ranker's base weight, learned from the candidates people approve or
// reject, and the feedback history it was learned from.
//
// It alone reaches the store's learned-state methods (an architecture test
// in internal/archtest holds every other package to that). It guarantees:
// nothing is pooled across organizations (every read and write runs in the
// caller's tenant transaction, under row-level security); an adjustment
// never leaves ±MaxAdjustment, so a ranker's behaviour drifts only so far
// from its documented base weights; a reset clears the calling
// organization's state only, with one audit event per table.
package learning
