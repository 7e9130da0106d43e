package nofinance

import (
	"go/ast"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// Analyzer reports finance imports and finance writes in agent packages.
var Analyzer = &analysis.Analyzer{
	Name: "nofinance",
	Doc:  "no-finance-from-agents: agent packages cannot import or call finance writes (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#no-finance-from-agents",
	Run:  run,
}

// Forbidden is what an agent package may not reach: packages (by trailing
// path), and store types whose every method is a finance operation, and
// single methods ("Type.Method") of the store.
var (
	AgentPackages    = []string{"internal/agent"}
	ForbiddenImports = []string{"internal/finance"}
	StorePackage     = "internal/store"
	ForbiddenTypes   = []string{"FinanceTx"}
	ForbiddenMethods = []string{"TenantTx.Finance"}
)

func isPath(path, suffix string) bool {
	path = strings.TrimSuffix(path, "_test")
	return path == suffix || strings.HasSuffix(path, "/"+suffix)
}

func under(path, suffix string) bool {
	path = strings.TrimSuffix(path, "_test")
	return isPath(path, suffix) || strings.Contains(path+"/", "/"+suffix+"/") || strings.HasPrefix(path, suffix+"/")
}

func isAgent(path string) bool {
	for _, a := range AgentPackages {
		if under(path, a) {
			return true
		}
	}
	return false
}

func run(pass *analysis.Pass) (any, error) {
	if !isAgent(pass.Pkg.Path()) {
		return nil, nil
	}
	for _, f := range pass.Files {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, fb := range ForbiddenImports {
				if isPath(path, fb) {
					pass.Reportf(imp.Pos(), "no-finance-from-agents: agent package %s imports %s: agents propose (agent_proposals), a person approves finance", pass.Pkg.Path(), path)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			fn, ok := pass.TypesInfo.Uses[sel.Sel].(*types.Func)
			if !ok {
				return true
			}
			recv := fn.Signature().Recv()
			if recv == nil || fn.Pkg() == nil || !isPath(fn.Pkg().Path(), StorePackage) {
				return true
			}
			t := recv.Type()
			if p, ok := t.(*types.Pointer); ok {
				t = p.Elem()
			}
			named, ok := t.(*types.Named)
			if !ok {
				return true
			}
			tn := named.Obj().Name()
			for _, ft := range ForbiddenTypes {
				if tn == ft {
					pass.Reportf(sel.Sel.Pos(), "no-finance-from-agents: agent package %s calls the finance write store.%s.%s: agents propose, a person approves", pass.Pkg.Path(), tn, fn.Name())
					return true
				}
			}
			for _, fm := range ForbiddenMethods {
				if tn+"."+fn.Name() == fm {
					pass.Reportf(sel.Sel.Pos(), "no-finance-from-agents: agent package %s reaches store.%s: agents cannot reach the store's finance writes", pass.Pkg.Path(), fm)
				}
			}
			return true
		})
	}
	return nil, nil
}
