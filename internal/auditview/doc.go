// Package auditview holds the use cases of reading an organization's
// audit log: a page of events (newest first, cursor by event id) and the
// full export. Both need the view-audit permission, checked before any
// database work; row-level security keeps every read to the caller's
// organization. An export is itself audited, in a transaction of its own
// committed before the first row is read, so an export cut short still
// leaves its trace. The JSON API and the console call these functions.
package auditview
