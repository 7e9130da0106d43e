// Package nosurveillance is the no-surveillance analyzer: a migration
// (a plain .sql script a package embeds) that creates or alters a people
// or staffing table — users, members, crew, staff, shifts, timesheets and
// the like (PeopleTables) — may not add a column whose name matches a
// surveillance pattern: location or GPS, screenshots, keystrokes, or a
// productivity or activity score (SurveillanceColumns). Rampart plans
// productions; it does not watch the people who staff them (the
// product's privacy promise, DESIGN.md). Both lists are data. A venue's
// address is not a person's location: a table that is not a people table
// is not checked. There is no exception mechanism: a need for such a
// column is a product decision recorded in docs/decisions, and a change
// to these lists.
package nosurveillance
