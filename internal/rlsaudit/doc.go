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
//     has a mutable search_path or one that leaves pg_temp anywhere but
//     last (PostgreSQL searches the temporary schema first unless listed),
//     no view reads tenant rows with its owner's rights and no materialized
//     view hands tenant rows to the runtime;
//   - the login is not superuser, has neither BYPASSRLS, CREATEROLE nor
//     REPLICATION, owns nothing, is a member of rampart_app, and is not a
//     member (directly or transitively) of any role that is superuser, has
//     BYPASSRLS (rampart_service included: the service path has its own
//     login), CREATEROLE or REPLICATION, owns relations or the database, or
//     is one of the predefined roles that reach server files or all data
//     (ServerAccessRoles, AllDataRoles);
//   - the behavioural probe saw no row: as rampart_app, with no claims, with
//     empty claims and with the claims of a random organization and user
//     (role admin, and no role), every tenant table and every table of
//     ProbedUserTables shows no row.
//
// The probe is what catches a policy whose text looks tenant-scoped but is
// not (`organization_id = (SELECT current_user_org_id()) OR true`,
// `(SELECT current_user_org_id()) IS NULL OR …`): it proves leaks on live
// data, so it needs rows to exist; on an empty table it sees nothing and the
// text checks (tenant function called, not always true) are what remain. It
// reads with SELECT only (Catalog is a read-only transaction), so a write
// policy (UPDATE, DELETE) whose USING leaks is caught only by the text
// checks; the catalog-driven isolation tests exercise writes.
package rlsaudit
