package promptguard

import (
	"go/ast"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// Analyzer reports strings that become prompt content without the guard.
var Analyzer = &analysis.Analyzer{
	Name: "promptguard",
	Doc:  "prompt-guard: no arbitrary string becomes prompt content outside the guard (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#prompt-guard",
	Run:  run,
}

// The rule's data.
var (
	// SDKs are the model SDKs' import path prefixes.
	SDKs = []string{"github.com/anthropics/anthropic-sdk-go", "github.com/openai/openai-go", "github.com/sashabaranov/go-openai"}
	// Sinks are the SDK functions whose string arguments are prompt content.
	Sinks = []string{"NewTextBlock", "NewUserMessage", "NewAssistantMessage", "NewUserTextBlock",
		"SystemMessage", "UserMessage", "AssistantMessage", "DeveloperMessage", "ToolMessage"}
	// SinkFields are the fields of SDK types that hold prompt content.
	SinkFields = []string{"Text", "Content", "System"}
	// LLMPackage declares the prompts and the vetted request.
	LLMPackage = "internal/llm"
	// PromptType is the system prompt; its PromptField is a constant.
	PromptType  = "Prompt"
	PromptField = "text"
	// VettedTypes are llm types whose string fields may feed a sink.
	VettedTypes = []string{"prepared"}
	// VettedSources are the functions of LLMPackage whose result may set
	// a vetted field: they join guard.Text values.
	VettedSources = []string{"userMessage"}
	Directive     = "//rampart:prompt-injection-safe"
)

var list bool

func init() {
	Analyzer.Flags.BoolVar(&list, "list", false, "also report every "+Directive+" exception (to review them all)")
}

func isPath(p, suffix string) bool {
	p = strings.TrimSuffix(p, "_test")
	return p == suffix || strings.HasSuffix(p, "/"+suffix)
}

func inSDK(pkg *types.Package) bool {
	if pkg == nil {
		return false
	}
	return slices.ContainsFunc(SDKs, func(s string) bool { return pkg.Path() == s || strings.HasPrefix(pkg.Path(), s+"/") })
}

func namedIn(t types.Type, suffix string, names []string) (string, bool) {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || !isPath(n.Obj().Pkg().Path(), suffix) {
		return "", false
	}
	return n.Obj().Name(), slices.Contains(names, n.Obj().Name())
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsString != 0
}

func run(pass *analysis.Pass) (any, error) {
	for _, f := range pass.Files {
		safe := map[int]string{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if rest, ok := strings.CutPrefix(c.Text, Directive); ok && (rest == "" || rest[0] == ' ') {
					line := pass.Fset.Position(c.Pos()).Line
					why := strings.TrimSpace(rest)
					safe[line] = why
					if why == "" {
						pass.Reportf(c.Pos(), "prompt-guard: %s without a reason: say why this string cannot carry an injection", Directive)
					} else if list {
						pass.Reportf(c.Pos(), "prompt-guard: exception: %s", why)
					}
				}
			}
		}
		excused := func(n ast.Node) bool {
			line := pass.Fset.Position(n.Pos()).Line
			return safe[line] != "" || safe[line-1] != ""
		}
		// constant or a vetted field, or a vetted source where allowed
		ok := func(e ast.Expr, sources bool) bool {
			e = ast.Unparen(e)
			if tv, found := pass.TypesInfo.Types[e]; found && tv.Value != nil {
				return true
			}
			if sel, isSel := e.(*ast.SelectorExpr); isSel {
				if s, found := pass.TypesInfo.Selections[sel]; found && s.Kind() == types.FieldVal {
					if _, vetted := namedIn(s.Recv(), LLMPackage, VettedTypes); vetted {
						return true
					}
					if name, _ := namedIn(s.Recv(), LLMPackage, nil); sources && name == PromptType {
						return true
					}
				}
			}
			if call, isCall := e.(*ast.CallExpr); isCall && sources {
				if id, isID := ast.Unparen(call.Fun).(*ast.Ident); isID {
					if fn, isFn := pass.TypesInfo.Uses[id].(*types.Func); isFn && fn.Pkg() != nil && isPath(fn.Pkg().Path(), LLMPackage) && slices.Contains(VettedSources, fn.Name()) {
						return true
					}
				}
			}
			return false
		}
		report := func(e ast.Expr, what string) {
			if excused(e) {
				return
			}
			pass.Reportf(e.Pos(), "prompt-guard: %s becomes prompt content (%s) without the guard: pass untrusted text as guard.Text through llm.Request, or justify it with %s <why>", types.ExprString(e), what, Directive)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				var id *ast.Ident
				switch fun := ast.Unparen(x.Fun).(type) {
				case *ast.SelectorExpr:
					id = fun.Sel
				case *ast.Ident:
					id = fun
				case *ast.IndexExpr: // a generic instantiation
					if sel, isSel := fun.X.(*ast.SelectorExpr); isSel {
						id = sel.Sel
					}
				}
				if id == nil {
					return true
				}
				fn, isFn := pass.TypesInfo.Uses[id].(*types.Func)
				if !isFn || !inSDK(fn.Pkg()) || !slices.Contains(Sinks, fn.Name()) {
					return true
				}
				for _, a := range x.Args {
					if t := pass.TypesInfo.TypeOf(a); t != nil && isString(t) && !ok(a, false) {
						report(a, fn.Pkg().Name()+"."+fn.Name())
					}
				}
			case *ast.CompositeLit:
				t := pass.TypesInfo.TypeOf(x)
				if t == nil {
					return true
				}
				named, _ := types.Unalias(t).(*types.Named)
				if named == nil {
					return true
				}
				pkg := named.Obj().Pkg()
				name, vetted := namedIn(t, LLMPackage, VettedTypes)
				sdk := inSDK(pkg)
				prompt := pkg != nil && isPath(pkg.Path(), LLMPackage) && name == PromptType
				if !sdk && !vetted && !prompt {
					return true
				}
				st, _ := named.Underlying().(*types.Struct)
				for i, el := range x.Elts {
					var field string
					v := el
					if kv, isKV := el.(*ast.KeyValueExpr); isKV {
						if k, isID := kv.Key.(*ast.Ident); isID {
							field = k.Name
						}
						v = kv.Value
					} else if st != nil && i < st.NumFields() {
						field = st.Field(i).Name()
					}
					vt := pass.TypesInfo.TypeOf(v)
					if vt == nil || !isString(vt) {
						continue
					}
					switch {
					case sdk && slices.Contains(SinkFields, field) && !ok(v, false):
						report(v, pkg.Name()+"."+named.Obj().Name()+"."+field)
					case vetted && !ok(v, true):
						report(v, "llm."+name+"."+field+", which the SDK sends")
					case prompt && field == PromptField && !ok(v, false):
						report(v, "llm.Prompt."+field+", a system prompt, which is a constant")
					}
				}
			}
			return true
		})
	}
	return nil, nil
}
