// Package sanitize turns model output (Markdown) into HTML that is safe to
// store and render: goldmark renders it with raw HTML dropped, and an
// allow-list policy (bluemonday) keeps only structural tags and https or
// mailto links. Only this package makes an HTML value, so the store's
// AI-output column accepts nothing that skipped it.
package sanitize

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// MaxMarkdownBytes caps the Markdown one call accepts.
const MaxMarkdownBytes = 200 << 10

// HTML is sanitised HTML. The zero value is the empty document.
type HTML struct{ s string }

// String returns the sanitised HTML.
func (h HTML) String() string { return h.s }

var (
	md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
	// policy is built from nothing: only what is listed survives.
	policy = func() *bluemonday.Policy {
		p := bluemonday.NewPolicy()
		p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "del",
			"code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td")
		p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
		p.AllowAttrs("href").OnElements("a")
		p.AllowURLSchemes("https", "mailto")
		p.RequireParseableURLs(true)
		p.AllowRelativeURLs(false)
		p.RequireNoFollowOnLinks(true)
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		return p
	}()
)

// Markdown renders src (at most MaxMarkdownBytes) and sanitises the result.
func Markdown(src string) (HTML, error) {
	if len(src) > MaxMarkdownBytes {
		return HTML{}, fmt.Errorf("sanitize: output of %d bytes exceeds the %d-byte limit", len(src), MaxMarkdownBytes)
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return HTML{}, fmt.Errorf("sanitize: render markdown: %w", err)
	}
	return HTML{s: strings.TrimSpace(policy.Sanitize(buf.String()))}, nil
}

// Resanitize runs stored HTML through the same policy again (defence in
// depth when rendering).
func Resanitize(stored string) HTML { return HTML{s: policy.Sanitize(stored)} }

// StreamGate collects a streamed completion and shows nothing until the
// whole text is in: there is no way to read partial output. Finish
// sanitises the whole (fail closed: a stream that ends in error yields nothing).
type StreamGate struct{ b strings.Builder }

// Write adds a chunk.
func (g *StreamGate) Write(chunk string) { g.b.WriteString(chunk) }

// Len is the number of bytes received (progress without content).
func (g *StreamGate) Len() int { return g.b.Len() }

// Finish sanitises everything received.
func (g *StreamGate) Finish() (HTML, error) { return Markdown(g.b.String()) }
