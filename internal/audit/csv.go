package audit

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the export's header row.
var CSVHeader = []string{"id", "occurred_at", "organization_id", "actor_type", "actor_id", "actor_scope", "action",
	"target_type", "target_id", "before", "after", "ip", "user_agent", "request_id", "reason", "metadata", "event_key", "mac"}

// CSVWriter writes events as RFC 4180 CSV (CRLF line ends, quoted fields)
// with spreadsheet-formula injection neutralised: a cell that starts with
// = + - @ (or a tab or carriage return, which some spreadsheets strip
// first) gets a leading apostrophe so it is shown as text, not evaluated.
type CSVWriter struct {
	w *csv.Writer
}

// NewCSVWriter writes the header and returns the writer.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return nil, err
	}
	return &CSVWriter{w: cw}, nil
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
	return c.w.Write(row)
}

// Flush flushes buffered rows and reports any write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
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
