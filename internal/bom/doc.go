// Package bom holds the bill-of-materials use cases: read a proposal's
// bill, add, change and remove its lines.
//
// Who may do what (DESIGN.md §4): everyone who reads a proposal reads its
// lines' public fields (item, category, quantity, unit); the roles that
// edit proposals, and technical directors (who edit bills of materials
// only), change lines — venue managers for their venues only. Unit cost,
// sourcing and lead time are a distinct type (rampart.LineCost) that only
// roles with full cost access are given or may set: the bill a technical
// director, venue manager, stakeholder or viewer reads is a rampart.BOM,
// which has no such field at any depth, and the name-based output filter
// (access.FilterForRole) stays behind it as a second net.
package bom
