// Package orgscoping is the org-scoping analyzer: every SQL statement a
// package embeds (the store's named queries, fragments substituted, and
// the DML of its migrations) that reads or writes a tenant table — a
// table created with an organization_id column — names that table's
// organization_id: SELECT, UPDATE and DELETE filter on it (in WHERE or a
// join condition, qualified by the table's alias or unqualified), INSERT
// sets it. Row-level security already isolates organizations; this is
// the second lock, and it keeps each statement on the organization_id
// indexes. Parsed with the real PostgreSQL parser (pg_query_go).
//
// A statement that must span organizations (the service path's
// sweepers, the catalog probes) is listed in exceptions.txt with a reason:
// "file statement table reason", statement being the query name or
// "line:N" in a script. The list may only shrink: TestExceptionsOnlyShrink
// holds it to a committed count, and an entry that matches nothing is
// itself reported.
package orgscoping
