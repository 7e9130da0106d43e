// Package crew is the use cases of the crew list, the crew_matcher and
// the assignment of crew to proposals.
//
// A crew member's day rate is a cost field: it is sealed by the store and
// only roles with full cost access are given a type that carries it
// (CostedCrewMember, CostedMatch); the others get types without it, so no
// JSON they receive can contain it. For them the matcher ranks without the
// day-rate feature at all: its signal is absent and the score (the sum of
// the remaining contributions) reveals nothing about it. Matching is
// deterministic Go. ApplyAssignment applies an assignment in a caller's
// transaction with the same access check as the manual route. Staffing
// holds no worker-monitoring data.
package crew
