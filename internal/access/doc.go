// Package access decides who may do what in an organization, and what they
// may see of the answer. It is the single home of the permission matrix of
// DESIGN.md §4; docs/permissions.md is generated from it.
//
// Access has three layers, applied in order:
//
//  1. Role tier. Each of the seven roles may take a fixed set of actions
//     (read, comment, edit, request AI, approve agent proposals, manage
//     members, …) and may run a fixed set of agent types. The matrix in
//     matrix.go is data, not code: Can, CheckAgent, HasFullCostAccess and
//     the generated docs all read the same tables.
//  2. Scope. An allowed action can still be limited to part of the data: a
//     venue_manager acts only on resources of their own venue codes, a
//     technical_director edits and approves bills of materials only, a
//     stakeholder's "edit" is commenting only. Administrative resources
//     (members, invites, API tokens, the organization, the audit log) are
//     governed by the administrative actions whatever the generic action is.
//  3. Output filter. A role without full cost access never receives cost,
//     price, margin, sourcing, supplier or lead-time fields: FilterForRole,
//     EncodeJSON and FilterTable remove them, at any depth, before a value
//     leaves the server on any response path (JSON, CSV, console).
//
// Guarantees:
//
//   - Default deny. Can is the one decision point; it returns false for
//     invalid claims, an unknown role, action or resource kind, a missing
//     matrix entry, and for a venue-scoped role acting on a resource that
//     carries no venue code. Check and CheckAgent return a *rampart.Error of
//     KindForbidden (KindInvalid for an unknown agent type) whose message is
//     safe to show.
//   - The output filter fails closed: roles without an explicit "yes" for
//     full cost access, including unknown roles, get the filtered value.
//   - The docs cannot drift: a test fails when docs/permissions.md differs
//     from MarkdownMatrix; run `go generate ./internal/access`.
//
// What this package does not do: tenancy. A Resource carries no
// organization; callers load it through the store's tenant transaction,
// where row-level security already hides other tenants (another tenant's
// object is "not found", never "forbidden"), and venue-bound tables are also
// limited to the caller's venue codes by RLS. Can is the handler-side half
// of that defence, not a replacement for it.
package access
