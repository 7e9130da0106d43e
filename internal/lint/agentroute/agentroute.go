package agentroute

import (
	"go/ast"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// Analyzer reports agent handlers and routes that bypass Router.Agent.
var Analyzer = &analysis.Analyzer{
	Name: "agentroute",
	Doc:  "agent-route: every agent handler is registered through Router.Agent; nothing bypasses the router (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#agent-route",
	Run:  run,
}

// The rule's data.
var (
	RouterPackage = "internal/edge"
	CallType      = "AgentCall"
	Directive     = "//rampart:router-bypass"
)

func isPath(p, suffix string) bool {
	p = strings.TrimSuffix(p, "_test")
	return p == suffix || strings.HasSuffix(p, "/"+suffix)
}

// isAgentCall reports whether t is edge.AgentCall.
func isAgentCall(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Name() == CallType && n.Obj().Pkg() != nil && isPath(n.Obj().Pkg().Path(), RouterPackage)
}

// takesAgentCall reports whether t is a function type with an AgentCall parameter.
func takesAgentCall(t types.Type) bool {
	sig, ok := t.Underlying().(*types.Signature)
	if !ok {
		return false
	}
	for v := range sig.Params().Variables() {
		if isAgentCall(v.Type()) {
			return true
		}
	}
	return false
}

func run(pass *analysis.Pass) (any, error) {
	if isPath(pass.Pkg.Path(), RouterPackage) {
		return nil, nil
	}
	for _, f := range pass.Files {
		test := strings.HasSuffix(pass.Fset.File(f.Pos()).Name(), "_test.go")
		bypass := directives(pass, f)
		allowed := map[ast.Expr]bool{}
		called := map[ast.Expr]bool{}
		done := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			called[ast.Unparen(call.Fun)] = true
			// A router function or method that takes an agent handler is
			// an agent registration (Router.Agent, AgentJSON, AgentPage …):
			// only the router can turn the handler into a checked route.
			fn := calleeFunc(pass, call)
			sig, _ := pass.TypesInfo.TypeOf(call.Fun).(*types.Signature)
			if fn == nil || !isRouterFunc(fn) || sig == nil {
				return true
			}
			for i, a := range call.Args {
				if i < sig.Params().Len() && takesAgentCall(sig.Params().At(i).Type()) {
					allowed[ast.Unparen(a)] = true
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CompositeLit:
				if tv, ok := pass.TypesInfo.Types[x]; ok && isAgentCall(tv.Type) {
					pass.Reportf(x.Pos(), "agent-route: %s builds an edge.AgentCall by hand: only Router.Agent makes one, after the role tier and venue scope", pass.Pkg.Path())
				}
			case *ast.FuncLit:
				if takesAgentCall(pass.TypesInfo.TypeOf(x)) && !allowed[x] {
					pass.Reportf(x.Pos(), "agent-route: an agent handler (a func taking edge.AgentCall) not passed to Router.Agent: register it with r.Agent(pattern, agentType, venueOf, handler)")
				}
				return true
			case *ast.Ident, *ast.SelectorExpr:
				e := x.(ast.Expr)
				id := x
				if sel, ok := x.(*ast.SelectorExpr); ok {
					id = sel.Sel
					done[sel.Sel] = true // its Sel is this expression
				} else if done[x.(*ast.Ident)] {
					return false
				}
				if called[e] || allowed[e] {
					return false
				}
				if fn, ok := pass.TypesInfo.Uses[id.(*ast.Ident)].(*types.Func); ok && takesAgentCall(fn.Type()) {
					if _, isDecl := pass.TypesInfo.Defs[id.(*ast.Ident)]; !isDecl {
						pass.Reportf(e.Pos(), "agent-route: the agent handler %s is used outside Router.Agent: an agent handler is registered only with r.Agent(pattern, agentType, venueOf, %s)", fn.Name(), fn.Name())
					}
				}
				if _, ok := x.(*ast.SelectorExpr); ok {
					return true
				}
			case *ast.CallExpr:
				if test {
					return true
				}
				if fn := calleeFunc(pass, x); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "net/http" && muxFunc(fn) {
					line := pass.Fset.Position(x.Pos()).Line
					why, ok := bypass[line]
					if !ok {
						why, ok = bypass[line-1]
					}
					switch {
					case !ok:
						pass.Reportf(x.Pos(), "agent-route: %s routes requests itself (net/http %s): every route goes through the edge router; a deliberate second listener needs %s <why>", pass.Pkg.Path(), fn.Name(), Directive)
					case why == "":
						pass.Reportf(x.Pos(), "agent-route: %s without a reason", Directive)
					}
				}
			}
			return true
		})
	}
	return nil, nil
}

// muxFunc: http.NewServeMux, http.Handle, http.HandleFunc, (*ServeMux).Handle, (*ServeMux).HandleFunc.
func muxFunc(fn *types.Func) bool {
	recv := fn.Signature().Recv()
	if recv == nil {
		return fn.Name() == "NewServeMux" || fn.Name() == "Handle" || fn.Name() == "HandleFunc"
	}
	t := recv.Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Name() == "ServeMux" && (fn.Name() == "Handle" || fn.Name() == "HandleFunc")
}

func isRouterFunc(fn *types.Func) bool {
	return fn.Pkg() != nil && isPath(fn.Pkg().Path(), RouterPackage)
}

func calleeFunc(pass *analysis.Pass, call *ast.CallExpr) *types.Func {
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := pass.TypesInfo.Uses[id].(*types.Func)
	return fn
}

// directives maps the line of each //rampart:router-bypass comment to its reason.
func directives(pass *analysis.Pass, f *ast.File) map[int]string {
	out := map[int]string{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if rest, ok := strings.CutPrefix(c.Text, Directive); ok && (rest == "" || rest[0] == ' ') {
				out[pass.Fset.Position(c.Pos()).Line] = strings.TrimSpace(rest)
			}
		}
	}
	return out
}
