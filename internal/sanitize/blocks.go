package sanitize

import (
	"strings"

	"github.com/rampart-dev/rampart/internal/rampart"
)

// Blocks cuts a streamed Markdown answer into its completed blocks and
// sanitises each one on its own, for a client that should see an answer
// grow while no raw model text ever reaches it (the proposal chat). A
// block ends at a blank line outside a fenced code block; Write returns
// the blocks a chunk completed, Flush the rest. Nothing is returned that
// did not pass Markdown, and a block is returned only once it is complete,
// so markup the model has opened but not finished is never shown half.
//
// A block rendered alone can differ from the same text rendered in the
// whole answer (a loose list split in two, a reference link defined in a
// later block): the whole answer is sanitised again, with Markdown, before
// it is stored. Blocks is not safe for concurrent use; the zero value is
// ready.
type Blocks struct {
	buf      string
	scan     int  // bytes of buf already split into lines
	fenced   bool // inside a ``` or ~~~ block
	received int
}

// Write adds a chunk and returns the sanitised blocks it completed (empty
// blocks, such as one of raw HTML only, are left out). Once more than
// MaxMarkdownBytes have arrived it returns a KindTooLarge error.
func (b *Blocks) Write(chunk string) ([]HTML, error) {
	const op = "sanitize.Blocks.Write"
	b.received += len(chunk)
	if b.received > MaxMarkdownBytes {
		b.buf, b.scan = "", 0
		return nil, rampart.Errorf(op, rampart.KindTooLarge, "model output of more than %d bytes exceeds the %d-byte (200 KiB) limit", MaxMarkdownBytes, MaxMarkdownBytes)
	}
	b.buf += chunk
	var out []HTML
	for {
		i := strings.IndexByte(b.buf[b.scan:], '\n')
		if i < 0 {
			return out, nil
		}
		line := strings.TrimSpace(b.buf[b.scan : b.scan+i])
		b.scan += i + 1
		switch {
		case strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~"):
			b.fenced = !b.fenced
		case line == "" && !b.fenced:
			block := b.buf[:b.scan]
			b.buf, b.scan = b.buf[b.scan:], 0
			h, err := Markdown(block)
			if err != nil {
				return out, err
			}
			if h.String() != "" {
				out = append(out, h)
			}
		}
	}
}

// Flush returns the last block, sanitised (the zero HTML when there is
// none), and empties b.
func (b *Blocks) Flush() (HTML, error) {
	rest := b.buf
	b.buf, b.scan, b.fenced = "", 0, false
	if strings.TrimSpace(rest) == "" {
		return HTML{}, nil
	}
	return Markdown(rest)
}
