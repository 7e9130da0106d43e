package sanitize

import (
	"strings"
	"testing"
)

// FuzzMarkdown: Markdown never panics, and its output has no script
// element, no event-handler attribute and no "javascript:", whatever the
// case; it passes the structural checks of checkSafe, is a balanced
// fragment that swallows nothing after it, and Resanitize keeps it as it
// is. The same input taken as stored HTML re-sanitises to a safe,
// balanced fragment that Resanitize keeps as it is.
func FuzzMarkdown(f *testing.F) {
	for _, s := range xssCorpus {
		f.Add(s)
	}
	for _, s := range unbalancedCorpus {
		f.Add(s)
	}
	f.Add("# T\n\n| a |\n|---|\n| b |\n\n- x\n\n[l](https://e.example)")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := Markdown(in)
		if err != nil {
			if len(in) <= MaxMarkdownBytes {
				t.Fatalf("Markdown(%q): %v", in, err)
			}
			return
		}
		out := h.String()
		lower := strings.ToLower(out)
		if strings.Contains(lower, "<script") || strings.Contains(lower, "javascript:") {
			t.Fatalf("%q → %q", in, out)
		}
		checkSafe(t, in, out)
		checkBalanced(t, in, out)
		checkContained(t, in, out)
		if again := Resanitize(out); again != h {
			t.Fatalf("Resanitize changed %q → %q", out, again.String())
		}
		stored := Resanitize(in)
		checkSafe(t, in, stored.String())
		checkBalanced(t, in, stored.String())
		checkContained(t, in, stored.String())
		if again := Resanitize(stored.String()); again != stored {
			t.Fatalf("Resanitize(%q) = %q, then %q", in, stored.String(), again.String())
		}
	})
}
