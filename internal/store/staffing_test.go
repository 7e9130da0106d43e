package store

import (
	"context"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rampart-dev/rampart/internal/pgtest"
)

// staffingTables hold data about people who work events; they hold what
// staffing needs and nothing that monitors workers.
var staffingTables = []string{"crew_members", "crew_assignments"}

// monitoringColumn matches column names of worker-monitoring data:
// location and GPS traces, screenshots and screen captures, keystrokes
// and input logging, productivity or activity scores, webcam and idle
// tracking.
var monitoringColumn = regexp.MustCompile(`(?i)(location|gps|latitude|longitude|geo|coord|position|screenshot|screen|capture|keystroke|keylog|key_log|typing|mouse|click|productiv|activity|idle|webcam|camera|track|monitor|surveil|performance_score|score)`)

// monitoringViolations returns the columns that look like monitoring data.
func monitoringViolations(cols map[string][]string) []string {
	var out []string
	for table, cs := range cols {
		for _, c := range cs {
			if monitoringColumn.MatchString(c) {
				out = append(out, table+"."+c)
			}
		}
	}
	return out
}

// TestStaffingTablesHoldNoMonitoringData reads the live catalog: no column
// of a staffing table is worker-monitoring data (issue 15).
func TestStaffingTablesHoldNoMonitoringData(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	cols := map[string][]string{}
	for _, table := range staffingTables {
		rows, err := conn.Query(ctx, `SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, table)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) < 5 {
			t.Fatalf("%s: %d columns in the catalog; is the table there?", table, len(cs))
		}
		cols[table] = cs
	}
	for _, v := range monitoringViolations(cols) {
		t.Errorf("staffing table column %s looks like worker-monitoring data", v)
	}
	// The check can fail: columns a monitoring feature would add are caught.
	bad := map[string][]string{"crew_members": {"last_gps_fix", "screenshot_url", "keystrokes_per_min", "productivity_score", "current_location"}}
	if got := monitoringViolations(bad); len(got) != len(bad["crew_members"]) {
		t.Errorf("the check caught %v of %v", got, bad["crew_members"])
	}
}
