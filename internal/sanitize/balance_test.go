package sanitize

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// unbalancedCorpus is stored HTML that leaves elements open, closes them
// out of order or closes what was never opened: each would swallow (or
// break out of) the markup a page renders after it.
var unbalancedCorpus = []string{
	`<a href="https://ok.example">link`,
	`<p>see <a href="https://ok.example">the venue`,
	`<table><tr><td>cell`,
	`<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>x`,
	`<table><td>x</table>`,
	`<table><p>para in table</p>x</table>`,
	`<blockquote>quote`,
	`<blockquote><blockquote><p>deep</blockquote>`,
	`<ul><li>a<li>b`,
	`<ol><li><ul><li>x</ol>`,
	`<pre><code>x := 1`,
	"<pre>\n\nleading newline</pre>",
	`<b><i>misnested</b></i>`,
	`<strong><em>a</strong>b</em>c`,
	`<a href="https://a.example">a<a href="https://b.example">nested</a>`,
	`<a href="https://a.example"><p>block in link</a>`,
	`<h1><p>x</h1>`,
	`<h2><h3>x</h3></h2>`,
	`<p>x</p></p></p>`,
	`</div>x`,
	`x</td></tr></table>y`,
	`</a></blockquote></table>text`,
	`<p>a<!-- unclosed comment`,
	`<p>a<!-- comment --><b>b`,
	`<div><p>x</div>`,
	`<em>` + strings.Repeat(`<strong>`, 50) + `deep`,
	`<table><tr><td><table><tr><td>inner</table>`,
	`<code>`,
	`<p><hr></p>`,
	`<br></br><p/>self-closing`,
}

// htmlVoidElements are the elements that have no end tag (HTML Living
// Standard, 13.1.2).
var htmlVoidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkBalanced asserts that out, read token by token, closes every
// non-void element it opens, in order, and closes nothing else.
func checkBalanced(t testing.TB, in, out string) {
	t.Helper()
	var open []string
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		name, _ := z.TagName()
		void := htmlVoidElements[string(name)]
		switch {
		case tt == html.StartTagToken && !void:
			open = append(open, string(name))
		case tt == html.SelfClosingTagToken && !void:
			t.Errorf("%q → %q: <%s/> opens an element it does not close", in, out, name)
			return
		case tt == html.EndTagToken && void:
			t.Errorf("%q → %q: end tag of the void element %s", in, out, name)
			return
		case tt == html.EndTagToken:
			if len(open) == 0 || open[len(open)-1] != string(name) {
				t.Errorf("%q → %q: </%s> with open elements %v", in, out, name, open)
				return
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		t.Errorf("%q → %q leaves %v open", in, out, open)
	}
}

// checkContained asserts that markup after out is not swallowed by it:
// in out+"<p>after</p>", parsed as a browser would inside a <div>, that
// paragraph is the last top-level node.
func checkContained(t testing.TB, in, out string) {
	t.Helper()
	context := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(out+"<p>after</p>"), context)
	if err != nil {
		t.Fatal(err)
	}
	last := nodes[len(nodes)-1]
	if last.Type != html.ElementNode || last.Data != "p" || last.FirstChild == nil || last.FirstChild != last.LastChild ||
		last.FirstChild.Data != "after" {
		t.Errorf("%q → %q swallows the markup after it", in, out)
	}
}

// TestOutputIsBalanced: stored HTML that leaves elements open or misnested
// is re-sanitised into a balanced fragment that does not swallow what
// follows it, and so is Markdown with the same text; the result is
// stable under Resanitize.
func TestOutputIsBalanced(t *testing.T) {
	t.Parallel()
	for _, in := range append(unbalancedCorpus, xssCorpus...) {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			h := Resanitize(in)
			checkBalanced(t, in, h.String())
			checkContained(t, in, h.String())
			checkSafe(t, in, h.String())
			if again := Resanitize(h.String()); again != h {
				t.Errorf("Resanitize changed %q → %q", h.String(), again.String())
			}
			m, err := Markdown(in)
			if err != nil {
				t.Fatal(err)
			}
			checkBalanced(t, in, m.String())
			checkContained(t, in, m.String())
		})
	}
}

// TestBalancedKeepsContent: balancing closes what is open where a browser
// would, and keeps the text and the allowed markup.
func TestBalancedKeepsContent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`<a href="https://ok.example">link`, `<a href="https://ok.example" rel="nofollow noreferrer noopener" target="_blank">link</a>`},
		{`<blockquote>quote`, `<blockquote>quote</blockquote>`},
		{`<table><tr><td>cell`, `<table><tbody><tr><td>cell</td></tr></tbody></table>`},
		{`<b><i>x</b></i>`, `<b><i>x</i></b>`},
		{`<ul><li>a<li>b`, `<ul><li>a</li><li>b</li></ul>`},
		{`x</td></tr></table>y`, `xy`},
		{`<p>a<!-- unclosed comment`, `<p>a</p>`},
		{"<pre>\n\nx</pre>", "<pre>\n\nx</pre>"},
		{`<p>one<br>two</p><hr>`, `<p>one<br>two</p><hr>`},
	} {
		if got := Resanitize(tc.in).String(); got != tc.want {
			t.Errorf("Resanitize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestBalanceFailsClosedOnAmplification: misnested formatting elements are
// reopened in every following block, so balancing could turn a small
// input into a huge one; past four times the input's size the result is
// the text alone.
func TestBalanceFailsClosedOnAmplification(t *testing.T) {
	t.Parallel()
	open := strings.Repeat(`<a href="https://a.example"><b><i><em><strong><code>`, 3)
	in := "<p>" + open + strings.Repeat("<p>x", 2000)
	out := Resanitize(in).String()
	if out != strings.Repeat("x", 2000) {
		t.Errorf("Resanitize of %d bytes: %d bytes %.80q…, want the text alone", len(in), len(out), out)
	}
	// Below the bound, the same shape keeps its markup.
	small := "<p>" + open + strings.Repeat("<p>x", 3)
	if got := Resanitize(small).String(); !strings.Contains(got, "<strong>") {
		t.Errorf("Resanitize(%q) = %q, want the markup kept", small, got)
	}
}
