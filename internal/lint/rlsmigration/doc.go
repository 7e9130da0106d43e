// Package rlsmigration is the rls-migration analyzer: a migration (a plain
// .sql script a package embeds) that creates a table with tenant data — a
// table with an organization_id column — also enables and forces
// row-level security on it and creates its policies, in the same file
// (DESIGN.md: forced RLS on every tenant table; STYLE.md: the policies
// live in the same migration as their table). Each policy on such a table
// names organization_id in its USING or WITH CHECK expression. No
// migration turns row-level security off (DISABLE or NO FORCE). Parsed
// with the real PostgreSQL parser (pg_query_go); a script it refuses is
// reported.
package rlsmigration
