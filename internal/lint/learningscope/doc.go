// Package learningscope is the learning-scope analyzer: only the learning
// package (internal/learning) touches the learned-state tables — the
// rankers' per-organization adjustments and the feedback they were
// learned from (tables matching LearnedTables: learned_*, learning_*).
// Two halves: in Go, only internal/learning (and the store that defines
// it) reaches the store's learned-state door (the method LearnedState);
// in SQL, only the store's queries/learning.sql names those tables
// (migrations create them). So what a ranker learns is bounded and
// reset in one place, and no other feature reads or nudges it.
package learningscope
