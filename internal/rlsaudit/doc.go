// Package rlsaudit decides, from a snapshot of the PostgreSQL catalog,
// whether tenant isolation holds (DESIGN.md §3). It is the logic behind
// `rampart rls-audit`.
//
// The package is pure: it imports no database package. The store reads the
// live catalog into a Snapshot (store.Store.Catalog); Evaluate turns the
// Snapshot into a Report whose findings each name the object, the check
// that failed, the problem and its fix. Keeping the two apart lets every
// check be tested with hand-built snapshots, and lets a snapshot be saved as
// JSON and audited elsewhere.
//
// What a passing report guarantees, for the runtime (the login plus the
// rampart_app role it switches to in every store transaction):
//
//   - every tenant table (a table with organization_id, and organizations,
//     the tenant root) has row-level security enabled and forced, a
//     permissive policy for every verb the runtime holds, policies that are
//     scoped by current_user_org_id(), no TRUNCATE (which ignores row-level
//     security), no grant to PUBLIC, a NOT NULL organization_id (unless
//     exempt in NullableOrgTables) and an index led by its tenant key;
//   - every other table the runtime can reach is protected the same way,
//     or is a read-only global table listed in GlobalReadOnlyTables;
//   - no policy is enforced-off or always true, no SECURITY DEFINER function
//     has a mutable search_path, no view reads tenant rows with its owner's
//     rights and no materialized view hands tenant rows to the runtime;
//   - the login is not superuser, cannot bypass row-level security, owns
//     nothing, is a member of rampart_app, and reaches rampart_service
//     (the only role allowed BYPASSRLS) only through an explicit SET ROLE.
//
// The audit reads the catalog; it does not prove that policy expressions
// are correct beyond referencing the tenant function. The catalog-driven
// isolation tests do that.
package rlsaudit
