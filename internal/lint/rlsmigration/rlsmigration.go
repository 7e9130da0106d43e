package rlsmigration

import (
	"go/token"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"golang.org/x/tools/go/analysis"
	"google.golang.org/protobuf/proto"

	"github.com/rampart-dev/rampart/internal/lint/sqlsource"
)

// Analyzer reports tenant tables created without forced RLS and policies.
var Analyzer = &analysis.Analyzer{
	Name: "rlsmigration",
	Doc:  "rls-migration: a migration that creates a tenant table enables and forces RLS and creates its policies (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#rls-migration",
	Run:  run,
}

// TenantColumn marks a table as holding tenant data.
const TenantColumn = "organization_id"

type table struct {
	pos                      token.Pos
	enabled, forced, policed bool
}

func run(pass *analysis.Pass) (any, error) {
	files, errs := sqlsource.Load(pass)
	for _, e := range errs {
		pass.Reportf(e.Pos, "rls-migration: %s", e.Msg)
	}
	for _, f := range files {
		if f.Queries {
			continue
		}
		created := map[string]*table{}
		var order []string
		var policies []*pg_query.CreatePolicyStmt
		var policyPos []token.Pos
		for _, s := range f.Stmts {
			switch n := s.Node.Node.(type) {
			case *pg_query.Node_CreateStmt:
				if n.CreateStmt.Relation.GetRelpersistence() == "t" || !hasColumn(n.CreateStmt, TenantColumn) {
					continue
				}
				name := n.CreateStmt.Relation.Relname
				created[name] = &table{pos: s.Pos}
				order = append(order, name)
			case *pg_query.Node_AlterTableStmt:
				for _, c := range n.AlterTableStmt.Cmds {
					cmd := c.GetAlterTableCmd()
					if cmd == nil {
						continue
					}
					name := n.AlterTableStmt.Relation.GetRelname()
					t := created[name]
					switch cmd.Subtype {
					case pg_query.AlterTableType_AT_EnableRowSecurity:
						if t != nil {
							t.enabled = true
						}
					case pg_query.AlterTableType_AT_ForceRowSecurity:
						if t != nil {
							t.forced = true
						}
					case pg_query.AlterTableType_AT_DisableRowSecurity:
						pass.Reportf(s.Pos, "rls-migration: %s: %s disables row-level security on %s: no migration turns RLS off", f.Rel, s.Where(), name)
					case pg_query.AlterTableType_AT_NoForceRowSecurity:
						pass.Reportf(s.Pos, "rls-migration: %s: %s stops forcing row-level security on %s (the owner would bypass it): no migration turns RLS off", f.Rel, s.Where(), name)
					}
				}
			case *pg_query.Node_CreatePolicyStmt:
				policies = append(policies, n.CreatePolicyStmt)
				policyPos = append(policyPos, s.Pos)
			}
		}
		for i, p := range policies {
			t := created[p.Table.GetRelname()]
			if t == nil {
				continue
			}
			t.policed = true
			if !mentions(p.Qual, TenantColumn) && !mentions(p.WithCheck, TenantColumn) {
				pass.Reportf(policyPos[i], "rls-migration: %s: policy %s on tenant table %s never compares %s: it does not isolate organizations", f.Rel, p.PolicyName, p.Table.GetRelname(), TenantColumn)
			}
		}
		for _, name := range order {
			t := created[name]
			var missing []string
			if !t.enabled {
				missing = append(missing, "ALTER TABLE "+name+" ENABLE ROW LEVEL SECURITY")
			}
			if !t.forced {
				missing = append(missing, "ALTER TABLE "+name+" FORCE ROW LEVEL SECURITY")
			}
			if !t.policed {
				missing = append(missing, "CREATE POLICY ... ON "+name)
			}
			if len(missing) > 0 {
				pass.Reportf(t.pos, "rls-migration: %s: table %s holds tenant data (%s) but this migration lacks %v", f.Rel, name, TenantColumn, missing)
			}
		}
	}
	return nil, nil
}

func hasColumn(c *pg_query.CreateStmt, name string) bool {
	for _, e := range c.TableElts {
		if cd := e.GetColumnDef(); cd != nil && cd.Colname == name {
			return true
		}
	}
	return false
}

// mentions reports whether the expression n refers to column name.
func mentions(n *pg_query.Node, name string) bool {
	found := false
	sqlsource.Walk(n, func(m proto.Message) bool {
		if c, ok := m.(*pg_query.ColumnRef); ok {
			if _, col := sqlsource.ColumnName(c); col == name {
				found = true
			}
		}
		return !found
	})
	return found
}
