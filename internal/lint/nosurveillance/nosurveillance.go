package nosurveillance

import (
	"regexp"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"golang.org/x/tools/go/analysis"

	"github.com/rampart-dev/rampart/internal/lint/sqlsource"
)

// Analyzer reports surveillance columns on people and staffing tables.
var Analyzer = &analysis.Analyzer{
	Name: "nosurveillance",
	Doc:  "no-surveillance: migrations may not add location, GPS, screenshot, keystroke or productivity-score columns to people or staffing tables (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#no-surveillance",
	Run:  run,
}

// PeopleTables matches the names of tables about people or their work.
var PeopleTables = regexp.MustCompile(`(?i)(^|_)(users?|members?|memberships?|people|persons?|profiles?|staff|staffing|crews?|employees?|workers?|contractors?|freelancers?|technicians?|shifts?|rosters?|timesheets?|attendance|availability|assignments?)($|_)`)

// SurveillanceColumns matches column names that would track a person.
var SurveillanceColumns = regexp.MustCompile(`(?i)(^|_)(locations?|geo|geoloc|geolocation|gps|lat|latitude|lng|lon|long|longitude|coords?|coordinates|whereabouts|screenshots?|screen_?captures?|screen_?recordings?|keystrokes?|keylogs?|key_?presses|mouse|clicks|idle|productivity|activity_score|focus_score|tracking)($|_)`)

func run(pass *analysis.Pass) (any, error) {
	files, errs := sqlsource.Load(pass)
	for _, e := range errs {
		pass.Reportf(e.Pos, "no-surveillance: %s", e.Msg)
	}
	for _, f := range files {
		if f.Queries {
			continue
		}
		for _, s := range f.Stmts {
			var table string
			var cols []string
			switch n := s.Node.Node.(type) {
			case *pg_query.Node_CreateStmt:
				table = n.CreateStmt.Relation.GetRelname()
				for _, e := range n.CreateStmt.TableElts {
					if cd := e.GetColumnDef(); cd != nil {
						cols = append(cols, cd.Colname)
					}
				}
			case *pg_query.Node_AlterTableStmt:
				table = n.AlterTableStmt.Relation.GetRelname()
				for _, c := range n.AlterTableStmt.Cmds {
					cmd := c.GetAlterTableCmd()
					if cmd == nil {
						continue
					}
					switch cmd.Subtype {
					case pg_query.AlterTableType_AT_AddColumn:
						if cd := cmd.Def.GetColumnDef(); cd != nil {
							cols = append(cols, cd.Colname)
						}
					}
				}
			case *pg_query.Node_RenameStmt:
				if n.RenameStmt.RenameType == pg_query.ObjectType_OBJECT_COLUMN {
					table = n.RenameStmt.Relation.GetRelname()
					cols = append(cols, n.RenameStmt.Newname)
				}
			}
			if table == "" || !PeopleTables.MatchString(table) {
				continue
			}
			for _, c := range cols {
				if SurveillanceColumns.MatchString(c) {
					pass.Reportf(s.Pos, "no-surveillance: %s: %s adds column %s to the people/staffing table %s: Rampart does not track people's location, screens, keystrokes or productivity", f.Rel, s.Where(), c, table)
				}
			}
		}
	}
	return nil, nil
}
