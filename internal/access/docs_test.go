package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// TestDocsAreGenerated fails when docs/permissions.md no longer matches the
// matrix it documents.
func TestDocsAreGenerated(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "docs", "permissions.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v; run `go generate ./internal/access`", path, err)
	}
	if string(got) != GeneratedDoc() {
		t.Fatalf("docs/permissions.md is out of date with internal/access/matrix.go; run `go generate ./internal/access` and commit the result")
	}
}

// TestMarkdownMatrixRows: one row per role with one cell per action, and
// the cells say what the matrix says.
func TestMarkdownMatrixRows(t *testing.T) {
	t.Parallel()
	md := MarkdownMatrix()
	wantRows := map[rampart.Role]string{
		rampart.RoleAdmin:             "| admin | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes |",
		rampart.RoleExecutiveProducer: "| executive_producer | yes | — | — | yes | yes | yes | yes | yes | yes | yes | yes | — |",
		rampart.RoleProducer:          "| producer | yes | — | — | — | — | — | yes | yes | yes | yes | yes | — |",
		rampart.RoleTechnicalDirector: "| technical_director | — | — | — | — | — | — | BOM only | yes | BOM only | yes | yes | — |",
		rampart.RoleVenueManager:      "| venue_manager | — | — | — | — | — | — | own venues | own venues | own venues | own venues | own venues | — |",
		rampart.RoleStakeholder:       "| stakeholder | — | — | — | — | — | — | — | — | comments | yes | yes | — |",
		rampart.RoleViewer:            "| viewer | — | — | — | — | — | — | — | — | — | — | yes | — |",
	}
	for role, row := range wantRows {
		if !strings.Contains(md, row+"\n") {
			t.Errorf("MarkdownMatrix has no row %q for %s", row, role)
		}
	}
	for _, want := range []string{
		"| venue_manager | own venues | own venues | — | — | own venues |",
		"| technical_director | — | yes | — | — | yes |",
		"## Legend",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("MarkdownMatrix lacks %q", want)
		}
	}
}
