package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axe-core is the accessibility checker the browser tests inject into
// every page they check: from the npm registry, pinned with its integrity
// hash in scripts/browser-test/package-lock.json and installed by `make
// deps` into .cache/browser-test (RAMPART_TEST_AXE names another copy).
// It is injected through DevTools, so the page's CSP neither applies to it
// nor is weakened for it, and Rampart never serves it.
var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

func axeScript(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		p := os.Getenv("RAMPART_TEST_AXE")
		if p == "" {
			p = filepath.Join("..", "..", ".cache", "browser-test", "node_modules", "axe-core", "axe.min.js")
		}
		var b []byte
		b, axeErr = os.ReadFile(p)
		axeSource = string(b)
	})
	if axeErr != nil {
		t.Fatalf("axe-core is missing (%v): run `make deps` (it installs scripts/browser-test's locked axe-core from the npm registry into .cache/browser-test) or set RAMPART_TEST_AXE", axeErr)
	}
	return axeSource
}

// axeRun runs axe-core on the whole document with its WCAG 2.x A and AA
// rules and best practices, and returns the violations of serious or
// critical impact, each with the rule, its help text and up to three of the
// elements it found.
const axeRun = `(async () => {
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v =>
    v.id + " (" + v.impact + "): " + v.help + " at " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
})()`

// a11yViolations injects axe-core into the current page (once per
// document) and returns its serious and critical violations.
func a11yViolations(ctx context.Context, t *testing.T) ([]string, error) {
	src := axeScript(t)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`typeof axe === "object" || (function(){`+src+`
})()`)); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
}
