package config

import (
	"strings"
	"testing"
)

// TestAttachmentMaxBytes: the attachment size cap defaults to 10 MiB,
// takes bytes or KiB/MiB, and a bad value stops start-up naming the
// variable, the flag and the accepted range.
func TestAttachmentMaxBytes(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.AttachmentMaxBytes != 10<<20 {
		t.Fatalf("default: %d, %v", c.AttachmentMaxBytes, err)
	}
	for in, want := range map[string]int64{"2MiB": 2 << 20, "512KiB": 512 << 10, "1048576": 1 << 20, "64MiB": 64 << 20, "1KiB": 1024} {
		c, err := load(t, map[string]string{"RAMPART_ATTACHMENT_MAX_BYTES": in})
		if err != nil || c.AttachmentMaxBytes != want {
			t.Errorf("%s: %d, %v; want %d", in, c.AttachmentMaxBytes, err, want)
		}
	}
	if c, err := load(t, nil, "--attachment-max-bytes", "3MiB"); err != nil || c.AttachmentMaxBytes != 3<<20 {
		t.Errorf("flag: %d, %v", c.AttachmentMaxBytes, err)
	}
	for _, in := range []string{"65MiB", "1023", "0", "-1", "ten", "10MB", "10 GiB", "1.5MiB"} {
		_, err := load(t, map[string]string{"RAMPART_ATTACHMENT_MAX_BYTES": in})
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "RAMPART_ATTACHMENT_MAX_BYTES") || !strings.Contains(msg, "--attachment-max-bytes") || !strings.Contains(msg, "1KiB to 64MiB") {
			t.Errorf("%q: message %q does not name the variable, the flag and the range", in, msg)
		}
	}
}
