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
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
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

// Version names the policy (the allow-list and the passes after it). The
// store records it with every body it writes; change it with the policy,
// and the periodic re-sanitising of the store cleans the bodies written
// under an older one (bodies are sanitised once, on write, not per read).
const Version = 1

// Resanitize runs stored HTML through the current policy again: the
// re-sanitising of bodies written under an older policy version.
// Resanitize(h.String()) == h for any h this package made.
func Resanitize(stored string) HTML { return clean(stored) }

// clean applies the policy, balances the result and neutralises script
// scheme names.
func clean(s string) HTML {
	out := balance(policy.Sanitize(strings.ToValidUTF8(s, "\uFFFD")))
	out = scriptScheme.ReplaceAllString(out, "$1$2$3&#58;")
	return HTML{s: strings.TrimSpace(out)}
}

// voidElements are the allowed elements that have no end tag.
var voidElements = map[string]bool{"br": true, "hr": true}

// allowed is allowedElements as a set.
var allowed = func() map[string]bool {
	m := make(map[string]bool, len(allowedElements))
	for _, e := range allowedElements {
		m[e] = true
	}
	return m
}()

// balance parses s as the children of a <div>, the way a browser parses
// it (closing what is left open, dropping stray end tags, re-nesting
// misnested ones), and serialises the tree: every element it opens is
// closed, in order, so the fragment cannot swallow markup placed after it.
// The policy has already run; the parser adds only tbody, tr, p and br and
// copies of open formatting elements (all allowed), and any other element
// is unwrapped to its content rather than trusted.
//
// A balanced fragment comes out as it went in, except that a table gains
// the tbody a browser would give it. Closing what is open
// costs a few end tags, but misnested formatting elements are reopened in
// every block that follows them, which a crafted 160 KB input turns into
// 10 MB. So when the balanced HTML would be more than four times the
// size of s (plus 4 KiB), balance fails closed and keeps only the text.
func balance(s string) string {
	context := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(s), context)
	if err != nil {
		// A read error (impossible from a strings.Reader) or a parser
		// panic that ParseFragment recovered: fail closed, markup
		// shown as text.
		return html.EscapeString(s)
	}
	w := writer{limit: 4*len(s) + 4096}
	for _, n := range nodes {
		w.node(n)
	}
	if w.over {
		w = writer{textOnly: true}
		for _, n := range nodes {
			w.node(n)
		}
	}
	return w.b.String()
}

// writer serialises nodes as HTML: text escaped as the policy escapes it,
// allowed elements with their attributes and an end tag unless void.
// html.Render would do much the same but writes void elements as "<br/>".
type writer struct {
	b        strings.Builder
	limit    int  // the most bytes to write, unless textOnly
	over     bool // limit exceeded: the output is incomplete
	textOnly bool // write the text alone, no elements
}

func (w *writer) node(n *html.Node) {
	if w.over {
		return
	}
	if !w.textOnly && w.b.Len() > w.limit {
		w.over = true
		return
	}
	switch n.Type {
	case html.TextNode:
		w.b.WriteString(html.EscapeString(n.Data))
	case html.ElementNode:
		if w.textOnly || !allowed[n.Data] || n.Namespace != "" {
			w.children(n)
			return
		}
		w.b.WriteByte('<')
		w.b.WriteString(n.Data)
		for _, a := range n.Attr {
			w.b.WriteByte(' ')
			w.b.WriteString(a.Key)
			w.b.WriteString(`="`)
			w.b.WriteString(html.EscapeString(a.Val))
			w.b.WriteByte('"')
		}
		w.b.WriteByte('>')
		if voidElements[n.Data] {
			return
		}
		// The parser drops a newline right after <pre>; write one
		// back so that a leading newline of the text survives the
		// next parse.
		if n.Data == "pre" && n.FirstChild != nil && n.FirstChild.Type == html.TextNode && strings.HasPrefix(n.FirstChild.Data, "\n") {
			w.b.WriteByte('\n')
		}
		w.children(n)
		w.b.WriteString("</")
		w.b.WriteString(n.Data)
		w.b.WriteByte('>')
	}
	// Comments and doctypes: the policy removes them; never written.
}

func (w *writer) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
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
