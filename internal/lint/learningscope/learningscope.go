package learningscope

import (
	"go/ast"
	"go/types"
	"path"
	"regexp"
	"strings"

	"golang.org/x/tools/go/analysis"

	"github.com/rampart-dev/rampart/internal/lint/sqlsource"
)

// Analyzer reports learned-state access outside the learning package.
var Analyzer = &analysis.Analyzer{
	Name: "learningscope",
	Doc:  "learning-scope: only the learning package touches the learned-state tables (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#learning-scope",
	Run:  run,
}

// The rule's data.
var (
	LearnedTables  = regexp.MustCompile(`^(learned|learning)_`)
	OwnerQueryFile = "learning.sql"   // the one queries file that may name them
	Door           = "LearnedState"   // the store's learned-state accessor
	StorePackage   = "internal/store" // where the door is defined
	Owners         = []string{"internal/learning", "internal/store"}
)

func isPath(p, suffix string) bool {
	p = strings.TrimSuffix(p, "_test")
	return p == suffix || strings.HasSuffix(p, "/"+suffix)
}

func run(pass *analysis.Pass) (any, error) {
	owner := false
	for _, o := range Owners {
		owner = owner || isPath(pass.Pkg.Path(), o)
	}
	if !owner {
		for _, f := range pass.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != Door {
					return true
				}
				if fn, ok := pass.TypesInfo.Uses[sel.Sel].(*types.Func); ok && fn.Pkg() != nil && isPath(fn.Pkg().Path(), StorePackage) {
					pass.Reportf(sel.Sel.Pos(), "learning-scope: %s reaches the learned-state tables (store %s): only internal/learning does; call learning's Weights, Observe or Reset", pass.Pkg.Path(), Door)
				}
				return true
			})
		}
	}
	files, errs := sqlsource.Load(pass)
	for _, e := range errs {
		pass.Reportf(e.Pos, "learning-scope: %s", e.Msg)
	}
	for _, f := range files {
		if !f.Queries || path.Base(f.Rel) == OwnerQueryFile {
			continue
		}
		for _, s := range f.Stmts {
			for _, t := range sqlsource.Tables(s.Node) {
				if LearnedTables.MatchString(t) {
					pass.Reportf(s.Pos, "learning-scope: %s: %s names the learned-state table %s: only queries/%s does, behind the learning package", f.Rel, s.Where(), t, OwnerQueryFile)
				}
			}
		}
	}
	return nil, nil
}
