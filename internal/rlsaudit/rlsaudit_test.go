package rlsaudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

const scoped = "(organization_id = ( SELECT current_user_org_id() AS current_user_org_id))"

func tenantPolicies(table string, cmds ...string) []Policy {
	names := map[string]string{"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}
	var out []Policy
	for _, c := range cmds {
		p := Policy{Name: table + "_tenant_" + names[c], Command: c, Roles: []string{AppRole}, Permissive: true}
		switch c {
		case "r", "d":
			p.Using = scoped
		case "a":
			p.WithCheck = scoped
		default:
			p.Using, p.WithCheck = scoped, scoped
		}
		out = append(out, p)
	}
	return out
}

// sealed returns the probe results of a table no probe sees a row of.
func sealed() []ProbeResult {
	out := make([]ProbeResult, 0, len(Probes))
	for _, p := range Probes {
		out = append(out, ProbeResult{Probe: p})
	}
	return out
}

// goodSnapshot mirrors a freshly migrated database after the service path
// moved to its own login: the runtime login is a member of rampart_app
// only. It passes the audit.
func goodSnapshot() Snapshot {
	all := Privileges{Select: true, Insert: true, Update: true, Delete: true}
	return Snapshot{
		Database:     "rampart",
		Login:        "rampart",
		AppRole:      AppRole,
		RuntimeRoles: []string{AppRole, "rampart"},
		Roles: []Role{
			{Name: "rampart", Inherited: true},
			{Name: AppRole},
		},
		Tables: []Table{
			{Schema: "public", Name: "organizations", RLSEnabled: true, RLSForced: true,
				Policies: []Policy{
					{Name: "organizations_tenant_select", Command: "r", Roles: []string{AppRole}, Permissive: true, Using: "(id = ( SELECT current_user_org_id() AS current_user_org_id))"},
					{Name: "organizations_tenant_update", Command: "w", Roles: []string{AppRole}, Permissive: true, Using: "(id = ( SELECT current_user_org_id() AS current_user_org_id))", WithCheck: "(id = ( SELECT current_user_org_id() AS current_user_org_id))"},
				},
				Runtime: Privileges{Select: true, Update: true}, IndexLeadingColumns: []string{"id", "slug"}, Probes: sealed()},
			{Schema: "public", Name: "venues", HasOrgColumn: true, OrgNotNull: true, RLSEnabled: true, RLSForced: true,
				Policies: tenantPolicies("venues", "r", "a", "w", "d"), Runtime: all, IndexLeadingColumns: []string{"organization_id"}, Probes: sealed()},
			{Schema: "public", Name: "memberships", HasOrgColumn: true, OrgNotNull: true, RLSEnabled: true, RLSForced: true,
				Policies: tenantPolicies("memberships", "r", "a", "w", "d"), Runtime: all, IndexLeadingColumns: []string{"organization_id", "user_id"}, Probes: sealed()},
			{Schema: "public", Name: "audit_events", HasOrgColumn: true, RLSEnabled: true, RLSForced: true,
				Policies: tenantPolicies("audit_events", "r", "a"), Runtime: Privileges{Select: true, Insert: true}, IndexLeadingColumns: []string{"id", "organization_id"}, Probes: sealed()},
			{Schema: "public", Name: "users", RLSEnabled: true, RLSForced: true,
				Policies: []Policy{
					{Name: "users_member_select", Command: "r", Roles: []string{AppRole}, Permissive: true, Using: "((id = ( SELECT current_user_id() AS current_user_id)) OR (EXISTS ( SELECT 1 FROM memberships m)))"},
					{Name: "users_self_update", Command: "w", Roles: []string{AppRole}, Permissive: true, Using: "(id = ( SELECT current_user_id() AS current_user_id))", WithCheck: "(id = ( SELECT current_user_id() AS current_user_id))"},
				},
				Runtime: Privileges{Select: true, Update: true}, IndexLeadingColumns: []string{"email", "id"}, Probes: sealed()},
			{Schema: "public", Name: "rampart_schema_version", Runtime: Privileges{Select: true}},
		},
		Functions: []Function{
			{Schema: "public", Name: "safe_definer", Args: "x uuid", Owner: "rampart_owner", SearchPathSet: true, SearchPath: "pg_catalog, public, pg_temp"},
		},
		Views: []View{
			{Schema: "public", Name: "venue_list", SecurityInvoker: true, RuntimeSelect: true, DependsOn: []Ref{{"public", "venues"}}},
			{Schema: "public", Name: "user_names", RuntimeSelect: true, DependsOn: []Ref{{"public", "users"}}},
			{Schema: "public", Name: "venue_stats", Materialized: true, DependsOn: []Ref{{"public", "venues"}}},
		},
	}
}

func table(s *Snapshot, name string) *Table {
	for i := range s.Tables {
		if s.Tables[i].Ref().String() == name {
			return &s.Tables[i]
		}
	}
	panic("no table " + name) // a broken test fixture, not a code path
}

func role(s *Snapshot, name string) *Role {
	for i := range s.Roles {
		if s.Roles[i].Name == name {
			return &s.Roles[i]
		}
	}
	panic("no role " + name)
}

func dropPolicy(t *Table, name string) {
	t.Policies = slices.DeleteFunc(t.Policies, func(p Policy) bool { return p.Name == name })
}

type want struct {
	check  Check
	object string
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *Snapshot)
		want   []want // exactly these findings; none means the audit passes
	}{
		{"fresh database", func(*Snapshot) {}, nil},

		// a. tenant tables
		{"rls disabled", func(s *Snapshot) { table(s, "venues").RLSEnabled = false },
			[]want{{CheckRLSDisabled, "venues"}, {CheckPolicyRLSOff, "venues"}}},
		{"rls not forced", func(s *Snapshot) { table(s, "venues").RLSForced = false },
			[]want{{CheckRLSNotForced, "venues"}}},
		{"tenant root not forced", func(s *Snapshot) { table(s, "organizations").RLSForced = false },
			[]want{{CheckRLSNotForced, "organizations"}}},
		{"delete policy dropped", func(s *Snapshot) { dropPolicy(table(s, "venues"), "venues_tenant_delete") },
			[]want{{CheckPolicyMissing, "venues"}}},
		{"dropped policy of an ungranted verb", func(s *Snapshot) {
			tb := table(s, "venues")
			dropPolicy(tb, "venues_tenant_delete")
			tb.Runtime.Delete = false
		}, nil},
		{"only a restrictive policy", func(s *Snapshot) { table(s, "venues").Policies[0].Permissive = false },
			[]want{{CheckPolicyMissing, "venues"}}},
		{"policy for another role", func(s *Snapshot) { table(s, "venues").Policies[0].Roles = []string{ServiceRole} },
			[]want{{CheckPolicyMissing, "venues"}}},
		{"select policy without USING", func(s *Snapshot) { table(s, "venues").Policies[0].Using = "" },
			[]want{{CheckPolicyMissing, "venues"}}},
		{"insert policy without WITH CHECK", func(s *Snapshot) { table(s, "venues").Policies[1].WithCheck = "" },
			[]want{{CheckPolicyMissing, "venues"}}},
		{"one ALL policy covers every verb", func(s *Snapshot) { table(s, "venues").Policies = tenantPolicies("venues", "*") }, nil},
		{"policy to public", func(s *Snapshot) {
			for i := range table(s, "venues").Policies {
				table(s, "venues").Policies[i].Roles = []string{"public"}
			}
		}, nil},
		{"policy to the login", func(s *Snapshot) { table(s, "venues").Policies[0].Roles = []string{"rampart"} }, nil},
		{"policy to a role the app role inherits", func(s *Snapshot) {
			s.RuntimeRoles = append(s.RuntimeRoles, "tenant_readers")
			table(s, "venues").Policies[0].Roles = []string{"tenant_readers"}
		}, nil},
		{"app role named in the snapshot", func(s *Snapshot) {
			s.AppRole, s.RuntimeRoles = "app2", []string{"app2"}
			role(s, AppRole).Name = "app2"
			for i := range s.Tables {
				for j := range s.Tables[i].Policies {
					s.Tables[i].Policies[j].Roles = []string{"app2"}
				}
			}
		}, nil},
		{"truncate granted", func(s *Snapshot) { table(s, "venues").Runtime.Truncate = true },
			[]want{{CheckTruncateGranted, "venues"}}},
		{"grant to public", func(s *Snapshot) { table(s, "venues").PublicGrants = []string{"SELECT"} },
			[]want{{CheckPublicGrant, "venues"}}},
		{"nullable organization", func(s *Snapshot) { table(s, "venues").OrgNotNull = false },
			[]want{{CheckOrgNullable, "venues"}}},
		{"nullable organization exempt", func(s *Snapshot) { table(s, "audit_events").OrgNotNull = false }, nil},
		{"no index led by organization_id", func(s *Snapshot) { table(s, "venues").IndexLeadingColumns = []string{"id"} },
			[]want{{CheckOrgIndexMissing, "venues"}}},
		{"tenant root without its id index", func(s *Snapshot) { table(s, "organizations").IndexLeadingColumns = []string{"slug"} },
			[]want{{CheckOrgIndexMissing, "organizations"}}},
		{"select policy not tenant scoped", func(s *Snapshot) { table(s, "venues").Policies[0].Using = "(city <> ''::text)" },
			[]want{{CheckPolicyNotTenantScoped, "venues"}}},
		{"insert policy not tenant scoped", func(s *Snapshot) { table(s, "venues").Policies[1].WithCheck = "(city <> ''::text)" },
			[]want{{CheckPolicyNotTenantScoped, "venues"}}},
		{"update WITH CHECK not tenant scoped", func(s *Snapshot) { table(s, "venues").Policies[2].WithCheck = "(city <> ''::text)" },
			[]want{{CheckPolicyNotTenantScoped, "venues"}}},
		{"schema-qualified tenant function", func(s *Snapshot) {
			table(s, "venues").Policies[0].Using = "(organization_id = ( SELECT public.current_user_org_id() AS current_user_org_id))"
		}, nil},
		{"unscoped restrictive policy is harmless", func(s *Snapshot) {
			tb := table(s, "venues")
			tb.Policies = append(tb.Policies, Policy{Name: "only_open", Command: "r", Roles: []string{AppRole}, Using: "(city <> ''::text)"})
		}, nil},
		{"unscoped policy for another role is harmless", func(s *Snapshot) {
			tb := table(s, "venues")
			tb.Policies = append(tb.Policies, Policy{Name: "svc", Command: "*", Roles: []string{ServiceRole}, Permissive: true, Using: "true"})
		}, nil},
		{"new tenant table without protection", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "gadgets", HasOrgColumn: true, OrgNotNull: true, Runtime: Privileges{Select: true}})
		}, []want{{CheckRLSDisabled, "gadgets"}, {CheckRLSNotForced, "gadgets"}, {CheckPolicyMissing, "gadgets"}, {CheckOrgIndexMissing, "gadgets"}}},
		{"tenant table in another schema", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "extra", Name: "notes", HasOrgColumn: true, OrgNotNull: true,
				RLSEnabled: true, RLSForced: true, IndexLeadingColumns: []string{"organization_id"}, PublicGrants: []string{"SELECT"}})
		}, []want{{CheckPublicGrant, "extra.notes"}}},
		{"global name with tenant data is a tenant table", func(s *Snapshot) { table(s, "rampart_schema_version").HasOrgColumn = true },
			[]want{{CheckRLSDisabled, "rampart_schema_version"}, {CheckRLSNotForced, "rampart_schema_version"},
				{CheckPolicyMissing, "rampart_schema_version"}, {CheckOrgNullable, "rampart_schema_version"}, {CheckOrgIndexMissing, "rampart_schema_version"}}},

		// b. policies that are not enforced or always true
		{"policies on an unreachable table whose RLS is off", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "notes", Policies: []Policy{{Name: "n", Command: "r", Roles: []string{"public"}, Permissive: true, Using: "false"}}})
		}, []want{{CheckPolicyRLSOff, "notes"}}},
		{"always-true policy", func(s *Snapshot) {
			tb := table(s, "venues")
			tb.Policies = append(tb.Policies, Policy{Name: "leak", Command: "r", Roles: []string{AppRole}, Permissive: true, Using: " ( TRUE ) "})
		}, []want{{CheckPolicyAlwaysTrue, "venues"}, {CheckPolicyNotTenantScoped, "venues"}}},
		{"always-true WITH CHECK", func(s *Snapshot) { table(s, "users").Policies[1].WithCheck = "true" },
			[]want{{CheckPolicyAlwaysTrue, "users"}}},
		{"always-true policy on an unreachable table", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "notes", RLSEnabled: true, RLSForced: true,
				Policies: []Policy{{Name: "n", Command: "r", Roles: []string{"public"}, Permissive: true, Using: "true"}}})
		}, nil},

		// b2. the behavioural probe
		{"probe sees rows without tenant context", func(s *Snapshot) { table(s, "venues").Probes[0].Rows = 3 },
			[]want{{CheckPolicyLeaksRows, "venues"}}},
		{"probe sees rows as an unknown admin", func(s *Snapshot) { table(s, "memberships").Probes[1].Rows = 1 },
			[]want{{CheckPolicyLeaksRows, "memberships"}}},
		{"probe sees rows as an unknown user without role", func(s *Snapshot) { table(s, "organizations").Probes[2].Rows = 1 },
			[]want{{CheckPolicyLeaksRows, "organizations"}}},
		{"probe sees rows with empty claims", func(s *Snapshot) { table(s, "audit_events").Probes[3].Rows = 7 },
			[]want{{CheckPolicyLeaksRows, "audit_events"}}},
		{"probe sees users without tenant context", func(s *Snapshot) { table(s, "users").Probes[0].Rows = 2 },
			[]want{{CheckPolicyLeaksRows, "users"}}},
		{"probe sees rows of an unreachable table", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "sessions", RLSEnabled: true, RLSForced: true,
				Probes: []ProbeResult{{Probe: ProbeNoClaims, Rows: 1}}})
		}, []want{{CheckPolicyLeaksRows, "sessions"}}},
		{"probe skipped is no finding", func(s *Snapshot) {
			tb := table(s, "venues")
			for i := range tb.Probes {
				tb.Probes[i].Skipped = "permission denied for table venues (SQLSTATE 42501)"
			}
		}, nil},
		{"unprobed table is no finding", func(s *Snapshot) { table(s, "venues").Probes = nil }, nil},

		// c. non-tenant tables
		{"reachable non-tenant table without rls", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "settings", Runtime: Privileges{Select: true, Update: true}})
		}, []want{{CheckRLSDisabled, "settings"}, {CheckRLSNotForced, "settings"}, {CheckPolicyMissing, "settings"}, {CheckPolicyMissing, "settings"}}},
		{"unreachable non-tenant table", func(s *Snapshot) { s.Tables = append(s.Tables, Table{Schema: "public", Name: "settings"}) }, nil},
		{"non-tenant policy missing", func(s *Snapshot) { dropPolicy(table(s, "users"), "users_self_update") },
			[]want{{CheckPolicyMissing, "users"}}},
		{"truncate on a non-tenant table", func(s *Snapshot) { table(s, "users").Runtime.Truncate = true },
			[]want{{CheckTruncateGranted, "users"}}},
		{"writable global table", func(s *Snapshot) { table(s, "rampart_schema_version").Runtime.Insert = true },
			[]want{{CheckGlobalTableWritable, "rampart_schema_version"}}},
		{"unlisted read-only table", func(s *Snapshot) {
			s.Tables = append(s.Tables, Table{Schema: "public", Name: "countries", Runtime: Privileges{Select: true}})
		}, []want{{CheckRLSDisabled, "countries"}, {CheckRLSNotForced, "countries"}, {CheckPolicyMissing, "countries"}}},

		// d. functions and views
		{"security definer without search_path", func(s *Snapshot) { s.Functions[0].SearchPathSet, s.Functions[0].SearchPath = false, "" },
			[]want{{CheckSecDefNoSearchPath, "safe_definer(x uuid)"}}},
		{"security definer search_path without pg_temp", func(s *Snapshot) { s.Functions[0].SearchPath = "pg_catalog, public" },
			[]want{{CheckSecDefTempFirst, "safe_definer(x uuid)"}}},
		{"security definer search_path with pg_temp first", func(s *Snapshot) { s.Functions[0].SearchPath = "pg_temp, pg_catalog, public" },
			[]want{{CheckSecDefTempFirst, "safe_definer(x uuid)"}}},
		{"security definer search_path with pg_temp in the middle", func(s *Snapshot) { s.Functions[0].SearchPath = "pg_catalog, pg_temp, public" },
			[]want{{CheckSecDefTempFirst, "safe_definer(x uuid)"}}},
		{"security definer empty search_path", func(s *Snapshot) { s.Functions[0].SearchPath = `""` },
			[]want{{CheckSecDefTempFirst, "safe_definer(x uuid)"}}},
		{"security definer with a schema named like pg_temp", func(s *Snapshot) { s.Functions[0].SearchPath = `pg_catalog, "PG_TEMP"` },
			[]want{{CheckSecDefTempFirst, "safe_definer(x uuid)"}}},
		{"security definer search_path pg_temp last, any spelling", func(s *Snapshot) { s.Functions[0].SearchPath = `pg_catalog,PG_TEMP` }, nil},
		{"security definer search_path quoted pg_temp last", func(s *Snapshot) { s.Functions[0].SearchPath = `"$user", public, "pg_temp"` }, nil},
		{"view without security_invoker", func(s *Snapshot) { s.Views[0].SecurityInvoker = false },
			[]want{{CheckViewNotSecurityInvoker, "venue_list"}}},
		{"unreadable view without security_invoker still fails", func(s *Snapshot) { s.Views[0].SecurityInvoker, s.Views[0].RuntimeSelect = false, false },
			[]want{{CheckViewNotSecurityInvoker, "venue_list"}}},
		{"view over a definer view over a tenant table", func(s *Snapshot) {
			s.Views = append(s.Views, View{Schema: "public", Name: "outer_view", SecurityInvoker: true, DependsOn: []Ref{{"public", "inner_view"}}},
				View{Schema: "public", Name: "inner_view", DependsOn: []Ref{{"public", "memberships"}}})
		}, []want{{CheckViewNotSecurityInvoker, "inner_view"}}},
		{"definer view over an invoker view over a tenant table", func(s *Snapshot) {
			s.Views = append(s.Views, View{Schema: "public", Name: "outer_view", DependsOn: []Ref{{"public", "venue_list"}}})
		}, []want{{CheckViewNotSecurityInvoker, "outer_view"}}},
		{"view over the tenant root", func(s *Snapshot) {
			s.Views = append(s.Views, View{Schema: "public", Name: "org_names", DependsOn: []Ref{{"public", "organizations"}}})
		}, []want{{CheckViewNotSecurityInvoker, "org_names"}}},
		{"readable materialized view of tenant data", func(s *Snapshot) { s.Views[2].RuntimeSelect = true },
			[]want{{CheckMatViewTenantData, "venue_stats"}}},

		// e. roles
		{"login superuser", func(s *Snapshot) { role(s, "rampart").Superuser = true }, []want{{CheckLoginSuperuser, "rampart"}}},
		{"login bypassrls", func(s *Snapshot) { role(s, "rampart").BypassRLS = true }, []want{{CheckLoginBypassRLS, "rampart"}}},
		{"login owns objects", func(s *Snapshot) { role(s, "rampart").OwnedObjects = 3 }, []want{{CheckLoginOwnsObjects, "rampart"}}},
		{"login owns the database", func(s *Snapshot) { role(s, "rampart").OwnsDatabase = true }, []want{{CheckLoginOwnsDatabase, "rampart"}}},
		{"login not a member of the app role", func(s *Snapshot) {
			s.Roles = slices.DeleteFunc(s.Roles, func(r Role) bool { return r.Name == AppRole })
		}, []want{{CheckLoginNotAppMember, "rampart"}}},
		{"member of a superuser role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "admins", Superuser: true}) },
			[]want{{CheckMemberSuperuser, "admins"}}},
		{"member of another bypassrls role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "etl", BypassRLS: true}) },
			[]want{{CheckMemberBypassRLS, "etl"}}},
		{"member of the service role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: ServiceRole, BypassRLS: true}) },
			[]want{{CheckMemberBypassRLS, ServiceRole}}},
		{"service role inherited", func(s *Snapshot) {
			s.Roles = append(s.Roles, Role{Name: ServiceRole, BypassRLS: true, Inherited: true})
		},
			[]want{{CheckMemberBypassRLS, ServiceRole}}},
		{"login createrole", func(s *Snapshot) { role(s, "rampart").CreateRole = true }, []want{{CheckLoginCreateRole, "rampart"}}},
		{"login replication", func(s *Snapshot) { role(s, "rampart").Replication = true }, []want{{CheckLoginReplication, "rampart"}}},
		{"member of a createrole role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "role_admins", CreateRole: true}) },
			[]want{{CheckMemberCreateRole, "role_admins"}}},
		{"app role has createrole", func(s *Snapshot) { role(s, AppRole).CreateRole = true },
			[]want{{CheckMemberCreateRole, AppRole}}},
		{"member of a replication role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "replicator", Replication: true}) },
			[]want{{CheckMemberReplication, "replicator"}}},
		{"member of pg_execute_server_program", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_execute_server_program"}) },
			[]want{{CheckMemberServerAccess, "pg_execute_server_program"}}},
		{"member of pg_read_server_files", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_read_server_files"}) },
			[]want{{CheckMemberServerAccess, "pg_read_server_files"}}},
		{"member of pg_write_server_files", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_write_server_files"}) },
			[]want{{CheckMemberServerAccess, "pg_write_server_files"}}},
		{"member of pg_read_all_data", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_read_all_data"}) },
			[]want{{CheckMemberAllData, "pg_read_all_data"}}},
		{"member of pg_write_all_data", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_write_all_data"}) },
			[]want{{CheckMemberAllData, "pg_write_all_data"}}},
		{"a login role named like a predefined role is still the login", func(s *Snapshot) {
			s.Login = "pg_read_all_data"
			role(s, "rampart").Name = "pg_read_all_data"
		}, nil},
		{"member of an owner role", func(s *Snapshot) {
			s.Roles = append(s.Roles, Role{Name: "rampart_owner", OwnedObjects: 12, OwnedRelations: 12})
		},
			[]want{{CheckMemberOwner, "rampart_owner"}}},
		{"member of the database owner", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "dba", OwnsDatabase: true}) },
			[]want{{CheckMemberOwner, "dba"}}},
		{"app role owns a table", func(s *Snapshot) { r := role(s, AppRole); r.OwnedObjects, r.OwnedRelations = 1, 1 },
			[]want{{CheckMemberOwner, AppRole}}},
		{"member of a harmless role", func(s *Snapshot) { s.Roles = append(s.Roles, Role{Name: "pg_read_all_stats"}) }, nil},
		{"no facts for the login", func(s *Snapshot) { s.Roles = nil }, []want{{CheckLoginUnknown, "rampart"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSnapshot()
			tc.mutate(&s)
			r := Evaluate(s)
			var got []want
			for _, f := range r.Findings {
				got = append(got, want{f.Check, f.Object})
				if f.Severity != SeverityFail || f.Message == "" || !strings.Contains(f.Message, "fix:") {
					t.Errorf("finding %+v: want severity fail and a message with a fix", f)
				}
			}
			key := func(w want) string { return string(w.check) + " " + w.object }
			sortWants := func(ws []want) []string {
				out := make([]string, 0, len(ws))
				for _, w := range ws {
					out = append(out, key(w))
				}
				slices.Sort(out)
				return out
			}
			if g, w := sortWants(got), sortWants(tc.want); !slices.Equal(g, w) {
				t.Errorf("findings = %q, want %q", g, w)
			}
			if r.OK() != (len(tc.want) == 0) {
				t.Errorf("OK() = %v with %d findings", r.OK(), len(r.Findings))
			}
			for _, row := range r.Tables {
				failed := slices.ContainsFunc(tc.want, func(w want) bool { return w.object == row.Table })
				if (row.Verdict == VerdictFail) != failed {
					t.Errorf("row %s verdict = %s", row.Table, row.Verdict)
				}
			}
			if t.Failed() {
				var b bytes.Buffer
				_ = r.WriteText(&b)
				t.Log("\n" + b.String())
			}
		})
	}
}

func TestEvaluateRows(t *testing.T) {
	s := goodSnapshot()
	tb := table(&s, "venues")
	dropPolicy(tb, "venues_tenant_delete")
	tb.Runtime.Truncate = true
	tb.PublicGrants = []string{"SELECT"}
	table(&s, "venues").RLSForced = false
	table(&s, "organizations").Probes[2].Rows = 4
	table(&s, "audit_events").Probes[1].Skipped = "canceled"
	table(&s, "audit_events").Probes[3].Skipped = "later"
	r := Evaluate(s)
	rows := map[string]TableRow{}
	var order []string
	for _, row := range r.Tables {
		rows[row.Table] = row
		order = append(order, row.Table)
	}
	if !slices.IsSorted(order) {
		t.Errorf("rows not sorted: %v", order)
	}
	cases := map[string]TableRow{
		"venues": {Table: "venues", Tenant: true, OrgColumn: "not null", RLS: true, Forced: false,
			Select: StatusPolicy, Insert: StatusPolicy, Update: StatusPolicy, Delete: StatusMissing, Truncate: StatusGranted,
			PublicGrants: []string{"SELECT"}, Probe: ProbeStatusSealed, Verdict: VerdictFail},
		"organizations": {Table: "organizations", Tenant: true, OrgColumn: "id (root)", RLS: true, Forced: true,
			Select: StatusPolicy, Insert: StatusNoGrant, Update: StatusPolicy, Delete: StatusNoGrant, Truncate: StatusNoGrant,
			PublicGrants: []string{}, Probe: ProbeStatusLeak, Verdict: VerdictFail},
		"audit_events": {Table: "audit_events", Tenant: true, OrgColumn: "nullable (exempt)", RLS: true, Forced: true,
			Select: StatusPolicy, Insert: StatusPolicy, Update: StatusNoGrant, Delete: StatusNoGrant, Truncate: StatusNoGrant,
			PublicGrants: []string{}, Probe: ProbeStatusSkipped, ProbeSkipped: "foreign-org-admin: canceled", Verdict: VerdictPass},
		"rampart_schema_version": {Table: "rampart_schema_version", OrgColumn: "-",
			Select: StatusGlobal, Insert: StatusNoGrant, Update: StatusNoGrant, Delete: StatusNoGrant, Truncate: StatusNoGrant,
			PublicGrants: []string{}, Probe: ProbeStatusNone, Verdict: VerdictPass},
	}
	for name, w := range cases {
		if g := rows[name]; fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("row %s =\n %+v\nwant\n %+v", name, g, w)
		}
	}
	s = goodSnapshot()
	table(&s, "venues").OrgNotNull = false
	if got := Evaluate(s).Tables; !slices.ContainsFunc(got, func(r TableRow) bool { return r.Table == "venues" && r.OrgColumn == "NULLABLE" }) {
		t.Errorf("nullable organization_id not shown: %+v", got)
	}
}

func TestFindingsNameTheFix(t *testing.T) {
	s := goodSnapshot()
	s.Tables = append(s.Tables, Table{Schema: "Odd Schema", Name: `we"ird`, HasOrgColumn: true, OrgNotNull: true, Runtime: Privileges{Truncate: true}})
	r := Evaluate(s)
	var msgs []string
	for _, f := range r.Findings {
		if f.Object != `Odd Schema.we"ird` {
			t.Errorf("finding on %q, want the qualified name", f.Object)
		}
		msgs = append(msgs, f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, fix := range []string{
		`ALTER TABLE "Odd Schema"."we""ird" ENABLE ROW LEVEL SECURITY`,
		`ALTER TABLE "Odd Schema"."we""ird" FORCE ROW LEVEL SECURITY`,
		`REVOKE TRUNCATE ON "Odd Schema"."we""ird" FROM rampart_app, rampart`,
		`CREATE INDEX ON "Odd Schema"."we""ird" (organization_id, …)`,
	} {
		if !strings.Contains(all, fix) {
			t.Errorf("no fix %q in:\n%s", fix, all)
		}
	}

	s = goodSnapshot()
	s.Functions[0].SearchPathSet, s.Functions[0].SearchPath = false, ""
	s.Functions = append(s.Functions,
		Function{Schema: "public", Name: "no_temp", Owner: "rampart_owner", SearchPathSet: true, SearchPath: `pg_catalog, "App"`},
		Function{Schema: "public", Name: "temp_first", Owner: "rampart_owner", SearchPathSet: true, SearchPath: "pg_temp, pg_catalog, public"},
		Function{Schema: "public", Name: "empty_path", Owner: "rampart_owner", SearchPathSet: true, SearchPath: `""`})
	s.Roles = append(s.Roles, Role{Name: ServiceRole, BypassRLS: true}, Role{Name: "pg_read_server_files", GrantedVia: []string{"pg_read_server_files"}},
		Role{Name: "etl", BypassRLS: true, GrantedVia: []string{"Loaders", "ops"}})
	role(&s, "rampart").CreateRole = true
	table(&s, "venues").Policies = append(table(&s, "venues").Policies,
		Policy{Name: "leak", Command: "r", Roles: []string{AppRole}, Permissive: true, Using: "((organization_id = ( SELECT current_user_org_id() AS current_user_org_id)) OR true)"})
	table(&s, "venues").Probes[0].Rows = 1
	table(&s, "venues").Probes[1].Rows = 5
	msgs = msgs[:0]
	for _, f := range Evaluate(s).Findings {
		msgs = append(msgs, f.Message)
	}
	all = strings.Join(msgs, "\n")
	for _, fix := range []string{
		"ALTER FUNCTION safe_definer(x uuid) SET search_path = pg_catalog, public, pg_temp (or make it SECURITY INVOKER)",
		`its search_path (pg_catalog, "App") does not list pg_temp, and PostgreSQL then searches the caller's temporary schema first`,
		`fix: ALTER FUNCTION no_temp() SET search_path = pg_catalog, "App", pg_temp`,
		"lists pg_temp before pg_catalog, public",
		"fix: ALTER FUNCTION temp_first() SET search_path = pg_catalog, public, pg_temp",
		"fix: ALTER FUNCTION empty_path() SET search_path = pg_catalog, pg_temp",
		"the runtime login rampart can SET ROLE rampart_service (BYPASSRLS)",
		"the service path has its own login; fix: REVOKE rampart_service FROM rampart",
		"fix: REVOKE pg_read_server_files FROM rampart",
		`the runtime login rampart is a member of etl (through "Loaders", ops), which has BYPASSRLS`,
		`fix: REVOKE "Loaders", ops FROM rampart (or ALTER ROLE etl NOBYPASSRLS)`,
		"fix: ALTER ROLE rampart NOCREATEROLE",
		"with no tenant context 1 row is visible; with the claims of an unknown organization and user (role admin) 5 rows are visible;",
		"SELECT (or ALL) policy that applies to rampart_app (venues_tenant_select, leak)",
	} {
		if !strings.Contains(all, fix) {
			t.Errorf("no %q in:\n%s", fix, all)
		}
	}

	s = goodSnapshot()
	dropPolicy(table(&s, "venues"), "venues_tenant_insert")
	r = Evaluate(s)
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Message,
		"CREATE POLICY venues_tenant_insert ON venues FOR INSERT TO rampart_app WITH CHECK (organization_id = (SELECT current_user_org_id()))") {
		t.Errorf("policy-missing fix = %+v", r.Findings)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	r := Evaluate(goodSnapshot())
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "rls-audit: PASS (6 tables, 0 findings)" {
		t.Errorf("summary = %q", last)
	}
	// The table is aligned: every column header starts where its cells do.
	var header, venues string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "TABLE"):
			header = l
		case strings.HasPrefix(l, "venues "):
			venues = l
		}
	}
	if header == "" || venues == "" {
		t.Fatalf("no header or venues row in:\n%s", out)
	}
	if i, j := strings.Index(header, "VERDICT"), strings.Index(venues, "PASS"); i != j || i < 0 {
		t.Errorf("VERDICT at %d, PASS at %d:\n%s", i, j, out)
	}

	s := goodSnapshot()
	table(&s, "venues").RLSForced = false
	b.Reset()
	r = Evaluate(s)
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, sub := range []string{"FAIL table venues [rls-not-forced]", "FORCE ROW LEVEL SECURITY", "rls-audit: FAIL (1 finding)\n"} {
		if !strings.Contains(out, sub) {
			t.Errorf("no %q in:\n%s", sub, out)
		}
	}
	if r.Summary() != "rls-audit: FAIL (1 finding)" {
		t.Errorf("Summary() = %q", r.Summary())
	}

	s = goodSnapshot()
	table(&s, "venues").Probes[1].Skipped = "permission denied for table venues (SQLSTATE 42501)"
	table(&s, "users").Probes[0].Rows = 2
	b.Reset()
	if err := Evaluate(s).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	lines = strings.Split(out, "\n")
	col := strings.Index(lines[2], "PROBE")
	probeAt := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) && col >= 0 && col < len(l) {
				return strings.Fields(l[col:])[0]
			}
		}
		return ""
	}
	if col < 0 || probeAt("venues ") != "skipped" || probeAt("users ") != "LEAK" || probeAt("memberships ") != "0" || probeAt("rampart_schema_version ") != "-" {
		t.Errorf("PROBE column (at %d) wrong:\n%s", col, out)
	}
	for _, sub := range []string{"FAIL table users [policy-leaks-rows]", "probes that could not run (they prove nothing about these tables):\n  venues: foreign-org-admin: permission denied for table venues (SQLSTATE 42501)\n"} {
		if !strings.Contains(out, sub) {
			t.Errorf("no %q in:\n%s", sub, out)
		}
	}

	if err := r.WriteText(failingWriter{}); err == nil || !errors.Is(err, errWrite) {
		t.Errorf("WriteText to a failing writer: err = %v, want errWrite", err)
	}
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestReportJSON(t *testing.T) {
	s := goodSnapshot()
	table(&s, "venues").RLSForced = false
	b, err := json.Marshal(Evaluate(s))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["ok"] != false || got["login"] != "rampart" {
		t.Errorf("ok/login = %v/%v in %s", got["ok"], got["login"], b)
	}
	findings, _ := got["findings"].([]any)
	if len(findings) != 1 {
		t.Fatalf("findings = %v", got["findings"])
	}
	f, _ := findings[0].(map[string]any)
	if f["check"] != string(CheckRLSNotForced) || f["object"] != "venues" || f["severity"] != "fail" || f["kind"] != "table" {
		t.Errorf("finding = %v", f)
	}
	rows, _ := got["tables"].([]any)
	row, _ := rows[0].(map[string]any)
	for _, k := range []string{"table", "tenant", "org_column", "rls", "forced", "select", "insert", "update", "delete", "truncate", "public_grants", "probe", "verdict"} {
		if _, ok := row[k]; !ok {
			t.Errorf("row has no %q: %v", k, row)
		}
	}

	// An empty report encodes empty lists, not null, and passes.
	b, err = json.Marshal(Evaluate(Snapshot{Login: "x", Roles: []Role{{Name: "x"}, {Name: AppRole}}}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ok":true,"database":"","login":"x","tables":[],"findings":[]}`; string(b) != want {
		t.Errorf("empty report = %s, want %s", b, want)
	}

	// The snapshot round-trips through JSON with lower_snake_case keys.
	sb, err := json.Marshal(goodSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"runtime_roles"`, `"bypass_rls"`, `"rls_forced"`, `"runtime_privileges"`, `"index_leading_columns"`, `"with_check"`, `"security_definer_functions"`, `"depends_on"`, `"search_path_set"`,
		`"search_path"`, `"create_role"`, `"replication"`, `"probes"`, `"probe"`, `"rows"`} {
		if !bytes.Contains(sb, []byte(k)) {
			t.Errorf("snapshot JSON has no %s", k)
		}
	}
	var back Snapshot
	if err := json.Unmarshal(sb, &back); err != nil {
		t.Fatal(err)
	}
	if !Evaluate(back).OK() {
		t.Error("round-tripped snapshot fails")
	}
}
