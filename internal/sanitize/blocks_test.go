package sanitize

import (
	"strings"
	"testing"
)

// TestBlocksSanitiseEachCompletedBlock: a stream cut at every byte yields
// the same sanitised blocks as one write, each only once it is complete,
// none holding what the policy removes.
func TestBlocksSanitiseEachCompletedBlock(t *testing.T) {
	answer := "First **point** <script>alert(1)</script>\n\n- a\n- b [x](javascript:alert(1))\n\n```\ncode\n\nstill code\n```\n\n<img src=x onerror=alert(1)>\n\nLast line"
	var whole Blocks
	all, err := whole.Write(answer)
	if err != nil {
		t.Fatal(err)
	}
	last, err := whole.Flush()
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, last)
	if len(all) != 4 { // the image-only block is empty after sanitising
		t.Fatalf("got %d blocks: %q", len(all), all)
	}
	if !strings.Contains(all[2].String(), "still code") || !strings.Contains(all[2].String(), "<pre>") {
		t.Fatalf("a fenced block with a blank line was split: %q", all)
	}
	var bytewise Blocks
	var got []HTML
	for i := range len(answer) {
		bs, err := bytewise.Write(answer[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bs...)
	}
	l, _ := bytewise.Flush()
	got = append(got, l)
	if len(got) != len(all) {
		t.Fatalf("byte-wise %d blocks, whole %d", len(got), len(all))
	}
	for i := range got {
		if got[i] != all[i] {
			t.Errorf("block %d: %q vs %q", i, got[i], all[i])
		}
		for _, bad := range []string{"<script", "javascript:", "onerror", "<img"} {
			if strings.Contains(strings.ToLower(got[i].String()), bad) {
				t.Errorf("block %d holds %q: %q", i, bad, got[i])
			}
		}
	}
	if !strings.Contains(got[0].String(), "<strong>point</strong>") {
		t.Errorf("first block: %q", got[0])
	}
}

func TestBlocksRefuseOversizedStreams(t *testing.T) {
	var b Blocks
	if _, err := b.Write(strings.Repeat("a", MaxMarkdownBytes)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write("b"); err == nil {
		t.Fatal("a stream past the limit was accepted")
	}
}
