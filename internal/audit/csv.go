package audit

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the export's header row.
var CSVHeader = []string{"id", "occurred_at", "organization_id", "actor_type", "actor_id", "actor_scope", "action",
	"target_type", "target_id", "before", "after", "ip", "user_agent", "request_id", "reason", "metadata", "event_key", "mac"}

// CSVWriter writes events as RFC 4180 CSV: records end with CRLF, a field
// holding a comma, a quote, a CR or an LF is quoted with inner quotes
// doubled, and field content is written verbatim (encoding/csv's CRLF mode
// rewrites line breaks inside fields, which would change the data next to
// its MAC). Spreadsheet-formula injection is neutralised: a cell that
// starts with = + - @ (or a tab or CR, which some spreadsheets strip
// first) gets a leading apostrophe so it is shown as text, not evaluated.
type CSVWriter struct {
	w   *bufio.Writer
	err error
}

// NewCSVWriter writes the header and returns the writer.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	c := &CSVWriter{w: bufio.NewWriter(w)}
	c.record(CSVHeader)
	return c, c.err
}

func (c *CSVWriter) record(fields []string) {
	for i, f := range fields {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			c.w.WriteByte('"')
			c.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
			c.w.WriteByte('"')
		} else {
			c.w.WriteString(f)
		}
	}
	if _, err := c.w.WriteString("\r\n"); err != nil && c.err == nil {
		c.err = err
	}
}

// NeutraliseCell makes a cell safe to open in a spreadsheet.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// Write writes one event.
func (c *CSVWriter) Write(s *Stored) error {
	org, ip := "", ""
	if s.OrganizationID != nil {
		org = s.OrganizationID.String()
	}
	if s.IP.IsValid() {
		ip = s.IP.String()
	}
	row := []string{strconv.FormatInt(s.ID, 10), s.OccurredAt.UTC().Format(time.RFC3339Nano), org, string(s.ActorType), s.ActorID,
		string(s.ActorScope), s.Action, s.TargetType, s.TargetID, string(s.Before), string(s.After), ip, s.UserAgent,
		s.RequestID, s.Reason, string(s.Metadata), s.EventKey.String(), hexString(s.MAC)}
	for i := range row {
		row[i] = NeutraliseCell(row[i])
	}
	c.record(row)
	return c.err
}

// Flush flushes buffered rows and reports any write error.
func (c *CSVWriter) Flush() error {
	if err := c.w.Flush(); err != nil && c.err == nil {
		c.err = err
	}
	return c.err
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, x := range b {
		sb.WriteByte(digits[x>>4])
		sb.WriteByte(digits[x&15])
	}
	return sb.String()
}
