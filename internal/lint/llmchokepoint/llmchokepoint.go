package llmchokepoint

import (
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// SDKs are the import paths (and path prefixes) of model providers' SDKs.
var SDKs = []string{
	"github.com/anthropics/anthropic-sdk-go",
	"github.com/openai/openai-go",
	"github.com/sashabaranov/go-openai",
	"github.com/google/generative-ai-go",
	"google.golang.org/genai",
	"github.com/cohere-ai/cohere-go",
	"github.com/mistralai/client-go",
	"github.com/tmc/langchaingo",
	"github.com/ollama/ollama",
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime",
}

// Analyzer reports an import of a model SDK outside the allowed package.
var Analyzer = &analysis.Analyzer{
	Name: "llmchokepoint",
	Doc:  "llm-chokepoint: only internal/llm imports a model SDK (docs/guardrails.md)",
	URL:  "https://github.com/rampart-dev/rampart/blob/main/docs/guardrails.md#llm-chokepoint",
	Run:  run,
}

var (
	extra string
	allow = "internal/llm"
)

func init() {
	Analyzer.Flags.StringVar(&extra, "sdks", "", "comma-separated import paths of further model SDKs")
	Analyzer.Flags.StringVar(&allow, "allow", allow, "the one package (import path or its trailing elements) that may import a model SDK")
}

func isPath(path, suffix string) bool {
	path = strings.TrimSuffix(path, "_test")
	return path == suffix || strings.HasSuffix(path, "/"+suffix)
}

func sdks() []string {
	list := append([]string(nil), SDKs...)
	for _, s := range strings.Split(extra, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list
}

func run(pass *analysis.Pass) (any, error) {
	if isPath(pass.Pkg.Path(), allow) {
		return nil, nil
	}
	list := sdks()
	for _, f := range pass.Files {
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			for _, sdk := range list {
				if path == sdk || strings.HasPrefix(path, sdk+"/") {
					pass.Reportf(imp.Pos(), "llm-chokepoint: %s imports the model SDK %s: only %s talks to models; call it", pass.Pkg.Path(), path, allow)
				}
			}
		}
	}
	return nil, nil
}
