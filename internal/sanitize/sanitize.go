package sanitize

import (
	"bytes"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/rampart-dev/rampart/internal/rampart"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// MaxMarkdownBytes caps the Markdown that Markdown and a StreamGate accept
// (200 KiB); larger output is an error, never truncated.
const MaxMarkdownBytes = 200 << 10

// HTML is sanitised HTML. Only this package makes a non-empty one; the zero
// value is the empty document and renders as "".
type HTML struct{ s string }

// String returns the sanitised HTML.
func (h HTML) String() string { return h.s }

// allowedElements are the elements the policy keeps (with their text);
// every other element is removed, and the text of script, style, iframe,
// object and similar elements with it.
var allowedElements = []string{
	"p", "br", "hr", "h1", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "del",
	"code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "a",
}

var (
	// md renders CommonMark with GFM tables and strikethrough. No
	// html.WithUnsafe: raw HTML is omitted and dangerous link targets are
	// emptied. Table alignment is an align attribute (the policy keeps it;
	// a style attribute it would drop).
	md = goldmark.New(goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
	))

	// policy is built from nothing: only what is listed survives.
	policy = func() *bluemonday.Policy {
		p := bluemonday.NewPolicy()
		p.AllowElements(allowedElements...)
		p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
		p.AllowAttrs("href").OnElements("a")
		p.AllowURLSchemes("https", "mailto")
		p.RequireParseableURLs(true)
		p.AllowRelativeURLs(false)
		p.RequireNoFollowOnLinks(true)
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true) // and rel="noopener"
		p.AddSpaceWhenStrippingTag(true)            // "<h5>a</h5>b" keeps "a b" apart
		return p
	}()

	// scriptScheme finds the names of script URL schemes, in text or in an
	// attribute, whatever the case, the spacing before the colon or the
	// letters before the name ("00javascript:").
	scriptScheme = regexp.MustCompile(`(?i)(java|vb|live|ecma)(\s*)(script\s*):`)
)

// Markdown renders src, at most MaxMarkdownBytes of Markdown, to sanitised
// HTML. Larger input is a KindTooLarge error.
func Markdown(src string) (HTML, error) {
	const op = "sanitize.Markdown"
	if len(src) > MaxMarkdownBytes {
		return HTML{}, rampart.Errorf(op, rampart.KindTooLarge, "model output of %d bytes exceeds the %d-byte (200 KiB) limit", len(src), MaxMarkdownBytes)
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(strings.ToValidUTF8(src, "\uFFFD")), &buf); err != nil {
		return HTML{}, rampart.Wrap(op, rampart.KindInternal, err)
	}
	return clean(buf.String()), nil
}

// Resanitize runs stored HTML through the same policy again; renderers call
// it on content read back from the database (defence in depth: a row
// written before a policy change, or by a bug, is cleaned on the way out).
// Resanitize(h.String()) == h for any h this package made.
func Resanitize(stored string) HTML { return clean(stored) }

// clean applies the policy and neutralises script scheme names.
func clean(s string) HTML {
	out := policy.Sanitize(strings.ToValidUTF8(s, "\uFFFD"))
	out = scriptScheme.ReplaceAllString(out, "$1$2$3&#58;")
	return HTML{s: strings.TrimSpace(out)}
}

// StreamGate holds a streamed completion and shows nothing of it until the
// whole text is in: there is no method that returns partial text. Finish
// renders and sanitises everything written. A stream that fails is simply
// never finished, so nothing of it is shown (fail closed). A StreamGate is
// safe for concurrent use; the zero value is ready.
type StreamGate struct {
	mu       sync.Mutex
	b        strings.Builder
	received int  // bytes written, kept or not
	finished bool // Finish was called
}

// Write adds a chunk. Once more than MaxMarkdownBytes have arrived the gate
// stops keeping them and Finish will fail; writes after Finish are dropped.
func (g *StreamGate) Write(chunk string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished {
		return
	}
	g.received += len(chunk)
	if g.received <= MaxMarkdownBytes {
		g.b.WriteString(chunk)
	}
}

// Len is the number of bytes received: progress without content.
func (g *StreamGate) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.received
}

// Finish renders and sanitises everything written, once: a second call is
// a KindConflict error. Output over MaxMarkdownBytes is a KindTooLarge
// error and yields nothing.
func (g *StreamGate) Finish() (HTML, error) {
	const op = "sanitize.StreamGate.Finish"
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.finished {
		return HTML{}, rampart.Errorf(op, rampart.KindConflict, "the stream was already finished")
	}
	g.finished = true
	src := g.b.String()
	g.b = strings.Builder{}
	if g.received > MaxMarkdownBytes {
		return HTML{}, rampart.Errorf(op, rampart.KindTooLarge, "model output of %d bytes exceeds the %d-byte (200 KiB) limit", g.received, MaxMarkdownBytes)
	}
	return Markdown(src)
}
