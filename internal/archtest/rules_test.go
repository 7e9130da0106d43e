package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/rampart-dev/rampart"

// modelSDKs are the model providers' SDKs: only internal/llm may import
// them (DESIGN.md §5: one choke point).
var modelSDKs = []string{"github.com/anthropics/anthropic-sdk-go", "github.com/openai/openai-go", "github.com/sashabaranov/go-openai"}

// httpAllowed are the packages that may speak HTTP: the edge and API, the
// console, the adapters whose job is HTTP (observability, readiness, the
// cookie and token formats, the model SDK wrapper) and the binary. Every
// other package — the store, the jobs, the kill switch, the domain and
// every use-case package to come — imports no net/http, so its logic
// cannot depend on a request and the console, CLI and worker can call it.
var httpAllowed = []string{
	module + "/cmd/rampart",
	module + "/internal/api",
	module + "/internal/edge",
	module + "/internal/console",
	module + "/internal/operator", // the loopback operator console (decision 0027)
	module + "/internal/observe",
	module + "/internal/health",
	module + "/internal/auth",
	module + "/internal/llm",
	module + "/internal/oauth", // the OAuth 2.0 adapter: golang.org/x/oauth2 and RFC 7009 revocation
	module + "/internal/trust", // serves a given http.Handler in-process (httptest) to sample its headers; no listener, no client
}

// adapters above the use cases: nothing below them may import them.
var upperLayers = []string{module + "/internal/api", module + "/internal/edge", module + "/internal/console", module + "/internal/operator", module + "/cmd/"}

// ruleModelSDKOnlyInLLM reports the packages outside internal/llm that
// import a model SDK.
func ruleModelSDKOnlyInLLM(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if p.ImportPath == module+"/internal/llm" {
			continue
		}
		for _, imp := range p.Imports {
			for _, sdk := range modelSDKs {
				if imp == sdk || strings.HasPrefix(imp, sdk+"/") {
					out = append(out, p.ImportPath+" imports "+imp+": only internal/llm may import a model SDK")
				}
			}
		}
	}
	return out
}

// ruleNoHTTPBelowTheEdge reports the packages outside httpAllowed that
// import net/http or an upper layer (edge, API, console, cmd).
func ruleNoHTTPBelowTheEdge(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if slices.Contains(httpAllowed, p.ImportPath) || !strings.HasPrefix(p.ImportPath, module+"/internal/") {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
				out = append(out, p.ImportPath+" imports "+imp+": only the edge, the API, the console and HTTP adapters speak HTTP")
			}
			for _, up := range upperLayers {
				if imp == strings.TrimSuffix(up, "/") || strings.HasPrefix(imp, up) {
					out = append(out, p.ImportPath+" imports "+imp+": a lower layer never imports the edge, the API, the console or a command")
				}
			}
		}
	}
	return out
}

// ruleHTTPSidesApart reports imports between the HTTP packages that would
// tie them together: the edge knows no resource (it imports neither the
// API nor the console), the console never imports the API, and the API
// names the console only in its composition (api.New, server.go); read
// reads a source file.
func ruleHTTPSidesApart(pkgs []pkg, read func(string) ([]byte, error)) []string {
	edge, api, console := module+"/internal/edge", module+"/internal/api", module+"/internal/console"
	var out []string
	for _, p := range pkgs {
		switch p.ImportPath {
		case edge:
			for _, imp := range p.Imports {
				if imp == api || imp == console {
					out = append(out, p.ImportPath+" imports "+imp+": the edge knows no resource; resources register on it")
				}
			}
		case console:
			if slices.Contains(p.Imports, api) {
				out = append(out, p.ImportPath+" imports "+api+": the console calls use cases, never the API's handlers")
			}
		case api:
			if !slices.Contains(p.Imports, console) {
				continue
			}
			for _, f := range p.GoFiles {
				if f == "server.go" {
					continue
				}
				path := filepath.Join(p.Dir, f)
				src, err := read(path)
				if err != nil {
					out = append(out, p.ImportPath+": "+err.Error())
					continue
				}
				file, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
				if err != nil {
					out = append(out, p.ImportPath+": "+err.Error())
					continue
				}
				for _, is := range file.Imports {
					if strings.Trim(is.Path.Value, `"`) == console {
						out = append(out, p.ImportPath+" ("+f+") imports "+console+": only the composition (server.go, New) mounts the console")
					}
				}
			}
		}
	}
	return out
}

func TestHTTPSidesApart(t *testing.T) {
	for _, v := range ruleHTTPSidesApart(listPackages(t), os.ReadFile) {
		t.Error(v)
	}
}

// TestHTTPSidesApartCanFail feeds the rule an import graph that breaks
// each of its parts (the packages cannot really import each other: Go
// refuses the cycle, or the build would).
func TestHTTPSidesApartCanFail(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pages.go"), []byte("package api\n\nimport _ \""+module+"/internal/console\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pkgs := []pkg{
		{ImportPath: module + "/internal/edge", Imports: []string{module + "/internal/api"}},
		{ImportPath: module + "/internal/console", Imports: []string{module + "/internal/api"}},
		{ImportPath: module + "/internal/api", Dir: dir, GoFiles: []string{"pages.go", "server.go"}, Imports: []string{module + "/internal/console"}},
	}
	got := ruleHTTPSidesApart(pkgs, os.ReadFile)
	for _, want := range []string{
		module + "/internal/edge imports",
		module + "/internal/console imports",
		module + "/internal/api (pages.go) imports",
	} {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, want) }) {
			t.Errorf("the rule does not report %q: %v", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("the rule reports the composition itself: %v", got)
	}
}

// ruleEveryPackageHasDocGo reports the packages without a doc.go (the
// place that says what the package is for and what it guarantees).
func ruleEveryPackageHasDocGo(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if !slices.Contains(p.GoFiles, "doc.go") {
			out = append(out, p.ImportPath+" has no doc.go saying what it is for and what it guarantees")
		}
	}
	return out
}

// serviceDoorOpeners may open the service path (store.AsService)
// themselves: the store, the commands and the demo seed (and the use-case
// tests' fixture, internal/storetest, which no shipping code may import:
// TestHarnessOnlyInTests). Everything else reaches it through the store's
// narrow, named service operations.
var serviceDoorOpeners = []string{module + "/internal/store", module + "/cmd/rampart", module + "/internal/demo", module + "/internal/storetest"}

// ruleServicePathOnlyFromStoreCmdDemo reports calls of a method named
// AsService outside serviceDoorOpeners (non-test files); read reads a
// source file.
func ruleServicePathOnlyFromStoreCmdDemo(pkgs []pkg, read func(string) ([]byte, error)) []string {
	var out []string
	for _, p := range pkgs {
		if slices.Contains(serviceDoorOpeners, p.ImportPath) {
			continue
		}
		out = append(out, callsOf(p, read, "AsService",
			"calls AsService: only the store, cmd and the demo seed open the service path; add a narrow store operation")...)
	}
	return out
}

// callsOf reports each call of a method or function named name in p's
// non-test files, as "<package> (<file>) <what>"; read reads a source file.
func callsOf(p pkg, read func(string) ([]byte, error), name, what string) []string {
	var out []string
	for _, f := range p.GoFiles {
		path := filepath.Join(p.Dir, f)
		src, err := read(path)
		if err != nil {
			out = append(out, p.ImportPath+": "+err.Error())
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
		if err != nil {
			out = append(out, p.ImportPath+": "+err.Error())
			continue
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
					out = append(out, p.ImportPath+" ("+f+") "+what)
				}
			}
			return true
		})
	}
	return out
}

func TestServicePathOnlyFromStoreCmdDemo(t *testing.T) {
	for _, v := range ruleServicePathOnlyFromStoreCmdDemo(listPackages(t), os.ReadFile) {
		t.Error(v)
	}
}

func TestOnlyLLMImportsAModelSDK(t *testing.T) {
	for _, v := range ruleModelSDKOnlyInLLM(listPackages(t)) {
		t.Error(v)
	}
}

// TestOnlyOAuthImportsOAuth2: one door to authorization servers, as
// internal/llm is for models (docs/integrations.md).
func TestOnlyOAuthImportsOAuth2(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath == module+"/internal/oauth" {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "golang.org/x/oauth2" || strings.HasPrefix(imp, "golang.org/x/oauth2/") {
				t.Errorf("%s imports %s: only internal/oauth talks to authorization servers", p.ImportPath, imp)
			}
		}
	}
}

// TestOnlyBillingImportsStripe: one door to the payment provider; its
// webhook signature check is stripe-go's own (docs/billing.md).
func TestOnlyBillingImportsStripe(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath == module+"/internal/billing" {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "github.com/stripe/stripe-go/v82" || strings.HasPrefix(imp, "github.com/stripe/stripe-go/") {
				t.Errorf("%s imports %s: only internal/billing talks to Stripe", p.ImportPath, imp)
			}
		}
	}
}

func TestNoHTTPBelowTheEdge(t *testing.T) {
	for _, v := range ruleNoHTTPBelowTheEdge(listPackages(t)) {
		t.Error(v)
	}
}

func TestEveryPackageHasDocGo(t *testing.T) {
	for _, v := range ruleEveryPackageHasDocGo(listPackages(t)) {
		t.Error(v)
	}
}

// TestRulesCatchAThrowAwayPackage proves each rule can fail: a package
// that exists only in a go list overlay (nothing is written to the tree)
// imports a model SDK and net/http and has no doc.go; each rule names it.
// A file added the same way to a use case (internal/venue) that imports
// net/http is caught too.
func TestRulesCatchAThrowAwayPackage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "usecase.go")
	if err := os.WriteFile(src, []byte(`package throwaway

import (
	"context"
	_ "net/http"

	_ "github.com/anthropics/anthropic-sdk-go"
)

type door interface {
	AsService(ctx context.Context, reason string, fn func(context.Context) error) error
}

func open(d door) error {
	return d.AsService(context.Background(), "a handler opening the service path", nil)
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(filepath.Dir(wd), "throwaway", "usecase.go") // internal/throwaway
	// And a file added to a real use-case package that speaks HTTP.
	httpSrc := filepath.Join(dir, "http.go")
	if err := os.WriteFile(httpSrc, []byte("package venue\n\nimport _ \"net/http\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inVenue := filepath.Join(filepath.Dir(wd), "venue", "zz_throwaway_http.go") // internal/venue
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: src, inVenue: httpSrc}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	pkgs := listPackagesWith(t, "-overlay="+ov)
	const name = module + "/internal/throwaway"
	if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == name }) {
		t.Fatalf("the overlay package %s was not listed", name)
	}
	read := func(path string) ([]byte, error) {
		if path == virtual {
			path = src
		}
		return os.ReadFile(path)
	}
	for rule, check := range map[string]func([]pkg) []string{
		"model SDK outside llm":   ruleModelSDKOnlyInLLM,
		"net/http below the edge": ruleNoHTTPBelowTheEdge,
		"doc.go":                  ruleEveryPackageHasDocGo,
		"service path":            func(p []pkg) []string { return ruleServicePathOnlyFromStoreCmdDemo(p, read) },
	} {
		if !slices.ContainsFunc(check(pkgs), func(v string) bool { return strings.HasPrefix(v, name+" ") }) {
			t.Errorf("rule %q does not catch the throw-away package", rule)
		}
	}
	if want := module + "/internal/venue imports net/http"; !slices.ContainsFunc(ruleNoHTTPBelowTheEdge(pkgs),
		func(v string) bool { return strings.HasPrefix(v, want) }) {
		t.Errorf("the rule does not catch a use-case package (internal/venue) importing net/http")
	}
}

// agentPackages are where agent runners live (DESIGN.md §8,
// internal/agent and anything under it).
const agentPackages = module + "/internal/agent"

// ruleNoFinanceFromAgents reports agent packages that could make a
// financial decision: importing the finance use cases, or reaching the
// store's finance writes (a call of a method named Finance, the TenantTx
// accessor). Agents only propose (issue 15); a person approves.
func ruleNoFinanceFromAgents(pkgs []pkg, read func(string) ([]byte, error)) []string {
	var out []string
	for _, p := range pkgs {
		if p.ImportPath != agentPackages && !strings.HasPrefix(p.ImportPath, agentPackages+"/") {
			continue
		}
		for _, imp := range p.Imports {
			if imp == module+"/internal/finance" {
				out = append(out, p.ImportPath+" imports "+imp+": agents cannot reach finance writes; they propose (agent_proposals)")
			}
		}
		out = append(out, callsOf(p, read, "Finance", "calls Finance(): agents cannot reach the store's finance writes")...)
	}
	return out
}

func TestNoFinanceFromAgents(t *testing.T) {
	for _, v := range ruleNoFinanceFromAgents(listPackages(t), os.ReadFile) {
		t.Error(v)
	}
}

// The rule fails on a throw-away agent package (an overlay: nothing is
// written to the tree) that imports the finance use cases and calls the
// store's finance accessor.
func TestNoFinanceFromAgentsCatchesAThrowAwayAgent(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "runner.go")
	if err := os.WriteFile(src, []byte(`// Package throwaway is an agent that signs statements of work itself.
package throwaway

import (
	"context"

	"github.com/google/uuid"

	"github.com/rampart-dev/rampart/internal/finance"
	"github.com/rampart-dev/rampart/internal/store"
)

func sign(ctx context.Context, st *store.Store, tx *store.TenantTx, id uuid.UUID) error {
	_, err := tx.Finance().SignSOW(ctx, id)
	_ = finance.CostAccess
	return err
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(filepath.Dir(wd), "agent", "throwaway", "runner.go") // internal/agent/throwaway
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: src}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	pkgs := listPackagesWith(t, "-overlay="+ov)
	read := func(path string) ([]byte, error) {
		if path == virtual {
			path = src
		}
		return os.ReadFile(path)
	}
	v := ruleNoFinanceFromAgents(pkgs, read)
	for _, want := range []string{" imports " + module + "/internal/finance", " calls Finance()"} {
		if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("the rule misses %q in a throw-away agent package: %v", want, v)
		}
	}
}

// learnedStateDoors are the packages that may reach the store's learned
// ranking state (TenantTx.LearnedState): the learning package, which owns
// it, and the store itself (issue 15: "a learning package that alone may
// touch the learned-state tables").
var learnedStateDoors = []string{module + "/internal/learning", module + "/internal/store"}

// ruleLearnedStateOnlyFromLearning reports calls of a method named
// LearnedState outside learnedStateDoors (non-test files).
func ruleLearnedStateOnlyFromLearning(pkgs []pkg, read func(string) ([]byte, error)) []string {
	var out []string
	for _, p := range pkgs {
		if slices.Contains(learnedStateDoors, p.ImportPath) {
			continue
		}
		out = append(out, callsOf(p, read, "LearnedState",
			"calls LearnedState(): only internal/learning reaches the learned-state tables; use learning.Weights, Observe or Reset")...)
	}
	return out
}

func TestLearnedStateOnlyFromLearning(t *testing.T) {
	for _, v := range ruleLearnedStateOnlyFromLearning(listPackages(t), os.ReadFile) {
		t.Error(v)
	}
}

// The rule fails on a throw-away ranker package (an overlay: nothing is
// written to the tree) that adjusts learned weights itself.
func TestLearnedStateRuleCatchesAThrowAwayPackage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "sneaky.go")
	if err := os.WriteFile(src, []byte(`// Package sneaky is a ranker that tunes its own weights.
package sneaky

import (
	"context"

	"github.com/rampart-dev/rampart/internal/store"
)

func tune(ctx context.Context, tx *store.TenantTx) error {
	_, err := tx.LearnedState().Adjust(ctx, "vendor_ranker", "price_band", 1, 1)
	return err
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(filepath.Dir(wd), "crew", "sneaky", "sneaky.go") // internal/crew/sneaky
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: src}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	pkgs := listPackagesWith(t, "-overlay="+ov)
	read := func(path string) ([]byte, error) {
		if path == virtual {
			path = src
		}
		return os.ReadFile(path)
	}
	v := ruleLearnedStateOnlyFromLearning(pkgs, read)
	if !slices.ContainsFunc(v, func(s string) bool {
		return strings.Contains(s, "internal/crew/sneaky") && strings.Contains(s, "calls LearnedState()")
	}) {
		t.Errorf("the rule misses a throw-away package that calls LearnedState(): %v", v)
	}
}
