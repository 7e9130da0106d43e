package rlsaudit

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Well-known names of DESIGN.md §3.
const (
	// AppRole is the group role the runtime login switches to in every
	// store transaction; Snapshot.AppRole defaults to it.
	AppRole = "rampart_app"
	// ServiceRole is the BYPASSRLS role of the service path
	// (store.AsService). It has its own login: the runtime login must not
	// be a member of it, directly or through another role.
	ServiceRole = "rampart_service"
	// TenantRoot is the tenant root table: its tenant key is id, not
	// organization_id.
	TenantRoot = "organizations"
	// OrgColumn is the tenant key column of every other tenant table.
	OrgColumn = "organization_id"
	// TenantFunction is the claim function every tenant policy must call.
	TenantFunction = "current_user_org_id"
)

// NullableOrgTables lists tenant tables whose organization_id may be NULL,
// each with the reason. A NULL organization is visible to no tenant.
var NullableOrgTables = map[string]string{
	"audit_events": "platform events carry no organization",
}

// ProbedUserTables lists the public tables without an organization_id that
// the behavioural probe reads besides the tenant tables: their policies
// scope rows by the caller's user (current_user_id()) or organization, so no
// row may be visible without claims or to an unknown user.
var ProbedUserTables = []string{"users", "sessions"}

// GlobalReadOnlyTables lists tables without tenant data that the runtime may
// read without row-level security, each with the reason. Any privilege
// beyond SELECT on them is a finding.
var GlobalReadOnlyTables = map[string]string{
	"rampart_schema_version": "migration version; no tenant data",
	"river.river_migration":  "job queue (River) schema version; no tenant data",
	"platform_kill_switch":   "the global AI kill switch; platform state, no tenant data",
}

// Snapshot is everything the audit reads from the catalog. The store fills
// it (store.Store.Catalog); tests build it by hand.
type Snapshot struct {
	Database string `json:"database"`
	// Login is the runtime login (session_user).
	Login string `json:"login"`
	// AppRole is the group role the runtime switches to; empty means AppRole.
	AppRole string `json:"app_role"`
	// RuntimeRoles are the roles whose privileges the login or AppRole
	// hold without SET ROLE (pg_has_role … 'USAGE'), including themselves.
	// A policy applies to the runtime when it names one of them or public.
	RuntimeRoles []string `json:"runtime_roles"`
	// Roles holds the facts of the login and of every role it is a member
	// of, directly or transitively.
	Roles []Role `json:"roles"`
	// Tables are the ordinary and partitioned tables of non-system schemas.
	Tables []Table `json:"tables"`
	// Functions are the SECURITY DEFINER functions of non-system schemas.
	Functions []Function `json:"security_definer_functions"`
	// Views are the views and materialized views of non-system schemas.
	Views []View `json:"views"`
}

// Role holds the facts of one role as seen from the login.
type Role struct {
	Name      string `json:"name"`
	Superuser bool   `json:"superuser"`
	BypassRLS bool   `json:"bypass_rls"`
	// CreateRole is rolcreaterole: on PostgreSQL 15 and earlier such a role
	// may GRANT any non-superuser role, rampart_owner included, to itself.
	CreateRole bool `json:"create_role"`
	// Replication is rolreplication: replication connections and logical
	// decoding read every row, past row-level security.
	Replication bool `json:"replication"`
	// Inherited reports whether the login holds this role's privileges
	// without SET ROLE (pg_has_role(login, role, 'USAGE')).
	Inherited bool `json:"inherited"`
	// OwnedObjects counts the relations, functions and schemas of the
	// current database the role owns.
	OwnedObjects int64 `json:"owned_objects"`
	// OwnedRelations counts only the relations and schemas among them:
	// what a member role must not own, since through SET ROLE the login
	// could then disable row-level security, alter policies or drop tables.
	// Owning only functions is not flagged here (ALTER FUNCTION on a
	// definer function matters when its owner bypasses row-level security,
	// as rampart_service does, and membership in such a role is a finding
	// of its own).
	OwnedRelations int64 `json:"owned_relations"`
	// OwnsDatabase reports whether the role owns the current database.
	OwnsDatabase bool `json:"owns_database"`
	// GrantedVia lists the roles granted directly to the login through
	// which it holds this one (the role itself when granted directly):
	// what a fix must REVOKE. Empty means granted directly.
	GrantedVia []string `json:"granted_via,omitempty"`
}

// Ref names a relation.
type Ref struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// String returns the name as the report shows it: unqualified in the
// public schema, schema.name elsewhere.
func (r Ref) String() string {
	if r.Schema == "" || r.Schema == "public" {
		return r.Name
	}
	return r.Schema + "." + r.Name
}

// sql returns the name quoted for a fix statement.
func (r Ref) sql() string {
	if r.Schema == "" || r.Schema == "public" {
		return quoteIdent(r.Name)
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
}

// Table holds the catalog facts of one table.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// HasOrgColumn reports an organization_id column; OrgNotNull its NOT NULL.
	HasOrgColumn bool     `json:"has_org_column"`
	OrgNotNull   bool     `json:"org_not_null"`
	RLSEnabled   bool     `json:"rls_enabled"` // relrowsecurity
	RLSForced    bool     `json:"rls_forced"`  // relforcerowsecurity
	Policies     []Policy `json:"policies"`
	// Runtime holds the privileges of the login and AppRole together.
	Runtime Privileges `json:"runtime_privileges"`
	// PublicGrants lists the privilege types granted to PUBLIC on the table
	// or any of its columns.
	PublicGrants []string `json:"public_grants"`
	// IndexLeadingColumns lists the columns that lead a valid index
	// (the primary key included).
	IndexLeadingColumns []string `json:"index_leading_columns"`
	// Probes are the results of the behavioural probe (see ProbeTarget):
	// the rows the runtime saw in the table without tenant context and as
	// an unknown tenant. Nil when the table was not probed.
	Probes []ProbeResult `json:"probes,omitempty"`
}

// The probes of the behavioural check, in the order the store runs them.
// Each reads a table as the app role (SELECT count(*)) in a read-only
// transaction; a tenant-scoped table shows no row to any of them.
const (
	// ProbeNoClaims: request.jwt.claims not set by the transaction (NULL
	// on a new connection, the empty string on one a tenant transaction
	// used before).
	ProbeNoClaims = "no-claims"
	// ProbeForeignAdmin: the claims of a random organization and random
	// user (sub) with role admin: a tenant that owns no row.
	ProbeForeignAdmin = "foreign-org-admin"
	// ProbeForeignNoRole: the same claims without a role.
	ProbeForeignNoRole = "foreign-org-no-role"
	// ProbeEmptyClaims: request.jwt.claims set to the empty string, as a
	// tenant transaction leaves it on its connection.
	ProbeEmptyClaims = "empty-claims"
)

// Probes lists the probes the store runs on every probed table.
var Probes = []string{ProbeNoClaims, ProbeForeignAdmin, ProbeForeignNoRole, ProbeEmptyClaims}

// ProbeResult is one probe of one table.
type ProbeResult struct {
	Probe string `json:"probe"` // one of Probes
	// Rows is the number of rows the probe saw.
	Rows int64 `json:"rows"`
	// Skipped holds the error that stopped the probe (e.g. permission
	// denied: the runtime cannot SELECT the table); Rows is then 0.
	Skipped string `json:"skipped,omitempty"`
}

// ProbeTarget reports whether the behavioural probe reads t: every tenant
// table (one with organization_id, and organizations) and the tables of
// ProbedUserTables.
func ProbeTarget(t Table) bool {
	return isTenant(t) || ((t.Schema == "public" || t.Schema == "") && slices.Contains(ProbedUserTables, t.Name))
}

func probeCondition(probe string) string {
	switch probe {
	case ProbeNoClaims:
		return "with no tenant context"
	case ProbeForeignAdmin:
		return "with the claims of an unknown organization and user (role admin)"
	case ProbeForeignNoRole:
		return "with the claims of an unknown organization and user (no role)"
	case ProbeEmptyClaims:
		return "with empty claims"
	}
	return "in probe " + probe
}

// Ref returns the table's name.
func (t Table) Ref() Ref { return Ref{Schema: t.Schema, Name: t.Name} }

// Privileges are the table privileges the runtime holds. SELECT, INSERT and
// UPDATE count column-level grants.
type Privileges struct {
	Select   bool `json:"select"`
	Insert   bool `json:"insert"`
	Update   bool `json:"update"`
	Delete   bool `json:"delete"`
	Truncate bool `json:"truncate"`
}

// Any reports whether the runtime holds any privilege.
func (p Privileges) Any() bool { return p.Select || p.Insert || p.Update || p.Delete || p.Truncate }

func (p Privileges) has(v verb) bool {
	switch v {
	case verbSelect:
		return p.Select
	case verbInsert:
		return p.Insert
	case verbUpdate:
		return p.Update
	case verbDelete:
		return p.Delete
	}
	return false
}

// Policy is one row-level security policy.
type Policy struct {
	Name string `json:"name"`
	// Command is pg_policy.polcmd: r (SELECT), a (INSERT), w (UPDATE),
	// d (DELETE) or * (ALL).
	Command string `json:"command"`
	// Roles are the role names the policy applies to; "public" for all.
	Roles      []string `json:"roles"`
	Permissive bool     `json:"permissive"`
	// Using and WithCheck are the expressions as pg_get_expr prints them;
	// empty when absent.
	Using     string `json:"using"`
	WithCheck string `json:"with_check"`
}

// Function is a SECURITY DEFINER function.
type Function struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Args are the identity arguments (pg_get_function_identity_arguments).
	Args  string `json:"args"`
	Owner string `json:"owner"`
	// SearchPathSet reports a search_path in proconfig (SET search_path).
	SearchPathSet bool `json:"search_path_set"`
	// SearchPath is that setting's value as proconfig stores it, e.g.
	// "pg_catalog, public, pg_temp"; empty when not set.
	SearchPath string `json:"search_path"`
}

// String returns the function as the report shows it: name(arguments),
// schema-qualified outside public.
func (f Function) String() string {
	return Ref{Schema: f.Schema, Name: f.Name}.String() + "(" + f.Args + ")"
}

func (f Function) sql() string {
	return Ref{Schema: f.Schema, Name: f.Name}.sql() + "(" + f.Args + ")"
}

// View is a view or materialized view.
type View struct {
	Schema       string `json:"schema"`
	Name         string `json:"name"`
	Materialized bool   `json:"materialized"`
	// SecurityInvoker reports reloptions security_invoker=true: the view
	// reads its tables with the caller's rights and policies.
	SecurityInvoker bool `json:"security_invoker"`
	// RuntimeSelect reports whether the runtime may SELECT from the view.
	RuntimeSelect bool `json:"runtime_select"`
	// DependsOn lists the relations the view's query reads (pg_depend via
	// pg_rewrite), views included.
	DependsOn []Ref `json:"depends_on"`
}

// Ref returns the view's name.
func (v View) Ref() Ref { return Ref{Schema: v.Schema, Name: v.Name} }

// Check identifies one rule of the audit; it names the problem found.
type Check string

// Table checks:
const (
	CheckRLSDisabled           Check = "rls-disabled"             // tenant or reachable table without RLS
	CheckRLSNotForced          Check = "rls-not-forced"           // RLS not forced: the owner bypasses it
	CheckPolicyMissing         Check = "policy-missing"           // a granted verb without a permissive policy
	CheckTruncateGranted       Check = "truncate-granted"         // TRUNCATE ignores RLS
	CheckPublicGrant           Check = "public-grant"             // a tenant table granted to PUBLIC
	CheckOrgNullable           Check = "org-nullable"             // organization_id may be NULL
	CheckOrgIndexMissing       Check = "org-index-missing"        // no index led by the tenant key
	CheckPolicyNotTenantScoped Check = "policy-not-tenant-scoped" // policy ignores current_user_org_id
	CheckPolicyRLSOff          Check = "policy-rls-off"           // policies on a table whose RLS is off
	CheckPolicyAlwaysTrue      Check = "policy-always-true"       // USING (true) or WITH CHECK (true)
	CheckGlobalTableWritable   Check = "global-table-writable"    // more than SELECT on a global table
	CheckPolicyLeaksRows       Check = "policy-leaks-rows"        // the behavioural probe saw rows outside any tenant
)

// Function and view checks:
const (
	CheckSecDefNoSearchPath     Check = "secdef-no-search-path"     // SECURITY DEFINER without SET search_path
	CheckSecDefTempFirst        Check = "secdef-temp-first"         // search_path without pg_temp last: temp tables shadow
	CheckViewNotSecurityInvoker Check = "view-not-security-invoker" // view over tenant data with owner's rights
	CheckMatViewTenantData      Check = "matview-tenant-data"       // readable materialized view of tenant data
)

// Role checks:
const (
	CheckLoginUnknown       Check = "login-unknown"        // the snapshot has no facts for the login
	CheckLoginSuperuser     Check = "login-superuser"      // superusers bypass RLS
	CheckLoginBypassRLS     Check = "login-bypassrls"      // BYPASSRLS on the login
	CheckLoginOwnsObjects   Check = "login-owns-objects"   // owners bypass unforced RLS and may ALTER
	CheckLoginOwnsDatabase  Check = "login-owns-database"  // the database owner may drop policies' schema
	CheckLoginNotAppMember  Check = "login-not-app-member" // the login cannot SET ROLE rampart_app
	CheckLoginCreateRole    Check = "login-createrole"     // CREATEROLE: may GRANT itself any role (PG15)
	CheckLoginReplication   Check = "login-replication"    // REPLICATION: reads every row past RLS
	CheckMemberSuperuser    Check = "member-superuser"     // membership in a superuser role
	CheckMemberBypassRLS    Check = "member-bypassrls"     // membership in any BYPASSRLS role, rampart_service included
	CheckMemberOwner        Check = "member-owner"         // membership in a role that owns objects
	CheckMemberCreateRole   Check = "member-createrole"    // membership in a CREATEROLE role
	CheckMemberReplication  Check = "member-replication"   // membership in a REPLICATION role
	CheckMemberServerAccess Check = "member-server-access" // pg_read/write_server_files, pg_execute_server_program
	CheckMemberAllData      Check = "member-all-data"      // pg_read_all_data, pg_write_all_data
)

// ServerAccessRoles are the predefined roles that read or write the
// server's files or run programs on it: any of them reads the data
// directory, past every grant and policy.
var ServerAccessRoles = map[string]string{
	"pg_execute_server_program": "runs programs on the database server (COPY … PROGRAM)",
	"pg_read_server_files":      "reads any file the server can, the data directory included (COPY … FROM file)",
	"pg_write_server_files":     "writes any file the server can (COPY … TO file)",
}

// AllDataRoles are the predefined roles that hold privileges on every
// table regardless of grants. They do not bypass row-level security, but
// every table without it (and every table whose policies name public) is
// open to them, beyond what the migrations grant.
var AllDataRoles = map[string]string{
	"pg_read_all_data":  "SELECT on every table, whatever its grants",
	"pg_write_all_data": "INSERT, UPDATE and DELETE on every table, whatever its grants",
}

// Severity grades a finding. Every check fails the audit today.
type Severity string

// SeverityFail fails the audit.
const SeverityFail Severity = "fail"

// Kinds of audited object.
const (
	KindTable    = "table"
	KindFunction = "function"
	KindView     = "view"
	KindRole     = "role"
)

// Finding is one failed check on one object.
type Finding struct {
	Kind     string   `json:"kind"`   // table, function, view or role
	Object   string   `json:"object"` // as the report shows it, e.g. "venues"
	Check    Check    `json:"check"`
	Severity Severity `json:"severity"`
	// Message names the problem and the fix.
	Message string `json:"message"`
}

// Verb statuses of a TableRow.
const (
	StatusPolicy  = "policy"   // granted, and a permissive policy covers it
	StatusNoGrant = "no grant" // the runtime does not hold the verb
	StatusMissing = "MISSING"  // granted without a covering policy
	StatusGlobal  = "global"   // SELECT on a GlobalReadOnlyTables table
	StatusGranted = "GRANTED"  // TRUNCATE granted (always a finding)
)

// Probe statuses of a TableRow.
const (
	ProbeStatusNone    = "-"       // not probed
	ProbeStatusSealed  = "0 rows"  // every probe ran and saw no row
	ProbeStatusLeak    = "LEAK"    // a probe saw rows
	ProbeStatusSkipped = "skipped" // a probe could not run (see ProbeSkipped); none saw rows
)

// Verdicts of a TableRow.
const (
	VerdictPass = "PASS"
	VerdictFail = "FAIL"
)

// TableRow is one table's line of the report.
type TableRow struct {
	Table  string `json:"table"`
	Tenant bool   `json:"tenant"`
	// OrgColumn describes the tenant key: "not null", "nullable (exempt)",
	// "NULLABLE", "id (root)" or "-" for non-tenant tables.
	OrgColumn    string   `json:"org_column"`
	RLS          bool     `json:"rls"`
	Forced       bool     `json:"forced"`
	Select       string   `json:"select"`
	Insert       string   `json:"insert"`
	Update       string   `json:"update"`
	Delete       string   `json:"delete"`
	Truncate     string   `json:"truncate"`
	PublicGrants []string `json:"public_grants"`
	// Probe summarises the behavioural probe (ProbeStatus…); ProbeSkipped
	// holds why a probe could not run.
	Probe        string `json:"probe"`
	ProbeSkipped string `json:"probe_skipped,omitempty"`
	Verdict      string `json:"verdict"`
}

// Report is the outcome of Evaluate.
type Report struct {
	Database string     `json:"database"`
	Login    string     `json:"login"`
	Tables   []TableRow `json:"tables"`
	Findings []Finding  `json:"findings"`
}

// OK reports whether the audit passed: no finding of severity fail.
func (r Report) OK() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityFail {
			return false
		}
	}
	return true
}

// Has reports whether the report holds a finding of check on object.
func (r Report) Has(check Check, object string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Check == check && f.Object == object })
}

type verb int

const (
	verbSelect verb = iota
	verbInsert
	verbUpdate
	verbDelete
)

var verbs = []verb{verbSelect, verbInsert, verbUpdate, verbDelete}

func (v verb) String() string { return [...]string{"SELECT", "INSERT", "UPDATE", "DELETE"}[v] }

// cmd is the pg_policy.polcmd letter of the verb.
func (v verb) cmd() string { return [...]string{"r", "a", "w", "d"}[v] }

// Evaluate applies every check to s and returns the report. Findings are
// ordered roles first, then tables, functions and views, each by name.
func Evaluate(s Snapshot) Report {
	e := newEvaluator(s)
	e.roles()
	tables := slices.Clone(s.Tables)
	slices.SortFunc(tables, func(a, b Table) int { return strings.Compare(a.Ref().String(), b.Ref().String()) })
	for _, t := range tables {
		e.table(t)
	}
	funcs := slices.Clone(s.Functions)
	slices.SortFunc(funcs, func(a, b Function) int { return strings.Compare(a.String(), b.String()) })
	for _, f := range funcs {
		e.function(f)
	}
	views := slices.Clone(s.Views)
	slices.SortFunc(views, func(a, b View) int { return strings.Compare(a.Ref().String(), b.Ref().String()) })
	for _, v := range views {
		e.view(v)
	}
	e.report.Database, e.report.Login = s.Database, s.Login
	if e.report.Tables == nil {
		e.report.Tables = []TableRow{}
	}
	if e.report.Findings == nil {
		e.report.Findings = []Finding{}
	}
	return e.report
}

type evaluator struct {
	s        Snapshot
	app      string
	runtime  map[string]bool // role names a policy may name to apply to the runtime
	tenant   map[Ref]bool    // tenant tables
	views    map[Ref]View
	report   Report
	grantees string // "rampart_app, rampart": who to REVOKE from in fixes
}

func newEvaluator(s Snapshot) *evaluator {
	e := &evaluator{s: s, app: s.AppRole, runtime: map[string]bool{"public": true}, tenant: map[Ref]bool{}, views: map[Ref]View{}}
	if e.app == "" {
		e.app = AppRole
	}
	e.runtime[e.app] = true
	if s.Login != "" {
		e.runtime[s.Login] = true
		e.grantees = quoteIdent(e.app) + ", " + quoteIdent(s.Login)
	} else {
		e.grantees = quoteIdent(e.app)
	}
	for _, r := range s.RuntimeRoles {
		e.runtime[r] = true
	}
	for _, t := range s.Tables {
		if isTenant(t) {
			e.tenant[t.Ref()] = true
		}
	}
	for _, v := range s.Views {
		e.views[v.Ref()] = v
	}
	return e
}

func isTenant(t Table) bool { return t.HasOrgColumn || isRoot(t.Ref()) }

// IsTenant reports whether t holds tenant data: it has an organization_id
// column, or it is the tenant root (organizations).
func IsTenant(t Table) bool { return isTenant(t) }

// TenantKey is the column that names t's organization: id for the tenant
// root, organization_id for every other tenant table.
func TenantKey(t Table) string {
	if isRoot(t.Ref()) {
		return "id"
	}
	return OrgColumn
}

func isRoot(r Ref) bool { return r.String() == TenantRoot }

func (e *evaluator) add(kind, object string, check Check, format string, args ...any) {
	e.report.Findings = append(e.report.Findings, Finding{
		Kind: kind, Object: object, Check: check, Severity: SeverityFail,
		Message: fmt.Sprintf(format, args...),
	})
}

// roles checks the login and every role it is a member of.
func (e *evaluator) roles() {
	login := e.s.Login
	var facts *Role
	var members []Role
	for i, r := range e.s.Roles {
		if r.Name == login && facts == nil {
			facts = &e.s.Roles[i]
			continue
		}
		members = append(members, r)
	}
	slices.SortFunc(members, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	if facts == nil {
		e.add(KindRole, login, CheckLoginUnknown,
			"the catalog snapshot has no role facts for the runtime login %q, so its safety is unknown; fix: audit with the login the application uses (DATABASE_URL)", login)
		return
	}
	q := quoteIdent(login)
	if facts.Superuser {
		e.add(KindRole, login, CheckLoginSuperuser,
			"the runtime login is a superuser, which bypasses row-level security on every table; fix: ALTER ROLE %s NOSUPERUSER", q)
	}
	if facts.BypassRLS {
		e.add(KindRole, login, CheckLoginBypassRLS,
			"the runtime login has BYPASSRLS, so no policy applies to it; fix: ALTER ROLE %s NOBYPASSRLS", q)
	}
	if facts.OwnedObjects > 0 {
		e.add(KindRole, login, CheckLoginOwnsObjects,
			"the runtime login owns %s; an owner can disable or bypass row-level security and alter policies; fix: REASSIGN OWNED BY %s TO rampart_owner (in every database)", plural(facts.OwnedObjects, "object"), q)
	}
	if facts.OwnsDatabase {
		e.add(KindRole, login, CheckLoginOwnsDatabase,
			"the runtime login owns the database %q, so it can drop the database and, through pg_database_owner, owns the public schema whose tables it could then drop; fix: ALTER DATABASE %s OWNER TO rampart_owner", e.s.Database, quoteIdent(e.s.Database))
	}
	if facts.CreateRole {
		e.add(KindRole, login, CheckLoginCreateRole,
			"the runtime login has CREATEROLE, so (on PostgreSQL 15 and earlier) it can GRANT itself rampart_owner or %s, or create a role that holds them, and escape row-level security; fix: ALTER ROLE %s NOCREATEROLE", ServiceRole, q)
	}
	if facts.Replication {
		e.add(KindRole, login, CheckLoginReplication,
			"the runtime login has REPLICATION, so it can open a replication connection or a logical decoding slot and read every row of every table, past row-level security; fix: ALTER ROLE %s NOREPLICATION", q)
	}
	appMember := false
	for _, m := range members {
		mq := quoteIdent(m.Name)
		rv, via := revoke(m, q), through(m)
		if m.Name == e.app {
			appMember = true
		}
		if m.Superuser {
			e.add(KindRole, m.Name, CheckMemberSuperuser,
				"the runtime login %s is a member of the superuser role %s%s and can bypass row-level security by SET ROLE; fix: %s", q, mq, via, rv)
		}
		switch {
		case m.BypassRLS && m.Name == ServiceRole:
			e.add(KindRole, m.Name, CheckMemberBypassRLS,
				"the runtime login %s can SET ROLE %s%s (BYPASSRLS)%s and so read and write every organization's rows outside store.AsService and its audit event; the service path has its own login; fix: %s",
				q, mq, via, inheritedSuffix(m.Inherited), rv)
		case m.BypassRLS:
			e.add(KindRole, m.Name, CheckMemberBypassRLS,
				"the runtime login %s is a member of %s%s, which has BYPASSRLS%s, so through SET ROLE it bypasses row-level security; the runtime may reach no BYPASSRLS role; fix: %s (or ALTER ROLE %s NOBYPASSRLS)",
				q, mq, via, inheritedSuffix(m.Inherited), rv, mq)
		}
		if m.CreateRole {
			e.add(KindRole, m.Name, CheckMemberCreateRole,
				"the runtime login %s is a member of %s%s, which has CREATEROLE, so through SET ROLE it can (on PostgreSQL 15 and earlier) GRANT itself rampart_owner or %s and escape row-level security; fix: %s (or ALTER ROLE %s NOCREATEROLE)",
				q, mq, via, ServiceRole, rv, mq)
		}
		if m.Replication {
			e.add(KindRole, m.Name, CheckMemberReplication,
				"the runtime login %s is a member of %s%s, which has REPLICATION, so through SET ROLE it can create a logical decoding slot and read every row of every table, past row-level security; fix: %s (or ALTER ROLE %s NOREPLICATION)",
				q, mq, via, rv, mq)
		}
		if what, ok := ServerAccessRoles[m.Name]; ok {
			e.add(KindRole, m.Name, CheckMemberServerAccess,
				"the runtime login %s is a member of %s%s, which %s, past every grant and policy; fix: %s",
				q, mq, via, what, rv)
		}
		if what, ok := AllDataRoles[m.Name]; ok {
			e.add(KindRole, m.Name, CheckMemberAllData,
				"the runtime login %s is a member of %s%s, which has %s: through SET ROLE every table without row-level security (and every table whose policies name public) is open to it beyond what the migrations grant; fix: %s",
				q, mq, via, what, rv)
		}
		if m.OwnedRelations > 0 || m.OwnsDatabase {
			e.add(KindRole, m.Name, CheckMemberOwner,
				"the runtime login %s is a member of %s%s, which owns %s%s; through SET ROLE it could disable row-level security or alter policies; fix: %s",
				q, mq, via, plural(m.OwnedRelations, "table, view, sequence or schema"), ownsDBSuffix(m.OwnsDatabase), rv)
		}
	}
	if !appMember {
		e.add(KindRole, login, CheckLoginNotAppMember,
			"the runtime login is not a member of %s, the role every store transaction switches to; fix: GRANT %s TO %s", quoteIdent(e.app), quoteIdent(e.app), q)
	}
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// revoke returns the statement that takes m away from the login q: REVOKE
// of the roles granted to the login through which it holds m.
func revoke(m Role, q string) string {
	via := m.GrantedVia
	if len(via) == 0 {
		via = []string{m.Name}
	}
	names := make([]string, len(via))
	for i, v := range via {
		names[i] = quoteIdent(v)
	}
	return "REVOKE " + strings.Join(names, ", ") + " FROM " + q
}

// through names the roles through which the login holds m, when it is not
// granted directly.
func through(m Role) string {
	if len(m.GrantedVia) == 0 || (len(m.GrantedVia) == 1 && m.GrantedVia[0] == m.Name) {
		return ""
	}
	names := make([]string, len(m.GrantedVia))
	for i, v := range m.GrantedVia {
		names[i] = quoteIdent(v)
	}
	return " (through " + strings.Join(names, ", ") + ")"
}

func inheritedSuffix(inherited bool) string {
	if inherited {
		return ", and even holds its privileges without SET ROLE,"
	}
	return ""
}

func ownsDBSuffix(b bool) string {
	if b {
		return " and the database"
	}
	return ""
}

// appliesToRuntime reports whether p is a permissive policy for a role the
// runtime acts as.
func (e *evaluator) appliesToRuntime(p Policy) bool {
	if !p.Permissive {
		return false
	}
	return slices.ContainsFunc(p.Roles, func(r string) bool { return e.runtime[r] })
}

// covers reports whether p lets the runtime use v: the command matches and
// the expression PostgreSQL uses for v is present (a permissive policy
// without it adds nothing, so the verb stays denied).
func covers(p Policy, v verb) bool {
	if p.Command != v.cmd() && p.Command != "*" {
		return false
	}
	if v == verbInsert {
		return p.WithCheck != "" || p.Using != ""
	}
	return p.Using != ""
}

// exprs returns the expressions PostgreSQL evaluates for p's command.
func exprs(p Policy) []string {
	var out []string
	switch p.Command {
	case "r", "d":
		out = []string{p.Using}
	case "a":
		out = []string{p.WithCheck}
	default:
		out = []string{p.Using, p.WithCheck}
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

var tenantFuncRE = regexp.MustCompile(`\b` + TenantFunction + `\s*\(`)

func tenantScoped(p Policy) bool {
	ex := exprs(p)
	if len(ex) == 0 {
		return true // contributes nothing: denies
	}
	for _, x := range ex {
		if !tenantFuncRE.MatchString(x) {
			return false
		}
	}
	return true
}

// alwaysTrue reports whether expr is the constant true, ignoring
// whitespace, parentheses and case.
func alwaysTrue(expr string) bool {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '(', ')':
			return -1
		}
		return r
	}, strings.ToLower(expr))
	return norm == "true"
}

// table checks one table and adds its report row.
func (e *evaluator) table(t Table) {
	ref := t.Ref()
	name := ref.String()
	tn := ref.sql()
	tenant := e.tenant[ref]
	reach := t.Runtime.Any()
	before := len(e.report.Findings)
	row := TableRow{Table: name, Tenant: tenant, OrgColumn: "-", RLS: t.RLSEnabled, Forced: t.RLSForced, PublicGrants: t.PublicGrants}
	if row.PublicGrants == nil {
		row.PublicGrants = []string{}
	}

	var applying []Policy
	for _, p := range t.Policies {
		if e.appliesToRuntime(p) {
			applying = append(applying, p)
		}
	}
	covered := func(v verb) bool {
		return slices.ContainsFunc(applying, func(p Policy) bool { return covers(p, v) })
	}
	_, globalName := GlobalReadOnlyTables[name]
	global := !tenant && globalName
	onlySelect := t.Runtime == (Privileges{Select: true})

	status := func(v verb) string {
		switch {
		case !t.Runtime.has(v):
			return StatusNoGrant
		case global && v == verbSelect:
			return StatusGlobal
		case covered(v):
			return StatusPolicy
		}
		return StatusMissing
	}
	row.Select, row.Insert, row.Update, row.Delete = status(verbSelect), status(verbInsert), status(verbUpdate), status(verbDelete)
	row.Truncate = StatusNoGrant
	if t.Runtime.Truncate {
		row.Truncate = StatusGranted
	}

	key := OrgColumn
	if isRoot(ref) {
		key = "id"
		row.OrgColumn = "id (root)"
	} else if t.HasOrgColumn {
		_, exempt := NullableOrgTables[name]
		switch {
		case t.OrgNotNull:
			row.OrgColumn = "not null"
		case exempt:
			row.OrgColumn = "nullable (exempt)"
		default:
			row.OrgColumn = "NULLABLE"
		}
	}

	// A suggested policy condition for the fix messages.
	cond, infix := "(<condition>)", "_"
	if tenant {
		cond, infix = fmt.Sprintf("(%s = (SELECT %s()))", key, TenantFunction), "_tenant_"
	}

	// Tenant and reachable tables: RLS on, forced, a policy per granted verb, no TRUNCATE.
	protect := func(what, rows string) {
		if !t.RLSEnabled {
			e.add(KindTable, name, CheckRLSDisabled,
				"row-level security is off on %s %s, so the runtime reads and writes %s; fix: ALTER TABLE %s ENABLE ROW LEVEL SECURITY (in a migration, with its policies)", what, name, rows, tn)
		}
		if !t.RLSForced {
			e.add(KindTable, name, CheckRLSNotForced,
				"row-level security is not forced on %s %s, so its owner is exempt from the policies; fix: ALTER TABLE %s FORCE ROW LEVEL SECURITY", what, name, tn)
		}
		for _, v := range verbs {
			if t.Runtime.has(v) && !covered(v) {
				e.add(KindTable, name, CheckPolicyMissing,
					"the runtime holds %s on %s but no permissive %s (or ALL) policy with a %s expression applies to %s; fix: CREATE POLICY %s ON %s FOR %s TO %s %s, or REVOKE %s ON %s FROM %s",
					v, name, v, exprKeyword(v), e.app, quoteIdent(t.Name+infix+strings.ToLower(v.String())), tn, v, quoteIdent(e.app), policyTemplate(v, cond), v, tn, e.grantees)
			}
		}
		if t.Runtime.Truncate {
			e.add(KindTable, name, CheckTruncateGranted,
				"the runtime holds TRUNCATE on %s %s, and TRUNCATE ignores row-level security (one call deletes %s); fix: REVOKE TRUNCATE ON %s FROM %s", what, name, rows, tn, e.grantees)
		}
	}

	switch {
	case tenant:
		protect("tenant table", "every organization's rows")
		if len(t.PublicGrants) > 0 {
			e.add(KindTable, name, CheckPublicGrant,
				"tenant table %s grants %s to PUBLIC, so every role on the cluster holds it; fix: REVOKE ALL ON %s FROM PUBLIC", name, strings.Join(t.PublicGrants, ", "), tn)
		}
		if t.HasOrgColumn && !t.OrgNotNull && !isRoot(ref) {
			if _, exempt := NullableOrgTables[name]; !exempt {
				e.add(KindTable, name, CheckOrgNullable,
					"organization_id of tenant table %s is nullable, so a row can belong to no organization; fix: ALTER TABLE %s ALTER COLUMN organization_id SET NOT NULL (or list the table in rlsaudit.NullableOrgTables with a reason)", name, tn)
			}
		}
		if !slices.Contains(t.IndexLeadingColumns, key) {
			e.add(KindTable, name, CheckOrgIndexMissing,
				"no index of tenant table %s is led by %s, so every policy-filtered statement scans the whole table; fix: CREATE INDEX ON %s (%s, …) or lead the primary key with it", name, key, tn, key)
		}
		for _, p := range applying {
			if !tenantScoped(p) {
				e.add(KindTable, name, CheckPolicyNotTenantScoped,
					"policy %s on tenant table %s applies to the runtime but does not call %s() in its %s, so it is not limited to the caller's organization; fix: add %s = (SELECT %s()) to the policy (ALTER POLICY %s ON %s …)",
					p.Name, name, TenantFunction, exprWords(p), key, TenantFunction, quoteIdent(p.Name), tn)
			}
		}
	case reach && global && onlySelect:
		// A read-only global table: no tenant data, no RLS needed.
	case reach && global:
		e.add(KindTable, name, CheckGlobalTableWritable,
			"the runtime holds %s on %s, a global table it may only read (%s); fix: REVOKE ALL ON %s FROM %s, then GRANT SELECT ON %s TO %s",
			strings.Join(grantedVerbs(t.Runtime), ", "), name, GlobalReadOnlyTables[name], tn, e.grantees, tn, quoteIdent(e.app))
	case reach:
		protect("table", "every row")
	}

	// Every table: policies must be enforced and never be always true.
	if len(t.Policies) > 0 && !t.RLSEnabled {
		names := make([]string, 0, len(t.Policies))
		for _, p := range t.Policies {
			names = append(names, p.Name)
		}
		e.add(KindTable, name, CheckPolicyRLSOff,
			"policy exists on a table whose RLS is off: %s on %s are not enforced; fix: ALTER TABLE %s ENABLE ROW LEVEL SECURITY", strings.Join(names, ", "), name, tn)
	}
	if reach {
		for _, p := range applying {
			if alwaysTrue(p.Using) || alwaysTrue(p.WithCheck) {
				e.add(KindTable, name, CheckPolicyAlwaysTrue,
					"policy %s on %s is always true (USING or WITH CHECK is `true`), and permissive policies are OR-ed, so it opens every row to the runtime; fix: DROP POLICY %s ON %s",
					p.Name, name, quoteIdent(p.Name), tn)
			}
		}
	}

	// The behavioural probe: rows visible without tenant context or to an
	// unknown tenant prove a leak, whatever the policy text says.
	row.Probe = ProbeStatusNone
	var leaks []string
	for _, p := range t.Probes {
		switch {
		case p.Skipped != "":
			if row.ProbeSkipped == "" {
				row.ProbeSkipped = p.Probe + ": " + p.Skipped
			}
		case p.Rows > 0:
			leaks = append(leaks, fmt.Sprintf("%s %s", probeCondition(p.Probe), visibleRows(p.Rows)))
		}
	}
	switch {
	case len(leaks) > 0:
		row.Probe = ProbeStatusLeak
		var names []string
		for _, p := range applying {
			if p.Command == "r" || p.Command == "*" {
				names = append(names, p.Name)
			}
		}
		scope := fmt.Sprintf("%s = (SELECT %s())", key, TenantFunction)
		if !tenant {
			scope = "the caller's user (current_user_id()) or organization (current_user_org_id())"
		}
		e.add(KindTable, name, CheckPolicyLeaksRows,
			"policy leaks rows: reading %s as %s, %s; a row of some organization is visible to a caller outside it (permissive policies are OR-ed, so one branch such as `OR true` or `current_user_org_id() IS NULL OR …` opens the table); fix: make every permissive SELECT (or ALL) policy that applies to %s (%s) match only rows of %s, which matches nothing without claims",
			name, e.app, strings.Join(leaks, "; "), e.app, orNone(names), scope)
	case row.ProbeSkipped != "":
		row.Probe = ProbeStatusSkipped
	case len(t.Probes) > 0:
		row.Probe = ProbeStatusSealed
	}

	row.Verdict = VerdictPass
	if len(e.report.Findings) > before {
		row.Verdict = VerdictFail
	}
	e.report.Tables = append(e.report.Tables, row)
}

func visibleRows(n int64) string {
	if n == 1 {
		return "1 row is visible"
	}
	return fmt.Sprintf("%d rows are visible", n)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none found"
	}
	return strings.Join(names, ", ")
}

func exprKeyword(v verb) string {
	if v == verbInsert {
		return "WITH CHECK"
	}
	return "USING"
}

func exprWords(p Policy) string {
	switch p.Command {
	case "r", "d":
		return "USING expression"
	case "a":
		return "WITH CHECK expression"
	}
	return "USING and WITH CHECK expressions"
}

// policyTemplate returns the expressions of a policy for v with condition cond.
func policyTemplate(v verb, cond string) string {
	switch v {
	case verbInsert:
		return "WITH CHECK " + cond
	case verbUpdate:
		return "USING " + cond + " WITH CHECK " + cond
	}
	return "USING " + cond
}

func grantedVerbs(p Privileges) []string {
	var out []string
	for _, v := range verbs {
		if p.has(v) {
			out = append(out, v.String())
		}
	}
	if p.Truncate {
		out = append(out, "TRUNCATE")
	}
	return out
}

// function checks a SECURITY DEFINER function.
func (e *evaluator) function(f Function) {
	if !f.SearchPathSet {
		e.add(KindFunction, f.String(), CheckSecDefNoSearchPath,
			"SECURITY DEFINER function %s runs with %s's rights but has no fixed search_path, so a caller can shadow the objects it uses; fix: ALTER FUNCTION %s SET search_path = pg_catalog, public, pg_temp (or make it SECURITY INVOKER)",
			f.String(), f.Owner, f.sql())
		return
	}
	// PostgreSQL searches the session's temporary schema before every
	// listed schema unless search_path names pg_temp, so a caller's
	// temporary table shadows an unqualified table the function reads;
	// listing pg_temp anywhere but last shadows the schemas after it.
	path := searchPath(f.SearchPath)
	i := slices.Index(path, "pg_temp")
	if i >= 0 && i == len(path)-1 {
		return
	}
	var kept []string
	for _, raw := range strings.Split(f.SearchPath, ",") {
		if raw = strings.TrimSpace(raw); raw != "" && raw != `""` && unquoteSchema(raw) != "pg_temp" {
			kept = append(kept, raw)
		}
	}
	if len(kept) == 0 {
		kept = []string{"pg_catalog"}
	}
	fix := strings.Join(append(kept, "pg_temp"), ", ")
	problem := "does not list pg_temp, and PostgreSQL then searches the caller's temporary schema first"
	if i >= 0 {
		problem = "lists pg_temp before " + strings.Join(path[i+1:], ", ") + ", which are then searched after the caller's temporary schema"
	}
	e.add(KindFunction, f.String(), CheckSecDefTempFirst,
		"SECURITY DEFINER function %s runs with %s's rights; its search_path (%s) %s, so a caller's temporary table can shadow a table it reads; fix: ALTER FUNCTION %s SET search_path = %s",
		f.String(), f.Owner, f.SearchPath, problem, f.sql(), fix)
}

// searchPath returns the schema names of a search_path setting as
// PostgreSQL reads them: unquoted names folded to lower case, quoted ones
// verbatim.
func searchPath(setting string) []string {
	var out []string
	for _, raw := range strings.Split(setting, ",") {
		if raw = strings.TrimSpace(raw); raw != "" {
			out = append(out, unquoteSchema(raw))
		}
	}
	return out
}

func unquoteSchema(raw string) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return strings.ReplaceAll(raw[1:len(raw)-1], `""`, `"`)
	}
	return strings.ToLower(raw)
}

// view checks a view or materialized view.
func (e *evaluator) view(v View) {
	tenants := e.tenantSources(v)
	if len(tenants) == 0 {
		return
	}
	name := v.Ref().String()
	over := strings.Join(tenants, ", ")
	switch {
	case v.Materialized && v.RuntimeSelect:
		e.add(KindView, name, CheckMatViewTenantData,
			"materialized view %s copies rows of tenant table %s, has no row-level security and the runtime can read it, so every organization's rows leak; fix: REVOKE SELECT ON %s FROM %s (read tenant data through the table or a security_invoker view)",
			name, over, v.Ref().sql(), e.grantees)
	case !v.Materialized && !v.SecurityInvoker:
		e.add(KindView, name, CheckViewNotSecurityInvoker,
			"view %s reads tenant table %s with its owner's rights, so the caller's row-level security does not apply; fix: ALTER VIEW %s SET (security_invoker = true)",
			name, over, v.Ref().sql())
	}
}

// tenantSources returns the tenant tables v reads, through other views too.
func (e *evaluator) tenantSources(v View) []string {
	seen := map[Ref]bool{v.Ref(): true}
	var out []string
	var walk func(deps []Ref)
	walk = func(deps []Ref) {
		for _, d := range deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			if e.tenant[d] {
				out = append(out, d.String())
			}
			if inner, ok := e.views[d]; ok {
				walk(inner.DependsOn)
			}
		}
	}
	walk(v.DependsOn)
	slices.Sort(out)
	return out
}

var plainIdentRE = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// quoteIdent quotes s for a fix statement when it is not a plain identifier.
func quoteIdent(s string) string {
	if plainIdentRE.MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
